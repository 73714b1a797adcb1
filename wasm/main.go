//go:build js && wasm

// Command wasm is mcp-oauth-wasm's browser module: it exposes the engine to
// web/mcp-oauth.js as globalThis.__mcpOAuthGo. Every function returns a
// Promise; data crosses the boundary as JSON strings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

func main() {
	api, err := safejs.ValueOf(map[string]any{})
	if err != nil {
		panic(err)
	}
	_ = api.Set("version", mcpoauth.Version)
	_ = api.Set("checkIfAuthRequired", export(checkIfAuthRequired))
	_ = api.Set("newClient", export(newClient))
	_ = api.Set("pendingFor", export(pendingFor))
	if err := safejs.Global().Set("__mcpOAuthGo", api); err != nil {
		panic(err)
	}
	select {}
}

// invalidArg is the error for a malformed argument from JS.
func invalidArg(format string, args ...any) error {
	return &mcpoauth.Error{Code: mcpoauth.CodeInvalidConfig, Message: fmt.Sprintf(format, args...)}
}

// decodeJSON decodes a JSON argument, naming the field a type error is in.
func decodeJSON(raw, what string, v any) error {
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidArg("%s: %q must not be a JSON %s", what, te.Field, te.Value)
		}
		return invalidArg("%s is not valid: %v", what, err)
	}
	return nil
}

