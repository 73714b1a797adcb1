//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// These run in headless Chromium (wasmbrowsertest): the bindings against a
// real JS engine, localStorage, fetch and Web Locks.

// js evaluates a JS function body with the given parameter names.
func js(t *testing.T, params, body string) safejs.Value {
	t.Helper()
	fn, err := global("Function").New(params, body)
	if err != nil {
		t.Fatalf("Function(%q): %v", body, err)
	}
	return fn
}

func call(t *testing.T, fn safejs.Value, args ...any) safejs.Value {
	t.Helper()
	v, err := fn.Invoke(args...)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return v
}

func settle(t *testing.T, p any) (safejs.Value, error) {
	t.Helper()
	v, ok := p.(safejs.Value)
	if !ok {
		t.Fatalf("expected a Promise, got %T", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return await(ctx, v, "")
}

func wantCode(t *testing.T, err error, code mcpoauth.Code) {
	t.Helper()
	if got := mcpoauth.CodeOf(err); got != code {
		t.Fatalf("code = %q, want %q (err: %v)", got, code, err)
	}
}

func vals(args ...any) []safejs.Value {
	out := make([]safejs.Value, len(args))
	for i, a := range args {
		if v, ok := a.(safejs.Value); ok {
			out[i] = v
			continue
		}
		v, err := safejs.ValueOf(a)
		if err != nil {
			panic(err)
		}
		out[i] = v
	}
	return out
}

// host builds a host object over a storage object, with Web Locks and an
// event log.
func host(t *testing.T, storage safejs.Value) (safejs.Value, *[]string) {
	t.Helper()
	events := &[]string{}
	h, _ := safejs.ValueOf(map[string]any{})
	_ = h.Set("storage", storage)
	_ = h.Set("withLock", js(t, "name, fn", "return navigator.locks.request(name, () => fn())"))
	_ = h.Set("openAuthorizationUrl", js(t, "url", "return Promise.reject({code: 'popup_closed', message: 'closed in test'})"))
	emit, _ := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		typ, _ := arg(args, 0).String()
		*events = append(*events, typ)
		return nil
	})
	_ = h.Set("emit", emit.Value())
	return h, events
}

func localStorageObject(t *testing.T) safejs.Value {
	ls := global("localStorage")
	_, _ = ls.Call("clear")
	return ls
}

const validOptions = `{"mcpUrl":"https://mcp.example.com/mcp","redirectUri":"https://app.example/callback.html"}`

func TestExportsRejectBadInputWithoutPanicking(t *testing.T) {
	h, _ := host(t, localStorageObject(t))
	cases := []struct {
		name string
		call func() any
		code mcpoauth.Code
	}{
		{"checkIfAuthRequired()", func() any { return checkIfAuthRequired(nil) }, mcpoauth.CodeInvalidConfig},
		{"checkIfAuthRequired(42)", func() any { return checkIfAuthRequired(vals(42)) }, mcpoauth.CodeInvalidConfig},
		{"checkIfAuthRequired(javascript:)", func() any { return checkIfAuthRequired(vals("javascript:alert(1)", "{}")) }, mcpoauth.CodeInsecureURL},
		{"checkIfAuthRequired(bad headers)", func() any { return checkIfAuthRequired(vals("https://m/mcp", "[1")) }, mcpoauth.CodeInvalidConfig},
		{"newClient()", func() any { return newClient(nil) }, mcpoauth.CodeInvalidConfig},
		{"newClient(undefined)", func() any { return newClient(vals(safejs.Undefined())) }, mcpoauth.CodeInvalidConfig},
		{"newClient(mcpUrl: 5)", func() any { return newClient(vals(`{"mcpUrl":5}`, h)) }, mcpoauth.CodeInvalidConfig},
		{"newClient(not JSON)", func() any { return newClient(vals(`{`, h)) }, mcpoauth.CodeInvalidConfig},
		{"newClient(no host)", func() any { return newClient(vals(validOptions)) }, mcpoauth.CodeInvalidConfig},
		{"newClient(http mcpUrl)", func() any {
			return newClient(vals(`{"mcpUrl":"http://mcp.example.com/","redirectUri":"https://a/cb"}`, h))
		}, mcpoauth.CodeInsecureURL},
		{"pendingFor(42)", func() any { return pendingFor(vals(h, "p", 42)) }, mcpoauth.CodeInvalidConfig},
	}
	for _, tc := range cases {
		_, err := settle(t, tc.call())
		if mcpoauth.CodeOf(err) != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, mcpoauth.CodeOf(err), tc.code, err)
		}
	}
	// The option named in the error.
	_, err := settle(t, newClient(vals(`{"mcpUrl":5}`, h)))
	if !strings.Contains(err.Error(), "mcpUrl") {
		t.Fatalf("error does not name the option: %v", err)
	}
}

