package mcpoauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time          { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Advance(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

// §1/§4.12: the stored token carries an absolute expiry and its issuer;
// refresh happens within the skew, not before.
func TestAbsoluteExpiryAndRefreshSkew(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{AccessTokenTTL: time.Hour})
	clock := &fakeClock{t: time.Now()}
	c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.Now = clock.Now })
	mustCall(t, c, s.MCPURL(), "ping")
	tok, _ := c.Tokens(ctx(t))
	if tok.ExpiresAt != clock.Now().Unix()+3600 || tok.Issuer != s.Issuer() || tok.Resource != s.MCPURL() {
		t.Fatalf("stored tokens = %+v", tok)
	}
	clock.Advance(time.Hour - 31*time.Second)
	if got, _ := c.AccessToken(ctx(t)); got.AccessToken != tok.AccessToken {
		t.Fatal("refreshed more than 30 s before expiry")
	}
	clock.Advance(2 * time.Second)
	got, err := c.AccessToken(ctx(t))
	if err != nil || got.AccessToken == tok.AccessToken || got.RefreshToken == tok.RefreshToken {
		t.Fatalf("not refreshed (with rotation) within 30 s of expiry: %+v %v", got, err)
	}
	if ua.n != 1 {
		t.Fatalf("refresh opened the authorization page")
	}
}

// §4.12: the old refresh token is kept when the server returns none.
func TestRefreshKeepsOldRefreshToken(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{NoRotation: true})
	clock := &fakeClock{t: time.Now()}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Now = clock.Now })
	mustCall(t, c, s.MCPURL(), "ping")
	before, _ := c.Tokens(ctx(t))
	clock.Advance(2 * time.Hour)
	after, err := c.AccessToken(ctx(t))
	if err != nil || after.RefreshToken != before.RefreshToken || after.AccessToken == before.AccessToken {
		t.Fatalf("refresh token not kept: %+v / %+v (%v)", before, after, err)
	}
}

// §4.12: invalid_grant on refresh drops the tokens; the next call
// authorizes afresh. Without a refresh token: auth_required.
func TestRefreshInvalidGrantDropsTokens(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	clock := &fakeClock{t: time.Now()}
	var changes []*mcpoauth.Tokens
	c, ua := newClient(t, s, func(c *mcpoauth.Config) {
		c.Now = clock.Now
		c.OnTokenChange = func(t *mcpoauth.Tokens) { changes = append(changes, t) }
	})
	mustCall(t, c, s.MCPURL(), "ping")
	s.ForgetClients() // the registration survives? no: use a fresh grant store instead
	s2opts := s.Opts
	_ = s2opts
	clock.Advance(2 * time.Hour)
	_, err := c.AccessToken(ctx(t))
	wantCode(t, err, mcpoauth.CodeAuthRequired)
	if tok, _ := c.Tokens(ctx(t)); tok != nil {
		t.Fatalf("tokens kept after a refused refresh: %+v", tok)
	}
	if len(changes) != 2 || changes[1] != nil {
		t.Fatalf("tokenchange events = %v, want a set then a removal", changes)
	}
	mustCall(t, c, s.MCPURL(), "ping")
	if ua.n != 2 {
		t.Fatalf("%d authorizations, want a fresh one after the refused refresh", ua.n)
	}
}

func TestNoRefreshTokenMeansAuthRequired(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{NoRefreshToken: true})
	clock := &fakeClock{t: time.Now()}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Now = clock.Now })
	mustCall(t, c, s.MCPURL(), "ping")
	clock.Advance(2 * time.Hour)
	_, err := c.AccessToken(ctx(t))
	wantCode(t, err, mcpoauth.CodeAuthRequired)
}

// §4.12 + multiple callers: concurrent AccessToken calls share one refresh.
func TestConcurrentRefreshIsSingle(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	clock := &fakeClock{t: time.Now()}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Now = clock.Now })
	mustCall(t, c, s.MCPURL(), "ping")
	clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := c.AccessToken(ctx(t)); err == nil {
				tokens[i] = tok.AccessToken
			}
		}()
	}
	wg.Wait()
	refreshes := 0
	for _, f := range formsTo(s, "/token") {
		if f.Get("grant_type") == "refresh_token" {
			refreshes++
		}
	}
	if refreshes != 1 {
		t.Fatalf("%d refresh requests, want 1", refreshes)
	}
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("callers got different tokens: %v", tokens)
		}
	}
}