func jsonString(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// checkIfAuthRequired(mcpUrl, headersJSON) → Promise<boolean>
func checkIfAuthRequired(args []safejs.Value) any {
	return promise(func() (any, error) {
		mcpURL, err := argString(args, 0, "mcpUrl")
		if err != nil {
			return nil, err
		}
		var headers map[string]string
		if raw, err := argString(args, 1, "headers"); err == nil && raw != "" {
			if err := decodeJSON(raw, "options.headers", &headers); err != nil {
				return nil, err
			}
		}
		h := http.Header{}
		for k, v := range headers {
			h.Set(k, v)
		}
		return mcpoauth.CheckIfAuthRequired(context.Background(), fetchRoundTrip, mcpURL, h)
	})
}

// pendingFor(host, prefix, callbackUrl) → Promise<string|null>: the JSON of
// the pending authorization the URL answers, null when it carries none.
func pendingFor(args []safejs.Value) any {
	return promise(func() (any, error) {
		prefix, _ := argString(args, 1, "storageKeyPrefix")
		url, err := argString(args, 2, "url")
		if err != nil {
			return nil, err
		}
		p, ok, err := mcpoauth.PendingFor(context.Background(), newJSStore(storageOf(arg(args, 0))), prefix, url)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
		return jsonString(p)
	})
}

func storageOf(host safejs.Value) safejs.Value {
	s, err := host.Get("storage")
	if err != nil {
		return safejs.Undefined()
	}
	return s
}

// clientOptions are the createClient options Go needs (functions and
// storage objects stay in JS, behind the host).
type clientOptions struct {
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
	// Redirect mode has no UserAgent: the facade begins, navigates, and
	// completes after the page load.
	Redirect bool `json:"redirect"`
}

// newClient(optionsJSON, host) → Promise<client object>
func newClient(args []safejs.Value) any {
	return promise(func() (any, error) {
		raw, err := argString(args, 0, "options")
		if err != nil {
			return nil, err
		}
		var o clientOptions
		if err := decodeJSON(raw, "options", &o); err != nil {
			return nil, err
		}
		host := arg(args, 1)
		if host.Type() != safejs.TypeObject {
			return nil, invalidArg("newClient needs the host object from mcp-oauth.js")
		}
		cfg := mcpoauth.Config{
			MCPURL: o.MCPURL, RedirectURI: o.RedirectURI, Scopes: o.Scopes, ClientName: o.ClientName,
			ClientMetadataURL: o.ClientMetadataURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			ClientIssuer: o.ClientIssuer, RequireIssuerParameter: o.RequireIssuerParameter,
			AdditionalClientMetadata: o.AdditionalClientMetadata, StorageKeyPrefix: o.StorageKeyPrefix,
			Store:  newJSStore(storageOf(host)),
			Fetch:  fetchRoundTrip,
			Locker: jsLocker{host},
			OnProgress: func(p mcpoauth.Progress) {
				emit(host, "progress", p)
			},
			OnTokenChange: func(t *mcpoauth.Tokens) { emit(host, "tokenchange", t) },
			OnWarning: func(e *mcpoauth.Error) {
				emit(host, "warning", map[string]string{"code": string(e.Code), "message": e.Error()})
			},
		}
		if !o.Redirect {
			cfg.UserAgent = jsUserAgent{host}
		}
		c, err := mcpoauth.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		return clientObject(c)
	})
}

// clientObject exposes one engine Client's methods to JS.
func clientObject(c *mcpoauth.Client) (safejs.Value, error) {
	obj, err := safejs.ValueOf(map[string]any{})
	if err != nil {
		return obj, err
	}
	ctx := context.Background
	methods := map[string]func(args []safejs.Value) (any, error){
		"authorize": func(args []safejs.Value) (any, error) {
			// authorize(signal, attempt): the signal cancels the whole
			// sign-in; the attempt goes back to openAuthorizationUrl.
			sctx, stop := signalContext(arg(args, 0))
			defer stop()
			t, err := c.Authorize(withAttempt(sctx, arg(args, 1)), mcpoauth.AuthorizeOptions{})
			if err != nil {
				return nil, err
			}
			return jsonString(t)
		},
		"begin": func(args []safejs.Value) (any, error) {
			returnTo, _ := argString(args, 0, "returnTo")
			req, err := c.BeginAuthorization(ctx(), mcpoauth.AuthorizeOptions{ReturnTo: returnTo})
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]string{"url": req.URL, "state": req.State})
		},
		"complete": func(args []safejs.Value) (any, error) {
			url, err := argString(args, 0, "url")
			if err != nil {
				return nil, err
			}
			t, p, err := c.CompleteAuthorization(ctx(), url)
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]any{"mcpUrl": p.MCPURL, "tokens": t, "returnTo": p.ReturnTo})
		},
		"accessToken": func(args []safejs.Value) (any, error) {
			t, err := c.AccessToken(ctx())
			if err != nil {
				return nil, err
			}
			return jsonString(t)
		},
		"handleResponse": func(args []safejs.Value) (any, error) {
			status, err := arg(args, 0).Int()
			if err != nil {
				return nil, invalidArg("status must be a number")
			}
			header, _ := argString(args, 1, "wwwAuthenticate")
			var op mcpoauth.Operation
			if raw, err := argString(args, 2, "operation"); err == nil && raw != "" {
				if err := decodeJSON(raw, "operation", &op); err != nil {
					return nil, err
				}
			}
			h := http.Header{}
			if header != "" {
				h.Set("WWW-Authenticate", header)
			}
			retry, err := c.HandleResponse(ctx(), status, h, &op)
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]any{"retry": retry, "operation": op})
		},
		"getTokens": func(args []safejs.Value) (any, error) {
			t, err := c.Tokens(ctx())
			if err != nil || t == nil {
				return nil, err
			}
			return jsonString(t)
		},
		"setTokens": func(args []safejs.Value) (any, error) {
			raw, err := argString(args, 0, "tokens")
			if err != nil {
				return nil, err
			}
			var t mcpoauth.Tokens
			if err := decodeJSON(raw, "tokens", &t); err != nil {
				return nil, err
			}
			return nil, c.SetTokens(ctx(), &t)
		},
		"getClientInfo": func(args []safejs.Value) (any, error) {
			ci, err := c.ClientInfo(ctx())
			if err != nil || ci == nil {
				return nil, err
			}
			return jsonString(ci)
		},
		"setClientInfo": func(args []safejs.Value) (any, error) {
			raw, err := argString(args, 0, "clientInfo")
			if err != nil {
				return nil, err
			}
			var ci mcpoauth.ClientInfo
			if err := decodeJSON(raw, "clientInfo", &ci); err != nil {
				return nil, err
			}
			return nil, c.SetClientInfo(ctx(), &ci)
		},
		"clear":   func(args []safejs.Value) (any, error) { return nil, c.Clear(ctx()) },
		"prepare": func(args []safejs.Value) (any, error) { return nil, c.Prepare(ctx()) },
	}
	for name, m := range methods {
		m := m
		if err := obj.Set(name, export(func(args []safejs.Value) any {
			return promise(func() (any, error) { return m(args) })
		})); err != nil {
			return obj, err
		}
	}
	_ = obj.Set("mcpUrl", c.MCPURL())
	return obj, nil
}
