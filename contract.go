package mcpoauth

import (
	"reflect"
	"strings"
	"time"
)

//go:generate go run ./internal/contractgen

// Contract is every value the browser layer (web/) shares with the engine:
// the version, the error codes, how storage keys are built, the fields of
// the records the JavaScript fast path reads without the wasm, the
// freshness rule's skew, how long a started sign-in lives, and the names
// and types of the createClient options the engine takes. It is defined
// once, here:
//
//   - `./build.sh generate` (go generate) writes it into web/contract.js,
//     which mcp-oauth.js imports, and the error codes into mcp-oauth.d.ts;
//     internal/contractgen's test fails when either file is stale or was
//     edited by hand;
//   - the wasm exports it as contract, and e2e's TestBrowserContract fails
//     when the running wasm and web/contract.js disagree, or when the JS
//     reading of a record, a key or the freshness rule drifts from the
//     engine's.
type Contract struct {
	Version    string `json:"version"`
	ErrorCodes []Code `json:"errorCodes"`
	// Storage keys are Prefix:KeyVersion:kind:id (records.key).
	DefaultStorageKeyPrefix string            `json:"defaultStorageKeyPrefix"`
	StorageKeyVersion       string            `json:"storageKeyVersion"`
	StorageKinds            map[string]string `json:"storageKinds"`
	// TokenFields names the JSON fields of a stored Tokens record.
	TokenFields map[string]string `json:"tokenFields"`
	// TraceHeaders are the response headers a trace event may carry, and
	// TraceSteps names its steps (trace.go); web/refresh.js traces its own
	// refresh with them.
	TraceHeaders []string             `json:"traceHeaders"`
	TraceSteps   map[string]TraceStep `json:"traceSteps"`
	// RefreshPlanFields names the JSON fields of a stored RefreshPlan, and
	// MaxTokenLifetimeSeconds is the longest expires_in kept as sent
	// (web/refresh.js leaves longer ones to the engine).
	RefreshPlanFields       map[string]string `json:"refreshPlanFields"`
	MaxTokenLifetimeSeconds int64             `json:"maxTokenLifetimeSeconds"`
	// ResourceIssuerPath is where a stored discovery record holds the
	// issuer of the authorization server discovery last named.
	ResourceIssuerPath []string `json:"resourceIssuerPath"`
	// RefreshSkewSeconds is the default Config.RefreshSkew (Tokens.FreshAt).
	RefreshSkewSeconds int64 `json:"refreshSkewSeconds"`
	// PendingLifetimeSeconds is how long a started sign-in waits for its
	// response.
	PendingLifetimeSeconds int64 `json:"pendingLifetimeSeconds"`
	// Options maps each Options JSON name to its type: "string",
	// "boolean", "string[]" or "object".
	Options map[string]string `json:"options"`
	// MCPURLChars are the characters an MCP URL may contain as written,
	// and LoopbackHosts the hosts where it may use plain http (IPv6
	// without brackets): the parts of the canonical-URL grammar
	// (canonicalurl.go) that the browser layer checks too.
	MCPURLChars   string   `json:"mcpUrlChars"`
	LoopbackHosts []string `json:"loopbackHosts"`
}

// Storage record kinds (the third part of a key).
const (
	kindTokens       = "tokens"
	kindClient       = "client"
	kindPending      = "pending"
	kindResource     = "resource"
	kindIssuer       = "issuer"
	kindStaticClient = "static-client"
	kindRefreshPlan  = "refresh-plan"

	storageKeyVersion       = "v1"
	defaultStorageKeyPrefix = "mcp-oauth"
	defaultRefreshSkew      = 30 * time.Second
)

// BrowserContract returns the Contract.
func BrowserContract() Contract {
	return Contract{
		Version:                 Version,
		ErrorCodes:              append([]Code(nil), allCodes...),
		DefaultStorageKeyPrefix: defaultStorageKeyPrefix,
		StorageKeyVersion:       storageKeyVersion,
		StorageKinds: map[string]string{
			"tokens": kindTokens, "client": kindClient, "pending": kindPending,
			"resource": kindResource, "issuer": kindIssuer, "staticClient": kindStaticClient,
			"refreshPlan": kindRefreshPlan,
		},
		TokenFields: map[string]string{
			"accessToken":  jsonName(Tokens{}, "AccessToken"),
			"tokenType":    jsonName(Tokens{}, "TokenType"),
			"refreshToken": jsonName(Tokens{}, "RefreshToken"),
			"expiresAt":    jsonName(Tokens{}, "ExpiresAt"),
			"issuedAt":     jsonName(Tokens{}, "IssuedAt"),
			"issuer":       jsonName(Tokens{}, "Issuer"),
			// and what a refresh without the engine writes (refreshplan.go)
			"scope":          jsonName(Tokens{}, "Scope"),
			"resource":       jsonName(Tokens{}, "Resource"),
			"clientId":       jsonName(Tokens{}, "ClientID"),
			"requestedScope": jsonName(Tokens{}, "RequestedScope"),
		},
		RefreshPlanFields: map[string]string{
			"issuer": jsonName(RefreshPlan{}, "Issuer"), "clientId": jsonName(RefreshPlan{}, "ClientID"),
			"resource": jsonName(RefreshPlan{}, "Resource"), "url": jsonName(RefreshPlan{}, "URL"),
			"header": jsonName(RefreshPlan{}, "Header"), "form": jsonName(RefreshPlan{}, "Form"),
			"lock": jsonName(RefreshPlan{}, "Lock"), "validUntil": jsonName(RefreshPlan{}, "ValidUntil"),
			"progress": jsonName(RefreshPlan{}, "Progress"),
		},
		MaxTokenLifetimeSeconds: maxTokenLifetime,
		TraceHeaders:            append([]string(nil), TraceHeaders...),
		TraceSteps: map[string]TraceStep{
			"challenge": TraceChallenge, "resourceMetadata": TraceResourceMeta, "authorizationServerMetadata": TraceAuthServerMeta,
			"registration": TraceRegistration, "clientCheck": TraceClientCheck, "token": TraceToken, "refresh": TraceRefresh,
			"revocation": TraceRevocation,
		},
		ResourceIssuerPath:     []string{jsonName(serverInfo{}, "AuthServer"), jsonName(AuthServerMetadata{}, "Issuer")},
		RefreshSkewSeconds:     int64(defaultRefreshSkew / time.Second),
		PendingLifetimeSeconds: int64(pendingLifetime / time.Second),
		Options:                optionTypes(),
		MCPURLChars:            mcpURLChars,
		LoopbackHosts:          append([]string(nil), loopbackHosts...),
	}
}

// jsonName is the JSON name of v's field.
func jsonName(v any, field string) string {
	f, ok := reflect.TypeOf(v).FieldByName(field)
	if !ok {
		panic("contract: no field " + field)
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// optionTypes describes Options for JavaScript.
func optionTypes() map[string]string {
	out := map[string]string{}
	t := reflect.TypeOf(Options{})
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(Options{}, f.Name)
		switch f.Type.Kind() {
		case reflect.String:
			out[name] = "string"
		case reflect.Bool:
			out[name] = "boolean"
		case reflect.Slice:
			out[name] = "string[]"
		case reflect.Map:
			out[name] = "object"
		default:
			panic("contract: option " + name + " has a type JavaScript cannot check")
		}
	}
	return out
}
