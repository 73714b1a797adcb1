package mcpoauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// Rule §4.4: PKCE S256 always; refused when the server does not advertise
// it (absent counts as lacking).
func TestPKCE(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, nil)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	q := ua.lastAuthParams(t)
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Fatalf("authorization request lacks an S256 challenge: %v", q)
	}
	tok := formsTo(s, "/token")
	if len(tok) != 1 || len(tok[0].Get("code_verifier")) < 43 {
		t.Fatalf("token request lacks the verifier: %v", tok)
	}

	for name, opts := range map[string]mcpoauthtest.Options{
		"absent": {NoPKCEMethods: true},
		"plain":  {PKCEMethods: []string{"plain"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, opts)
			c, ua := newClient(t, s, nil)
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			wantCode(t, err, mcpoauth.CodePKCEUnsupported)
			if ua.n != 0 || hasPath(s, "/register") {
				t.Fatalf("went on without PKCE support: %v", s.Paths())
			}
		})
	}
}

// Rule §4.6: scope selection order, and omission when nothing says.
func TestScopeSelection(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       mcpoauthtest.Options
		configured []string
		want       string
		omitted    bool
	}{
		{"configured wins", mcpoauthtest.Options{ChallengeScope: "a", PRMScopes: []string{"b"}}, []string{"x", "y"}, "x y", false},
		{"challenge", mcpoauthtest.Options{ChallengeScope: "a c", PRMScopes: []string{"b"}}, nil, "a c", false},
		{"prm scopes_supported", mcpoauthtest.Options{PRMScopes: []string{"b", "d"}}, nil, "b d", false},
		{"omitted", mcpoauthtest.Options{}, nil, "", true},
		{"offline_access when the AS lists it", mcpoauthtest.Options{ChallengeScope: "a", ASScopes: []string{"a", "offline_access"}}, nil, "a offline_access", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.Scopes = tc.configured })
			mustCall(t, c, s.MCPURL(), "ping")
			q := ua.lastAuthParams(t)
			if tc.omitted {
				if q.Has("scope") {
					t.Fatalf("scope sent (%q), want omitted", q.Get("scope"))
				}
				return
			}
			if q.Get("scope") != tc.want {
				t.Fatalf("scope = %q, want %q", q.Get("scope"), tc.want)
			}
		})
	}
}

// Rule §4.6: 403 insufficient_scope → re-authorize with the union; at most
// three step-ups, then insufficient_scope.
func TestStepUp(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{ChallengeScope: "mcp:tools", StepUpScope: "mcp:admin"})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	out := mustCall(t, c, s.MCPURL(), "admin")
	if got := ua.lastAuthParams(t).Get("scope"); got != "mcp:tools mcp:admin" {
		t.Fatalf("step-up scope = %q, want the union", got)
	}
	if res, _ := out["result"].(map[string]any); res["scope"] != "mcp:tools mcp:admin" {
		t.Fatalf("call did not succeed with the new token: %v", out)
	}
	if ua.n != 2 {
		t.Fatalf("%d authorizations, want 2", ua.n)
	}
}

// A 403 for scopes the token already holds: no authorization can help.
func TestStepUpNotRepeatedForGrantedScopes(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.Scopes = []string{"mcp:admin"} })
	mustCall(t, c, s.MCPURL(), "ping")
	tok, _ := c.Tokens(ctx(t))
	if tok.Scope != "mcp:admin" {
		t.Fatalf("granted scope = %q", tok.Scope)
	}
	retry, err := c.HandleResponse(ctx(t), 403, http.Header{"Www-Authenticate": {`Bearer error="insufficient_scope", scope="mcp:admin"`}}, &mcpoauth.Operation{SentToken: tok.AccessToken})
	wantCode(t, err, mcpoauth.CodeInsufficientScope)
	if retry || ua.n != 1 {
		t.Fatalf("re-authorized for scopes already granted (retry %v, %d authorizations)", retry, ua.n)
	}
}

func TestStepUpGivesUpAfterThree(t *testing.T) {
	// The server keeps asking for a scope the authorization server never grants.
	s := newServer(t, mcpoauthtest.Options{StepUpScope: "never", UngrantableScopes: []string{"never"}})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	_, _, err := call(t, c, s.MCPURL(), "admin")
	wantCode(t, err, mcpoauth.CodeInsufficientScope)
	if ua.n != 1+3 {
		t.Fatalf("%d authorizations, want 1 for ping and 3 for the admin call", ua.n)
	}
}

