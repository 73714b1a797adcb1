//go:build js && wasm

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// The engine's interfaces, implemented over the "host" object that
// mcp-oauth.js passes to newClient: storage (getItem/setItem/removeItem,
// maybe keys; any may return a Promise), openAuthorizationUrl (popup,
// redirect or the app's function), withLock (Web Locks) and emit (events).

type jsStore struct{ obj safejs.Value }

func (s jsStore) call(ctx context.Context, method string, args ...any) (safejs.Value, error) {
	v, err := s.obj.Call(method, args...)
	if err != nil {
		return safejs.Undefined(), &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "storage." + method + " threw: " + err.Error(), Err: err}
	}
	return await(ctx, v, mcpoauth.CodeStorageError)
}

func (s jsStore) GetItem(ctx context.Context, key string) (string, bool, error) {
	v, err := s.call(ctx, "getItem", key)
	if err != nil {
		return "", false, err
	}
	if v.IsNull() || v.IsUndefined() {
		return "", false, nil
	}
	if v.Type() != safejs.TypeString {
		return "", false, &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "storage.getItem(" + key + ") returned a " + v.Type().String() + ", not a string or null"}
	}
	str, err := v.String()
	return str, err == nil, err
}

func (s jsStore) SetItem(ctx context.Context, key, value string) error {
	_, err := s.call(ctx, "setItem", key, value)
	return err
}

func (s jsStore) RemoveItem(ctx context.Context, key string) error {
	_, err := s.call(ctx, "removeItem", key)
	return err
}

// jsListingStore is a jsStore whose backend can list its keys.
type jsListingStore struct{ jsStore }

func (s jsListingStore) Keys(ctx context.Context) ([]string, error) {
	v, err := s.call(ctx, "keys")
	if err != nil {
		return nil, err
	}
	n, err := v.Length()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, n)
	for i := 0; i < n; i++ {
		k, _ := v.Index(i)
		if str, err := k.String(); err == nil {
			keys = append(keys, str)
		}
	}
	return keys, nil
}

func newJSStore(obj safejs.Value) mcpoauth.Store {
	if f, err := obj.Get("keys"); err == nil && f.Type() == safejs.TypeFunction {
		return jsListingStore{jsStore{obj}}
	}
	return jsStore{obj}
}

// jsUserAgent asks the host to show the authorization page.
type jsUserAgent struct{ host safejs.Value }

func (u jsUserAgent) OpenAuthorizationURL(ctx context.Context, req *mcpoauth.AuthorizationRequest) (string, error) {
	v, err := u.host.Call("openAuthorizationUrl", req.URL, req.State, req.RedirectURI, attemptFrom(ctx))
	if err != nil {
		return "", &mcpoauth.Error{Code: mcpoauth.CodeAuthorizationError, Message: "opening the authorization page failed: " + err.Error()}
	}
	res, err := await(ctx, v, mcpoauth.CodeAuthorizationError)
	if err != nil {
		return "", err
	}
	s, err := res.String()
	if err != nil {
		return "", &mcpoauth.Error{Code: mcpoauth.CodeAuthorizationError, Message: "the authorization page handler resolved with " + res.Type().String() + ", not the callback URL string"}
	}
	return s, nil
}

// jsLocker takes a Web Lock through the host's withLock(name, fn), where fn
// returns a Promise that settles when the Go function is done.
type jsLocker struct{ host safejs.Value }

func (l jsLocker) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	done := make(chan error, 1)
	cb, err := safejs.FuncOf(func(_ safejs.Value, _ []safejs.Value) any {
		return promise(func() (any, error) {
			err := fn(ctx)
			done <- err
			return nil, nil
		})
	})
	if err != nil {
		return err
	}
	defer cb.Release()
	// The wait for the lock ends with ctx (the caller's AbortSignal); the
	// host bounds it too (timeout).
	controller, err := global("AbortController").New()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _, _ = controller.Call("abort") })
	defer stop()
	signal, err := controller.Get("signal")
	if err != nil {
		return err
	}
	v, err := l.host.Call("withLock", name, cb.Value(), signal)
	if err != nil {
		return &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "taking the lock " + name + " failed: " + err.Error()}
	}
	if _, err := await(ctx, v, mcpoauth.CodeStorageError); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	default:
		return &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "the lock " + name + " was released before its work ran"}
	}
}

// emit sends an event to the host: emit(type, detailJSON).
func emit(host safejs.Value, typ string, detail any) {
	b, err := json.Marshal(detail)
	if err != nil {
		return
	}
	_, _ = host.Call("emit", typ, string(b))
}

// jsDPoPSigner signs DPoP proofs with the page's key: a non-extractable
// WebCrypto ECDSA P-256 key in IndexedDB (web/dpop.js), reached through the
// host's dpopPublicKey() → JWK JSON, dpopSign(inputBase64url) → signature
// base64url (r‖s) and dpopNewKey().
type jsDPoPSigner struct{ host safejs.Value }

func (s jsDPoPSigner) call(ctx context.Context, method string, args ...any) (string, error) {
	v, err := s.host.Call(method, args...)
	if err != nil {
		return "", &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "the DPoP key: " + method + " threw: " + err.Error()}
	}
	r, err := await(ctx, v, mcpoauth.CodeStorageError)
	if err != nil {
		return "", err
	}
	if r.Type() != safejs.TypeString {
		return "", nil
	}
	return r.String()
}

func (s jsDPoPSigner) PublicJWK(ctx context.Context) (map[string]string, error) {
	raw, err := s.call(ctx, "dpopPublicKey")
	if err != nil {
		return nil, err
	}
	var jwk map[string]string
	if err := json.Unmarshal([]byte(raw), &jwk); err != nil {
		return nil, &mcpoauth.Error{Code: mcpoauth.CodeStorageError, Message: "the DPoP public key is not a JWK: " + err.Error()}
	}
	return jwk, nil
}

func (s jsDPoPSigner) Sign(ctx context.Context, input []byte) ([]byte, error) {
	sig, err := s.call(ctx, "dpopSign", base64.RawURLEncoding.EncodeToString(input))
	if err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(sig)
}

func (s jsDPoPSigner) NewKey(ctx context.Context) error {
	_, err := s.call(ctx, "dpopNewKey")
	return err
}

// hasFunc reports whether obj has a function property name.
func hasFunc(obj safejs.Value, name string) bool {
	f, err := obj.Get(name)
	return err == nil && f.Type() == safejs.TypeFunction
}