func newTestClient(t *testing.T, h safejs.Value) safejs.Value {
	t.Helper()
	c, err := settle(t, newClient(vals(validOptions, h)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func method(t *testing.T, c safejs.Value, name string, args ...any) (safejs.Value, error) {
	t.Helper()
	p, err := c.Call(name, append([]any{safejs.Undefined()}, args...)...) // no AbortSignal
	if err != nil {
		t.Fatalf("%s threw to JS: %v", name, err)
	}
	return settle(t, p)
}

func TestClientMethodsRejectBadInput(t *testing.T) {
	h, _ := host(t, localStorageObject(t))
	c := newTestClient(t, h)
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"handleResponse", []any{"not a number"}},
		{"handleResponse", []any{401, "Bearer", "{not json"}},
		{"setTokens", []any{}},
		{"setTokens", []any{"garbage"}},
		{"setTokens", []any{`{"access_token":"x"}`}},
		{"setClientInfo", []any{`{"client_id":7}`}},
		{"complete", []any{42}},
		{"complete", []any{"https://app.example/callback.html"}},
	} {
		_, err := method(t, c, tc.name, tc.args...)
		if code := mcpoauth.CodeOf(err); code != mcpoauth.CodeInvalidConfig && code != mcpoauth.CodeAuthorizationError {
			t.Errorf("%s%v: code %q (%v)", tc.name, tc.args, code, err)
		}
	}
	if v, err := method(t, c, "getTokens"); err != nil || !v.IsNull() {
		t.Fatalf("getTokens before sign-in: %v %v", v, err)
	}
	_, err := method(t, c, "accessToken")
	wantCode(t, err, mcpoauth.CodeAuthRequired)
}

func TestPanicBecomesRejection(t *testing.T) {
	f := export(func([]safejs.Value) any { panic("boom") })
	p, err := f.Invoke()
	if err != nil {
		t.Fatalf("panic escaped to JS: %v", err)
	}
	_, err = settle(t, p)
	if mcpoauth.CodeOf(err) != mcpoauth.CodeInvalidConfig || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("rejection = %v", err)
	}
	_, err = settle(t, promise(func() (any, error) { var m map[string]int; m["x"] = 1; return nil, nil }))
	if !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("panic in a promise: %v", err)
	}
}