// Rule §4.7: resource in the authorization request, the code exchange and
// the refresh.
func TestResourceSentEverywhere(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{AccessTokenTTL: time.Second})
	now := time.Now()
	c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.Now = func() time.Time { return now } })
	mustCall(t, c, s.MCPURL(), "ping")
	now = now.Add(time.Hour)
	mustCall(t, c, s.MCPURL(), "ping")
	if ua.n != 1 {
		t.Fatalf("%d authorizations, want 1 (the second call should refresh)", ua.n)
	}
	if got := ua.lastAuthParams(t).Get("resource"); got != s.MCPURL() {
		t.Fatalf("authorization resource = %q", got)
	}
	forms := formsTo(s, "/token")
	if len(forms) != 2 || forms[1].Get("grant_type") != "refresh_token" {
		t.Fatalf("token requests = %v, want a code exchange and a refresh", forms)
	}
	for _, f := range forms {
		if f.Get("resource") != s.MCPURL() {
			t.Fatalf("%s request lacks resource: %v", f.Get("grant_type"), f)
		}
	}
}

// Rule §4.8: a missing or different state is discarded before any token
// request.
func TestStateMismatch(t *testing.T) {
	for name, tamper := range map[string]func(string) string{
		"changed": func(cb string) string { return replaceParam(cb, "state", "forged") },
		"missing": func(cb string) string { return replaceParam(cb, "state", "") },
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			c, ua := newClient(t, s, nil)
			ua.tamper = tamper
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			wantCode(t, err, mcpoauth.CodeStateMismatch)
			if hasPath(s, "/token") {
				t.Fatal("a token request was sent for a response with a bad state")
			}
		})
	}
}

// Rule §4.9: RFC 9207 iss, every row of the table.
func TestIssuerInResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mcpoauthtest.Options
		// tamper edits the callback
		tamper func(string) string
		want   mcpoauth.Code
	}{
		{"advertised and equal", mcpoauthtest.Options{}, nil, ""},
		{"advertised and missing", mcpoauthtest.Options{}, func(cb string) string { return replaceParam(cb, "iss", "") }, mcpoauth.CodeIssuerMismatch},
		{"different", mcpoauthtest.Options{IssOverride: "https://evil.example"}, nil, mcpoauth.CodeIssuerMismatch},
		{"trailing slash", mcpoauthtest.Options{}, func(cb string) string { return appendToParam(cb, "iss", "/") }, mcpoauth.CodeIssuerMismatch},
		{"not advertised, absent", mcpoauthtest.Options{NoIss: true}, nil, ""},
		{"not advertised, present and different", mcpoauthtest.Options{NoIss: true}, func(cb string) string { return addParam(cb, "iss", "https://evil.example") }, mcpoauth.CodeIssuerMismatch},
		{"wrong iss hides the error", mcpoauthtest.Options{Deny: true, IssOverride: "https://evil.example"}, nil, mcpoauth.CodeIssuerMismatch},
		{"right iss shows the error", mcpoauthtest.Options{Deny: true}, nil, mcpoauth.CodeAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			c, ua := newClient(t, s, nil)
			ua.tamper = tc.tamper
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			wantCode(t, err, tc.want)
			if tc.want != "" && hasPath(s, "/token") {
				t.Fatal("a token request was sent for a refused response")
			}
			if tc.want == mcpoauth.CodeIssuerMismatch && strings.Contains(err.Error(), "said no") {
				t.Fatalf("error_description of a mismatched response was surfaced: %v", err)
			}
		})
	}
}

func TestAccessDeniedCarriesServerText(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{Deny: true})
	c, _ := newClient(t, s, nil)
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeAccessDenied)
	e := err.(*mcpoauth.Error)
	if e.OAuthError != "access_denied" || e.OAuthErrorDescription != "The user said no" {
		t.Fatalf("server's error not carried: %+v", e)
	}
}

