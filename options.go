package mcpoauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Options are the createClient options that reach the engine, as the
// browser layer sends them (JSON): the one definition of their names and
// types. web/contract.js lists them for the JavaScript checks, so that an
// option the engine does not know is refused at createClient, not dropped.
// Functions and objects (mode, storage, popup) stay in JavaScript.
type Options struct {
	MCPURL                   string         `json:"mcpUrl"`
	RedirectURI              string         `json:"redirectUri"`
	Scopes                   []string       `json:"scopes"`
	ClientName               string         `json:"clientName"`
	ClientMetadataURL        string         `json:"clientMetadataUrl"`
	ClientID                 string         `json:"clientId"`
	ClientSecret             string         `json:"clientSecret"`
	ClientIssuer             string         `json:"clientIssuer"`
	RequireIssuerParameter   bool           `json:"requireIssuerParameter"`
	AdditionalClientMetadata map[string]any `json:"additionalClientMetadata"`
	StorageKeyPrefix         string         `json:"storageKeyPrefix"`
	DPoP                     string         `json:"dpop"`
}

// DecodeOptions decodes options strictly: an unknown option, a mistyped
// one or trailing data is an invalid_config error that names it.
func DecodeOptions(raw []byte) (Options, error) {
	var o Options
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return o, newError(CodeInvalidConfig, "the options must be an object, not a JSON %s", te.Value)
		case errors.As(err, &te):
			return o, newError(CodeInvalidConfig, "option %s must be %s, not a JSON %s", te.Field, jsType(te.Type.String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return o, newError(CodeInvalidConfig, "unknown option %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return o, wrapError(CodeInvalidConfig, err, "the options are not valid JSON: %v", err)
	}
	if dec.More() {
		return o, newError(CodeInvalidConfig, "the options have trailing data")
	}
	return o, nil
}

// Config returns a Config carrying the options; the caller adds what
// cannot travel as JSON (Store, Fetch, UserAgent, Locker, callbacks).
func (o Options) Config() Config {
	return Config{
		MCPURL: o.MCPURL, RedirectURI: o.RedirectURI, Scopes: o.Scopes, ClientName: o.ClientName,
		ClientMetadataURL: o.ClientMetadataURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		ClientIssuer: o.ClientIssuer, RequireIssuerParameter: o.RequireIssuerParameter,
		AdditionalClientMetadata: o.AdditionalClientMetadata, StorageKeyPrefix: o.StorageKeyPrefix,
		DPoP: o.DPoP,
	}
}

// jsType names a Go option type as JavaScript callers know it.
func jsType(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "[]string":
		return "an array of strings"
	}
	return "an object"
}
