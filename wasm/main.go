//go:build js && wasm

// Command wasm is mcp-oauth-wasm's browser module: it exposes the engine to
// web/mcp-oauth.js as globalThis.__mcpOAuthGo. Every function returns a
// Promise; data crosses the boundary as JSON strings.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

func main() {
	api, err := safejs.ValueOf(map[string]any{})
	if err != nil {
		panic(err)
	}
	_ = api.Set("version", mcpoauth.Version)
	_ = api.Set("contract", export(contractJSON))
	_ = api.Set("tokensFresh", export(tokensFresh))
	_ = api.Set("readRefreshAnswer", export(readRefreshAnswer))
	_ = api.Set("checkIfAuthRequired", export(checkIfAuthRequired))
	_ = api.Set("newClient", export(newClient))
	_ = api.Set("pendingFor", export(pendingFor))
	_ = api.Set("diagnose", export(diagnose))
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
		ctx, stop := signalContext(arg(args, 2))
		defer stop()
		return mcpoauth.CheckIfAuthRequired(ctx, fetchRoundTrip, mcpURL, h)
	})
}

// contract() → the Contract as JSON, for e2e's TestBrowserContract (the
// browser layer reads its own copy, web/contract.js).
func contractJSON([]safejs.Value) any {
	b, err := json.Marshal(mcpoauth.BrowserContract())
	if err != nil {
		return errorObject(err)
	}
	return string(b)
}

// tokensFresh(tokensJSON, nowSeconds) → boolean: Tokens.FreshAt with the
// default skew, for e2e's TestBrowserContract (the JS fast path applies
// the same rule).
func tokensFresh(args []safejs.Value) any {
	raw, err := argString(args, 0, "tokens")
	if err != nil {
		return errorObject(err)
	}
	var t mcpoauth.Tokens
	if err := decodeJSON(raw, "tokens", &t); err != nil {
		return errorObject(err)
	}
	now, err := arg(args, 1).Float()
	if err != nil {
		return errorObject(invalidArg("now must be a number"))
	}
	skew := time.Duration(mcpoauth.BrowserContract().RefreshSkewSeconds) * time.Second
	return t.FreshAt(time.Unix(int64(now), 0), skew)
}

// diagnose(optionsJSON, signal) → Promise<reportJSON>: mcpoauth.Diagnose
// with the page's fetch (what a browser client sees, CORS included).
func diagnose(args []safejs.Value) any {
	return promise(func() (any, error) {
		cfg, err := configArg(args, 0)
		if err != nil {
			return nil, err
		}
		ctx, stop := signalContext(arg(args, 1))
		defer stop()
		r, err := mcpoauth.Diagnose(ctx, cfg, mcpoauth.DiagnoseOptions{Browser: true})
		if err != nil {
			return nil, err
		}
		return jsonString(r)
	})
}