// Redirect mode: begin stores the pending authorization, complete checks
// and removes it; it can be used once; returnTo must be same-origin.
func TestRedirectModeBeginComplete(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.UserAgent = nil; c.Store = store })
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeAuthRequired)

	_, err = c.BeginAuthorization(ctx(t), mcpoauth.AuthorizeOptions{ReturnTo: "https://evil.example/"})
	wantCode(t, err, mcpoauth.CodeInvalidConfig)

	req, err := c.BeginAuthorization(ctx(t), mcpoauth.AuthorizeOptions{ReturnTo: "http://127.0.0.1:9/app?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := store.Keys(ctx(t))
	if !containsSuffix(keys, ":pending:"+req.State) {
		t.Fatalf("pending authorization not stored by state: %v", keys)
	}
	cb, err := (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh client (as after a page load) completes it.
	c2, _ := newClient(t, s, func(c *mcpoauth.Config) { c.UserAgent = nil; c.Store = store })
	tok, p, err := c2.CompleteAuthorization(ctx(t), cb)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || p.ReturnTo != "http://127.0.0.1:9/app?x=1" {
		t.Fatalf("tokens %v, returnTo %q", tok, p.ReturnTo)
	}
	_, _, err = c2.CompleteAuthorization(ctx(t), cb)
	wantCode(t, err, mcpoauth.CodeStateMismatch)

	// A return URL rewritten in storage after the sign-in started is dropped.
	req, _ = c2.BeginAuthorization(ctx(t), mcpoauth.AuthorizeOptions{ReturnTo: "http://127.0.0.1:9/app"})
	key := "mcp-oauth:v1:pending:" + req.State
	raw, _, _ := store.GetItem(ctx(t), key)
	_ = store.SetItem(ctx(t), key, strings.Replace(raw, "http://127.0.0.1:9/app", "https://evil.example/", 1))
	cb, _ = (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx(t), req)
	if _, p, err := c2.CompleteAuthorization(ctx(t), cb); err != nil || p.ReturnTo != "" {
		t.Fatalf("tampered returnTo %q kept (%v)", p.ReturnTo, err)
	}
}

func TestRedirectModePendingExpires(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	now := time.Now()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.UserAgent = nil; c.Now = func() time.Time { return now } })
	req, err := c.BeginAuthorization(ctx(t), mcpoauth.AuthorizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx(t), req)
	now = now.Add(11 * time.Minute)
	_, _, err = c.CompleteAuthorization(ctx(t), cb)
	wantCode(t, err, mcpoauth.CodeStateMismatch)
	if !strings.Contains(err.Error(), "expired") {
		t.Fatalf("message does not say it expired: %v", err)
	}
}

func TestCallbackAtWrongEndpointRefused(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, nil)
	ua.tamper = func(cb string) string { return strings.Replace(cb, "/callback", "/elsewhere", 1) }
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeAuthorizationError)
	if strings.Contains(err.Error(), "code=") || strings.Contains(err.Error(), "state=") {
		t.Fatalf("error message carries callback parameters: %v", err)
	}
}

func replaceParam(raw, name, value string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func appendToParam(raw, name, suffix string) string {
	u, _ := url.Parse(raw)
	return replaceParam(raw, name, u.Query().Get(name)+suffix)
}

func addParam(raw, name, value string) string { return replaceParam(raw, name, value) }

func containsSuffix(list []string, suffix string) bool {
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

// A popup reported closed may be a COOP-severed popup the user is still
// signing in with: its pending sign-in stays, and the callback that arrives
// later still completes. Any other failure removes it.
func TestPendingKeptWhenPopupClosed(t *testing.T) {
	for _, tc := range []struct {
		code mcpoauth.Code
		kept bool
	}{{mcpoauth.CodePopupClosed, true}, {mcpoauth.CodeAborted, false}, {mcpoauth.CodeTimeout, false}} {
		t.Run(string(tc.code), func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			store := mcpoauth.NewMemoryStore()
			var callback string
			c, _ := newClient(t, s, func(c *mcpoauth.Config) {
				c.Store = store
				c.UserAgent = mcpoauth.UserAgentFunc(func(ctx context.Context, req *mcpoauth.AuthorizationRequest) (string, error) {
					callback, _ = (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx, req)
					return "", &mcpoauth.Error{Code: tc.code, Message: "closed"}
				})
			})
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			wantCode(t, err, tc.code)
			_, _, err = c.CompleteAuthorization(ctx(t), callback)
			if tc.kept {
				if err != nil {
					t.Fatalf("the late callback did not complete: %v", err)
				}
				if tok, _ := c.Tokens(ctx(t)); tok == nil {
					t.Fatal("no tokens after the late completion")
				}
				return
			}
			wantCode(t, err, mcpoauth.CodeStateMismatch)
		})
	}
}
