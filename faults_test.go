package mcpoauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// Faults a client must survive: each gives a clear error naming what went
// wrong (or recovers), loses nothing stored, and never hangs.

// faultyAS serves a PRM pointing at itself and lets a test decide how the
// authorization server metadata request is answered.
func faultyAS(t *testing.T, metadata http.HandlerFunc) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-protected-resource/mcp":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"resource":"` + srv.URL + `/mcp","authorization_servers":["` + srv.URL + `"]}`))
		case "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration":
			metadata(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func authorizeAgainst(t *testing.T, srv *httptest.Server, mutate func(*mcpoauth.Config)) error {
	t.Helper()
	cfg := mcpoauth.Config{MCPURL: srv.URL + "/mcp", RedirectURI: redirectURI, UserAgent: &countingUA{}, RequestTimeout: 2 * time.Second, Fetch: testFetch}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := mcpoauth.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Authorize(context.Background(), mcpoauth.AuthorizeOptions{}); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Authorize hung")
		return nil
	}
}

func TestMetadataFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		code    mcpoauth.Code
		says    string
	}{
		{"5xx", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 503) }, mcpoauth.CodeDiscoveryFailed, "HTTP 503"},
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer": `))
		}, mcpoauth.CodeMetadataInvalid, "malformed JSON"},
		{"HTML error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><body>Oops</body></html>`))
		}, mcpoauth.CodeMetadataInvalid, "text/html"},
		{"not an object", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`["x"]`))
		}, mcpoauth.CodeMetadataInvalid, "JSON object"},
		{"missing fields", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"http://` + r.Host + `"}`))
		}, mcpoauth.CodeMetadataInvalid, "token_endpoint"},
		{"wrong field types", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"http://` + r.Host + `","authorization_endpoint":5}`))
		}, mcpoauth.CodeMetadataInvalid, "malformed JSON"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/metadata", http.StatusFound)
		}, mcpoauth.CodeDiscoveryFailed, "not followed"},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`))
		}, mcpoauth.CodeMetadataInvalid, "larger than"},
		{"never ends", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, mcpoauth.CodeTimeout, "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultyAS(t, tc.handler)
			err := authorizeAgainst(t, srv, nil)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("message %q does not say %q", err, tc.says)
			}
			if tc.code != mcpoauth.CodeTimeout && !strings.Contains(err.Error(), srv.URL) {
				t.Fatalf("message does not name the URL: %v", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	err := authorizeAgainst(t, closed, nil)
	// No answer at either PRM URL or the legacy metadata: network_error,
	// naming a URL and the likely CORS cause.
	wantCode(t, err, mcpoauth.CodeNetworkError)
	if !strings.Contains(err.Error(), closed.URL) || !strings.Contains(err.Error(), "CORS") {
		t.Fatalf("message: %v", err)
	}
}

// Token endpoint faults: the stored tokens and registration survive.
func TestTokenEndpointFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		code    mcpoauth.Code
	}{
		{"5xx", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 502) }, mcpoauth.CodeTokenError},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<h1>maintenance</h1>"))
		}, mcpoauth.CodeTokenError},
		{"no access_token", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token_type":"Bearer"}`))
		}, mcpoauth.CodeTokenError},
		{"not Bearer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"x","token_type":"mac"}`))
		}, mcpoauth.CodeTokenError},
		{"error in a 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"error":"invalid_grant"}`))
		}, mcpoauth.CodeInvalidGrant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			store := mcpoauth.NewMemoryStore()
			clock := &fakeClock{t: time.Now()}
			c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store; c.Now = clock.Now })
			mustCall(t, c, s.MCPURL(), "ping")
			before, _ := c.Tokens(ctx(t))
			// The token endpoint breaks.
			orig := s.Config.Handler
			s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/token" {
					tc.handler(w, r)
					return
				}
				orig.ServeHTTP(w, r)
			})
			clock.Advance(2 * time.Hour)
			_, err := c.AccessToken(ctx(t))
			if tc.code == mcpoauth.CodeInvalidGrant {
				wantCode(t, err, mcpoauth.CodeAuthRequired) // a refused refresh: sign in again
				return
			}
			wantCode(t, err, tc.code)
			after, _ := c.Tokens(ctx(t))
			if after == nil || after.RefreshToken != before.RefreshToken {
				t.Fatal("a failed refresh lost the stored tokens")
			}
			if ci, _ := c.ClientInfo(ctx(t)); ci == nil {
				t.Fatal("a failed refresh lost the registration")
			}
		})
	}
}