// A 401 on a token the clock thinks is valid: refresh once, then retry.
func TestUnauthorizedTriggersRefreshThenRetry(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	s.ExpireAccessTokens()
	mustCall(t, c, s.MCPURL(), "ping")
	if ua.n != 1 {
		t.Fatalf("%d authorizations; a refresh should have sufficed", ua.n)
	}
}

// §4.11: tokens go only to the MCP server's origin, and tokens from an
// authorization server other than the one now discovered are not sent.
func TestTokensOnlyToTheirServer(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, _ := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	var gotAuth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gotAuth = r.Header.Get("Authorization") }))
	defer other.Close()
	req, _ := http.NewRequest(http.MethodGet, other.URL, nil)
	resp, err := c.Transport(nil).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gotAuth != "" {
		t.Fatalf("token sent to another origin: %q", gotAuth)
	}

	tok, _ := c.Tokens(ctx(t))
	tok.Issuer = "https://old-issuer.example"
	if err := c.SetTokens(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	_, err = c.AccessToken(ctx(t))
	wantCode(t, err, mcpoauth.CodeAuthRequired)
	if !strings.Contains(err.Error(), "old-issuer") {
		t.Fatalf("message does not name the issuer: %v", err)
	}
}

// §4.10: https everywhere except loopback; only http(s) URLs opened.
func TestInsecureURLsRefused(t *testing.T) {
	for _, u := range []string{"http://mcp.example.com/mcp", "javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "ftp://x/mcp"} {
		_, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: u, RedirectURI: redirectURI, Fetch: testFetch})
		if code := mcpoauth.CodeOf(err); code != mcpoauth.CodeInsecureURL && code != mcpoauth.CodeInvalidConfig {
			t.Fatalf("%s: code %q", u, code)
		}
	}
	for _, u := range []string{"http://localhost:1/mcp", "http://127.0.0.1:1/mcp", "http://[::1]:1/mcp", "https://mcp.example.com/mcp"} {
		if _, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: u, RedirectURI: redirectURI, Fetch: testFetch}); err != nil {
			t.Fatalf("%s refused: %v", u, err)
		}
	}
	// An authorization server whose metadata names a javascript: endpoint.
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-protected-resource/mcp":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"resource":"http://` + r.Host + `/mcp","authorization_servers":["http://` + r.Host + `"]}`))
		case "/.well-known/oauth-authorization-server":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"http://` + r.Host + `","authorization_endpoint":"javascript:alert(1)","token_endpoint":"http://` + r.Host + `/token","code_challenge_methods_supported":["S256"]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer as.Close()
	opened := false
	c, _ := mcpoauth.NewClient(mcpoauth.Config{MCPURL: as.URL + "/mcp", RedirectURI: redirectURI, Fetch: testFetch,
		UserAgent: mcpoauth.UserAgentFunc(func(context.Context, *mcpoauth.AuthorizationRequest) (string, error) {
			opened = true
			return "", errors.New("x")
		})})
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeInsecureURL)
	if opened {
		t.Fatal("a javascript: authorization URL was opened")
	}
}

// §1 check_if_auth_required.
func TestCheckIfAuthRequired(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	if ok, err := mcpoauth.CheckIfAuthRequired(ctx(t), testFetch, s.MCPURL(), nil); !ok || err != nil {
		t.Fatalf("protected server: %v %v", ok, err)
	}
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // an endless SSE stream: must not be read
	}))
	defer open.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ok, err := mcpoauth.CheckIfAuthRequired(ctx(t), testFetch, open.URL, nil); ok || err != nil {
			t.Errorf("open server: %v %v", ok, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("CheckIfAuthRequired read an endless body")
	}
	open.CloseClientConnections()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err := mcpoauth.CheckIfAuthRequired(ctx(t), testFetch, closed.URL, nil)
	wantCode(t, err, mcpoauth.CodeNetworkError)
	if !strings.Contains(err.Error(), "CORS") || !strings.Contains(err.Error(), closed.URL) {
		t.Fatalf("network error should name the URL and CORS: %v", err)
	}
}