func TestStorageBackends(t *testing.T) {
	ctx := context.Background()
	async := js(t, "", `const m = new Map(); return {
		getItem: async (k) => m.has(k) ? m.get(k) : null,
		setItem: (k, v) => new Promise(r => setTimeout(() => { m.set(k, v); r(); }, 1)),
		removeItem: async (k) => { m.delete(k); },
	};`)
	for name, obj := range map[string]safejs.Value{"localStorage": localStorageObject(t), "async object": call(t, async)} {
		s := newJSStore(obj)
		if err := s.SetItem(ctx, "k", "v"); err != nil {
			t.Fatalf("%s set: %v", name, err)
		}
		if v, ok, err := s.GetItem(ctx, "k"); v != "v" || !ok || err != nil {
			t.Fatalf("%s get: %q %v %v", name, v, ok, err)
		}
		if err := s.RemoveItem(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.GetItem(ctx, "k"); ok {
			t.Fatalf("%s: removed key still there", name)
		}
	}
	if _, ok := newJSStore(localStorageObject(t)).(mcpoauth.KeyLister); ok {
		t.Fatal("localStorage itself has no keys(): should not be a KeyLister")
	}
	withKeys := call(t, js(t, "", `return {getItem(){return null}, setItem(){}, removeItem(){}, keys(){return ['a','b']}}`))
	keys, err := newJSStore(withKeys).(mcpoauth.KeyLister).Keys(ctx)
	if err != nil || strings.Join(keys, ",") != "a,b" {
		t.Fatalf("keys = %v %v", keys, err)
	}

	failing := map[string]string{
		"throws":         `return {getItem(){ throw new Error('SecurityError: denied') }, setItem(){ throw new Error('denied') }, removeItem(){}}`,
		"quota":          `return {getItem(){ return null }, setItem(){ throw new DOMException('quota', 'QuotaExceededError') }, removeItem(){}}`,
		"rejects":        `return {getItem: () => Promise.reject(new Error('nope')), setItem: () => Promise.reject('nope'), removeItem(){}}`,
		"returns number": `return {getItem(){ return 42 }, setItem(){ throw new Error('x') }, removeItem(){}}`,
	}
	for name, src := range failing {
		s := newJSStore(call(t, js(t, "", src)))
		_, _, gerr := s.GetItem(ctx, "k")
		serr := s.SetItem(ctx, "k", "v")
		if name != "quota" {
			wantCode(t, gerr, mcpoauth.CodeStorageError)
		}
		wantCode(t, serr, mcpoauth.CodeStorageError)
	}
}

// Garbage under our keys: reported, discarded, the client still works, and
// other keys are untouched.
func TestGarbageInStorage(t *testing.T) {
	ls := localStorageObject(t)
	_, _ = ls.Call("setItem", "mcp-oauth:v1:tokens:https://mcp.example.com/mcp", "{not json")
	_, _ = ls.Call("setItem", "mcp-oauth:v1:resource:https://mcp.example.com/mcp", `{"resource":42}`)
	_, _ = ls.Call("setItem", "unrelated", "keep")
	h, events := host(t, ls)
	c := newTestClient(t, h)
	_, err := method(t, c, "accessToken")
	wantCode(t, err, mcpoauth.CodeAuthRequired)
	if v, err := method(t, c, "getTokens"); err != nil || !v.IsNull() {
		t.Fatalf("getTokens: %v %v", v, err)
	}
	if !strings.Contains(strings.Join(*events, ","), "warning") {
		t.Fatalf("no warning event for the corrupt record: %v", *events)
	}
	if v, _ := ls.Call("getItem", "unrelated"); func() string { s, _ := v.String(); return s }() != "keep" {
		t.Fatal("an unrelated key was touched")
	}
	if v, _ := ls.Call("getItem", "mcp-oauth:v1:tokens:https://mcp.example.com/mcp"); !v.IsNull() {
		t.Fatal("the corrupt record was not removed")
	}
}

func TestErrorMapping(t *testing.T) {
	v := errorObject(&mcpoauth.Error{Code: mcpoauth.CodeAccessDenied, Message: "denied", OAuthError: "access_denied", OAuthErrorDescription: "<b>no</b>", Status: 400})
	o := v.(safejs.Value)
	if jsString(o, "code") != "access_denied" || jsString(o, "oauthErrorDescription") != "<b>no</b>" || jsInt(o, "status") != 400 {
		t.Fatalf("error object: code %q desc %q", jsString(o, "code"), jsString(o, "oauthErrorDescription"))
	}
	if jsString(errorObject(errors.New("plain")).(safejs.Value), "code") != "invalid_config" {
		t.Fatal("a plain error needs a code")
	}
	if jsString(errorObject(context.DeadlineExceeded).(safejs.Value), "code") != "timeout" {
		t.Fatal("a deadline is a timeout")
	}
	popupClosed := call(t, js(t, "", "return {code: 'popup_closed', message: 'closed'}"))
	wantCode(t, errorFromJS(popupClosed, mcpoauth.CodeAuthorizationError), mcpoauth.CodePopupClosed)
	unknown := call(t, js(t, "", "return {code: 'made_up', message: 'x'}"))
	wantCode(t, errorFromJS(unknown, mcpoauth.CodeAuthorizationError), mcpoauth.CodeAuthorizationError)
	typeErr := call(t, js(t, "", "return new TypeError('Failed to fetch')"))
	if err := errorFromJS(typeErr, mcpoauth.CodeNetworkError); mcpoauth.CodeOf(err) != mcpoauth.CodeNetworkError || !strings.Contains(err.Error(), "Failed to fetch") {
		t.Fatalf("TypeError: %v", err)
	}
}

func TestUserAgentRejectionCarriesCode(t *testing.T) {
	h, _ := host(t, localStorageObject(t))
	_, err := jsUserAgent{h}.OpenAuthorizationURL(context.Background(), &mcpoauth.AuthorizationRequest{URL: "https://as/authorize", State: "s"})
	wantCode(t, err, mcpoauth.CodePopupClosed)
}

func TestFetchTransport(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "data:application/json,%7B%22a%22%3A1%7D", nil)
	resp, err := fetchRoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"a":1}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d body %q type %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	// A body: the echo of a data: URL cannot take one, but fetch must be
	// called with it (a POST to a data: URL is a network error, not a
	// conversion failure in Go).
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:1/token", strings.NewReader("grant_type=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := fetchRoundTrip(req); err == nil || strings.Contains(err.Error(), "ValueOf") {
		t.Fatalf("a request with a body: %v", err)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := fetchRoundTrip(req); err == nil {
		t.Fatal("no error for an unreachable server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "data:text/plain,x", nil)
	if _, err := fetchRoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
}

// Web Locks serialize WithLock across callers (and, in a real page, tabs).
func TestWebLocksSerialize(t *testing.T) {
	h, _ := host(t, localStorageObject(t))
	l := jsLocker{h}
	var inside, overlaps atomic.Int32
	done := make(chan error, 3)
	for range 3 {
		go func() {
			done <- l.WithLock(context.Background(), "test-lock", func(context.Context) error {
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping holders", overlaps.Load())
	}
	want := errors.New("inner")
	if err := l.WithLock(context.Background(), "test-lock", func(context.Context) error { return want }); err != want {
		t.Fatalf("inner error not returned: %v", err)
	}
}

func TestVersion(t *testing.T) {
	if _, err := json.Marshal(mcpoauth.Version); err != nil || mcpoauth.Version == "" {
		t.Fatal("no version")
	}
}