// The authorization server moves: the PRM names another issuer. The client
// registers there and never sends the old issuer's tokens.
func TestAuthorizationServerMoves(t *testing.T) {
	oldAS := newServer(t, mcpoauthtest.Options{})
	newAS := newServer(t, mcpoauthtest.Options{})
	mcp := newServer(t, mcpoauthtest.Options{AuthorizationServer: oldAS})
	store := mcpoauth.NewMemoryStore()
	c, ua := newClient(t, mcp, func(c *mcpoauth.Config) { c.Store = store })
	mustCall(t, c, mcp.MCPURL(), "ping")
	oldTok, _ := c.Tokens(ctx(t))

	mcp.Opts.AuthorizationServer = newAS
	mustCall(t, c, mcp.MCPURL(), "ping")
	tok, _ := c.Tokens(ctx(t))
	if tok.Issuer != newAS.Issuer() || ua.n != 2 || !hasPath(newAS, "/register") {
		t.Fatalf("did not move to the new issuer: %+v, %d authorizations", tok, ua.n)
	}
	ci, _ := c.ClientInfo(ctx(t))
	if ci.Issuer != newAS.Issuer() {
		t.Fatalf("registration for %s used with %s", ci.Issuer, newAS.Issuer())
	}
	// After the move the MCP server saw the old token once (it refused it,
	// which is how the client learned), and never an old-issuer token again.
	var seen []string
	for _, r := range mcp.Requests() {
		if a := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); a != "" {
			seen = append(seen, a)
		}
	}
	if len(seen) != 3 || seen[0] != oldTok.AccessToken || seen[1] != oldTok.AccessToken || !newAS.Issued(seen[2]) {
		t.Fatalf("tokens the MCP server saw: %v (old %s)", seen, oldTok.AccessToken)
	}
	if n := len(formsTo(oldAS, "/token")); n != 1 {
		t.Fatalf("%d token requests to the old authorization server, want only the first code exchange", n)
	}
	// And never to the new authorization server.
	for _, r := range newAS.Requests() {
		if strings.Contains(r.Header.Get("Authorization"), oldTok.AccessToken) || r.Form.Get("refresh_token") == oldTok.RefreshToken {
			t.Fatal("the old issuer's token went to the new authorization server")
		}
	}
}