// readRefreshAnswer(planJSON, prevJSON, status, contentType, bodyBase64,
// nowSeconds) → Promise<tokensJSON>: mcpoauth.ReadRefreshAnswer, for e2e's
// TestBrowserRefreshWithoutEngine (web/refresh.js reads answers the same
// way, or leaves them to the engine).
func readRefreshAnswer(args []safejs.Value) any {
	return promise(func() (any, error) {
		var plan mcpoauth.RefreshPlan
		var prev mcpoauth.Tokens
		for i, v := range []any{&plan, &prev} {
			raw, err := argString(args, i, "record")
			if err != nil {
				return nil, err
			}
			if err := decodeJSON(raw, "record", v); err != nil {
				return nil, err
			}
		}
		status, err := arg(args, 2).Int()
		if err != nil {
			return nil, invalidArg("status must be a number")
		}
		contentType, _ := argString(args, 3, "contentType")
		raw, _ := argString(args, 4, "body")
		body, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, invalidArg("body must be base64: %v", err)
		}
		now, err := arg(args, 5).Float()
		if err != nil {
			return nil, invalidArg("now must be a number")
		}
		t, err := mcpoauth.ReadRefreshAnswer(&plan, &prev, status, contentType, body, time.Unix(int64(now), 0))
		if err != nil {
			return nil, err
		}
		return jsonString(t)
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
		ctx, stop := signalContext(arg(args, 3))
		defer stop()
		p, ok, err := mcpoauth.PendingFor(ctx, newJSStore(storageOf(arg(args, 0))), prefix, url)
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

// configArg decodes args[i], the options as JSON (mcpoauth.Options,
// strictly), into a Config that fetches with the page's fetch.
func configArg(args []safejs.Value, i int) (mcpoauth.Config, error) {
	raw, err := argString(args, i, "options")
	if err != nil {
		return mcpoauth.Config{}, err
	}
	o, err := mcpoauth.DecodeOptions([]byte(raw))
	if err != nil {
		return mcpoauth.Config{}, err
	}
	cfg := o.Config()
	cfg.Fetch = fetchRoundTrip
	return cfg, nil
}

// newClient(optionsJSON, host, redirect) → Promise<client object>. The
// options are mcpoauth.Options, decoded strictly; redirect mode has no
// UserAgent (the facade begins, navigates, and completes after the load).
func newClient(args []safejs.Value) any {
	return promise(func() (any, error) {
		cfg, err := configArg(args, 0)
		if err != nil {
			return nil, err
		}
		host := arg(args, 1)
		if host.Type() != safejs.TypeObject {
			return nil, invalidArg("newClient needs the host object from mcp-oauth.js")
		}
		redirect, _ := arg(args, 2).Bool()
		cfg.Store = newJSStore(storageOf(host))
		cfg.RefreshPlans = true // web/refresh.js refreshes without the engine
		cfg.WarmUp = true       // compile the sign-in's code before the click
		cfg.Locker = jsLocker{host}
		if hasFunc(host, "dpopSign") {
			cfg.DPoPKey = jsDPoPSigner{host}
		}
		cfg.OnProgress = func(p mcpoauth.Progress) { emit(host, "progress", p) }
		cfg.OnTrace = func(t mcpoauth.Trace) { emit(host, "trace", t) }
		cfg.OnTokenChange = func(t *mcpoauth.Tokens) { emit(host, "tokenchange", t) }
		cfg.OnWarning = func(e *mcpoauth.Error) {
			emit(host, "warning", map[string]string{"code": string(e.Code), "message": e.Error()})
		}
		if !redirect {
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
	// Every method takes an AbortSignal (or undefined) as its first
	// argument: the context of all the work it starts, lock waits included.
	methods := map[string]func(ctx context.Context, args []safejs.Value) (any, error){
		"authorize": func(ctx context.Context, args []safejs.Value) (any, error) {
			// authorize(signal, attempt): the attempt goes back to
			// openAuthorizationUrl.
			t, err := c.Authorize(withAttempt(ctx, arg(args, 0)), mcpoauth.AuthorizeOptions{})
			if err != nil {
				return nil, err
			}
			return jsonString(t)
		},
		"begin": func(ctx context.Context, args []safejs.Value) (any, error) {
			returnTo, _ := argString(args, 0, "returnTo")
			req, err := c.BeginAuthorization(ctx, mcpoauth.AuthorizeOptions{ReturnTo: returnTo})
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]string{"url": req.URL, "state": req.State})
		},
		"complete": func(ctx context.Context, args []safejs.Value) (any, error) {
			url, err := argString(args, 0, "url")
			if err != nil {
				return nil, err
			}
			t, p, err := c.CompleteAuthorization(ctx, url)
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]any{"mcpUrl": p.MCPURL, "tokens": t, "returnTo": p.ReturnTo})
		},
		"accessToken": func(ctx context.Context, args []safejs.Value) (any, error) {
			t, err := c.AccessToken(ctx)
			if err != nil {
				return nil, err
			}
			return jsonString(t)
		},
		// handleResponse(signal, status, wwwAuthenticate, operation, sentToken,
		// attempt): operation is what the previous call returned (opaque to
		// JS), or empty for a request's first answer; attempt carries the
		// window of a sign-in it starts to openAuthorizationUrl (a second
		// round reuses it).
		"handleResponse": func(ctx context.Context, args []safejs.Value) (any, error) {
			// … dpop (the request carried a DPoP proof), dpopNonce (its
			// answer's DPoP-Nonce header).
			ctx = withAttempt(ctx, arg(args, 4))
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
			op.SentToken, _ = argString(args, 3, "sentToken")
			op.DPoP, _ = arg(args, 5).Bool()
			h := http.Header{}
			if header != "" {
				h.Set("WWW-Authenticate", header)
			}
			if nonce, _ := argString(args, 6, "dpopNonce"); nonce != "" {
				h.Set("DPoP-Nonce", nonce)
			}
			retry, err := c.HandleResponse(ctx, status, h, &op)
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]any{"retry": retry, "operation": op})
		},
		// refreshAnswer(signal, status, contentType, bodyBase64): the answer
		// to a refresh web/refresh.js sent from the RefreshPlan and does not
		// judge itself; it still holds the plan's lock.
		"refreshAnswer": func(ctx context.Context, args []safejs.Value) (any, error) {
			status, err := arg(args, 0).Int()
			if err != nil {
				return nil, invalidArg("status must be a number")
			}
			h := http.Header{}
			if ct, _ := argString(args, 1, "contentType"); ct != "" {
				h.Set("Content-Type", ct)
			}
			raw, err := argString(args, 2, "body")
			if err != nil {
				return nil, err
			}
			body, err := base64.StdEncoding.DecodeString(raw)
			if err != nil {
				return nil, invalidArg("body must be base64: %v", err)
			}
			t, err := c.HandleRefreshAnswer(ctx, status, h, body)
			if err != nil {
				return nil, err
			}
			return jsonString(t)
		},
		// dpopHeaders(signal, method, url, accessToken) → {authorization, dpop}:
		// what a request with a DPoP-bound token carries.
		"dpopHeaders": func(ctx context.Context, args []safejs.Value) (any, error) {
			method, _ := argString(args, 0, "method")
			url, err := argString(args, 1, "url")
			if err != nil {
				return nil, err
			}
			token, _ := argString(args, 2, "accessToken")
			h, err := c.DPoPHeaders(ctx, method, url, token)
			if err != nil {
				return nil, err
			}
			return jsonString(map[string]string{"authorization": h.Get("Authorization"), "dpop": h.Get("DPoP")})
		},
		"getTokens": func(ctx context.Context, args []safejs.Value) (any, error) {
			t, err := c.Tokens(ctx)
			if err != nil || t == nil {
				return nil, err
			}
			return jsonString(t)
		},
		"setTokens": func(ctx context.Context, args []safejs.Value) (any, error) {
			raw, err := argString(args, 0, "tokens")
			if err != nil {
				return nil, err
			}
			var t mcpoauth.Tokens
			if err := decodeJSON(raw, "tokens", &t); err != nil {
				return nil, err
			}
			return nil, c.SetTokens(ctx, &t)
		},
		"getClientInfo": func(ctx context.Context, args []safejs.Value) (any, error) {
			ci, err := c.ClientInfo(ctx)
			if err != nil || ci == nil {
				return nil, err
			}
			return jsonString(ci)
		},
		"setClientInfo": func(ctx context.Context, args []safejs.Value) (any, error) {
			raw, err := argString(args, 0, "clientInfo")
			if err != nil {
				return nil, err
			}
			var ci mcpoauth.ClientInfo
			if err := decodeJSON(raw, "clientInfo", &ci); err != nil {
				return nil, err
			}
			return nil, c.SetClientInfo(ctx, &ci)
		},
		"clear": func(ctx context.Context, args []safejs.Value) (any, error) { return nil, c.Clear(ctx) },
		"signOut": func(ctx context.Context, args []safejs.Value) (any, error) {
			r, err := c.SignOut(ctx)
			if err != nil {
				return nil, err
			}
			return jsonString(r)
		},
		"prepare": func(ctx context.Context, args []safejs.Value) (any, error) { return nil, c.Prepare(ctx) },
	}
	for name, m := range methods {
		if err := obj.Set(name, export(func(args []safejs.Value) any {
			return promise(func() (any, error) {
				ctx, stop := signalContext(arg(args, 0))
				defer stop()
				if len(args) > 0 {
					args = args[1:]
				}
				return m(ctx, args)
			})
		})); err != nil {
			return obj, err
		}
	}
	_ = obj.Set("mcpUrl", c.MCPURL())
	return obj, nil
}
