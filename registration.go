package mcpoauth

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// RFC 7591 Dynamic Client Registration, the messages: the request's client
// metadata and the validation of the answer; and how a client
// authenticates at the token endpoint.

const (
	sourceStatic     = "static"
	sourceCIMD       = "metadata_document"
	sourceRegistered = "registered"

	authNone   = "none"
	authPost   = "client_secret_post"
	authBasic  = "client_secret_basic"
	appWeb     = "web"
	appNative  = "native"
	defaultApp = "mcp-oauth-wasm"
)

// applicationType follows MCP 2026-07-28 (SEP-837): "native" for apps
// served from a loopback host (their redirect URI is loopback), else "web".
func applicationType(redirectURI string) string {
	if u, err := url.Parse(redirectURI); err == nil && isLoopbackHost(u.Hostname()) {
		return appNative
	}
	return appWeb
}

// registrationRequest builds the RFC 7591 §2 client metadata. Values in
// AdditionalClientMetadata win over the defaults.
func registrationRequest(cfg *Config, scope string) map[string]any {
	name := cfg.ClientName
	if name == "" {
		name = defaultApp
	}
	body := map[string]any{
		"client_name":                name,
		"redirect_uris":              []string{cfg.RedirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": authNone,
		"application_type":           applicationType(cfg.RedirectURI),
	}
	if scope != "" {
		body["scope"] = scope
	}
	for k, v := range cfg.AdditionalClientMetadata {
		body[k] = v
	}
	return body
}

// registrationResponse is the RFC 7591 §3.2.1 answer.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientSecretExpiresAt   int64    `json:"client_secret_expires_at"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	RedirectURIs            []string `json:"redirect_uris"`
	Scope                   string   `json:"scope"`
}

// tokenEndpointAuthMethod picks how the client authenticates at the token
// endpoint: what its registration says, else for a client with a secret
// what the server advertises, preferring client_secret_basic, the RFC 8414
// default when the server advertises nothing.
func tokenEndpointAuthMethod(ci *ClientInfo, as *AuthServerMetadata) string {
	switch ci.TokenEndpointAuthMethod {
	case authNone, authPost, authBasic:
		if ci.ClientSecret != "" || ci.TokenEndpointAuthMethod == authNone {
			return ci.TokenEndpointAuthMethod
		}
	}
	if ci.ClientSecret == "" {
		return authNone
	}
	supported := as.TokenEndpointAuthMethodsSupported
	switch {
	case len(supported) == 0, slices.Contains(supported, authBasic):
		return authBasic
	case slices.Contains(supported, authPost):
		return authPost
	}
	return authBasic
}

// validateRegistrationResponse checks the answer to req at endpoint (RFC
// 7591 §3.2): a 201 (or 200) with a client_id, else registration_failed
// carrying what the server said. What the answer leaves out is what was
// asked for (§3.2.1: the server may omit what it accepted as sent).
func validateRegistrationResponse(r *response, endpoint string, req map[string]any, issuer string) (*ClientInfo, error) {
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		oe := r.oauthError()
		return nil, &Error{Code: CodeRegistrationFailed, Status: r.status, OAuthError: oe.Error, OAuthErrorDescription: oe.ErrorDescription,
			Message: fmt.Sprintf("client registration at %s was refused (HTTP %d)", endpoint, r.status)}
	}
	var rr registrationResponse
	if err := r.decodeJSONObject(&rr); err != nil {
		return nil, wrapError(CodeRegistrationFailed, err, "client registration answer is unusable: %v", err)
	}
	if rr.ClientID == "" {
		return nil, newError(CodeRegistrationFailed, "client registration at %s returned no client_id", endpoint)
	}
	method := rr.TokenEndpointAuthMethod
	if method == "" {
		method, _ = req["token_endpoint_auth_method"].(string)
	}
	registeredScope := rr.Scope
	if registeredScope == "" {
		registeredScope, _ = req["scope"].(string)
	}
	redirects := rr.RedirectURIs
	if len(redirects) == 0 {
		redirects, _ = req["redirect_uris"].([]string)
	}
	return &ClientInfo{
		ClientID: rr.ClientID, ClientSecret: rr.ClientSecret, ClientSecretExpiresAt: rr.ClientSecretExpiresAt,
		TokenEndpointAuthMethod: method, RedirectURIs: redirects, Scope: registeredScope, Issuer: issuer, Source: sourceRegistered,
	}, nil
}