// Hostile URLs in metadata and iss values that differ only by case or port.
func TestHostileMetadataURLs(t *testing.T) {
	for _, endpoint := range []string{"javascript:alert(1)", "data:text/html,<script>x</script>", "file:///etc/passwd", "http://evil.example/authorize"} {
		srv := faultyAS(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"http://` + r.Host + `","authorization_endpoint":"` + endpoint + `","token_endpoint":"http://` + r.Host + `/token","code_challenge_methods_supported":["S256"]}`))
		})
		opened := false
		err := authorizeAgainst(t, srv, func(c *mcpoauth.Config) {
			c.UserAgent = mcpoauth.UserAgentFunc(func(context.Context, *mcpoauth.AuthorizationRequest) (string, error) {
				opened = true
				return "", nil
			})
		})
		wantCode(t, err, mcpoauth.CodeInsecureURL)
		if opened {
			t.Fatalf("%s was opened", endpoint)
		}
	}
	for _, bad := range []string{"{ISSUER}", "{issuer}:80", "{issuer}/"} {
		s := newServer(t, mcpoauthtest.Options{})
		s.Opts.IssOverride = strings.NewReplacer("{issuer}", strings.Replace(s.Issuer(), "127.0.0.1", "localhost", 1), "{ISSUER}", strings.ToUpper(s.Issuer())).Replace(bad)
		c, _ := newClient(t, s, nil)
		_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
		wantCode(t, err, mcpoauth.CodeIssuerMismatch)
		if hasPath(s, "/token") {
			t.Fatalf("iss %q: a token request was sent", s.Opts.IssOverride)
		}
	}
}

// Tokens never appear in error messages, whatever fails.
func TestErrorsNeverCarryTokens(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{StepUpScope: "never", UngrantableScopes: []string{"never"}})
	clock := &fakeClock{t: time.Now()}
	var progress []string
	c, _ := newClient(t, s, func(c *mcpoauth.Config) {
		c.Now = clock.Now
		c.OnProgress = func(p mcpoauth.Progress) { progress = append(progress, p.Step.String()+p.Detail+p.Issuer+p.MCPURL) }
	})
	mustCall(t, c, s.MCPURL(), "ping")
	tok, _ := c.Tokens(ctx(t))
	var errs []error
	_, _, err := call(t, c, s.MCPURL(), "admin")
	errs = append(errs, err)
	s.ForgetClients()
	clock.Advance(2 * time.Hour)
	_, err = c.AccessToken(ctx(t))
	errs = append(errs, err)
	for _, e := range errs {
		if e == nil {
			t.Fatal("expected an error")
		}
		for _, secret := range []string{tok.AccessToken, tok.RefreshToken} {
			if strings.Contains(e.Error(), secret) {
				t.Fatalf("error %q carries a token", e)
			}
		}
	}
	for _, p := range progress {
		if strings.Contains(p, tok.AccessToken) || strings.Contains(p, tok.RefreshToken) {
			t.Fatal("a progress event carries a token")
		}
	}
}

// TestNetworkErrorsSayWhy: a transport that can tell why a request got no
// answer (the browser module probes) makes a network_error that carries the
// URL and the reason, and whose message names the fix: the CORS header (and
// the preflight, for a request that needs one), or an address where
// nothing answers.
func TestNetworkErrorsSayWhy(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   []string
	}{
		{"cors", []string{"blocked by the browser", "Access-Control-Allow-Origin"}},
		{"unreachable", []string{"nothing answered"}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			noAnswer := func(req *http.Request) (*http.Response, error) {
				return nil, &mcpoauth.NoAnswer{Reason: tc.reason, Err: errors.New("Failed to fetch")}
			}
			url := "https://mcp.example.com/mcp"
			_, err := mcpoauth.CheckIfAuthRequired(ctx(t), noAnswer, url, nil)
			wantCode(t, err, mcpoauth.CodeNetworkError)
			var e *mcpoauth.Error
			if !errors.As(err, &e) || e.URL != url || e.Reason != tc.reason {
				t.Fatalf("error %+v, want URL %s and reason %s", err, url, tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not say %q", e.Message, w)
				}
			}
		})
	}
	// A request that needs a preflight (a JSON registration) names it.
	s := newServer(t, mcpoauthtest.Options{})
	blocked := func(req *http.Request) (*http.Response, error) {
		if strings.HasSuffix(req.URL.Path, "/register") {
			return nil, &mcpoauth.NoAnswer{Reason: "cors", Err: errors.New("Failed to fetch")}
		}
		if testFetch != nil {
			return testFetch(req)
		}
		return http.DefaultTransport.RoundTrip(req)
	}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Fetch = blocked })
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeNetworkError)
	if !strings.Contains(err.Error(), "preflight (OPTIONS) of this POST") || !strings.Contains(err.Error(), "/register") {
		t.Errorf("registration blocked by CORS: %v", err)
	}
}
