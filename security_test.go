package mcpoauth_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// Regression tests for the holes an adversarial review found (issue 10);
// SECURITY.md names each. The browser-side ones are in
// e2e/security_test.go.

// rewriteTokenResponses sends requests with http.DefaultTransport and
// passes every token endpoint answer through edit.
func rewriteTokenResponses(edit func(body string) string) mcpoauth.RoundTripFunc {
	return func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
			return resp, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		out := edit(string(b))
		resp.Body = io.NopCloser(strings.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Del("Content-Length")
		return resp, nil
	}
}

// TestAbsurdExpiresInIsClamped (item 6): an expires_in of 1e308,
// "Infinity", 2^63-1 or "NaN" keeps the token usable (clamped to a year, or
// no expiry for NaN) and warns, instead of storing a token that looks
// expired and forcing a new sign-in on every call.
func TestAbsurdExpiresInIsClamped(t *testing.T) {
	expires := regexp.MustCompile(`"expires_in":\d+`)
	for _, tc := range []struct {
		value   string
		wantTTL int64 // 0: no expiry
	}{
		{"1e308", 365 * 24 * 3600},
		{`"Infinity"`, 365 * 24 * 3600},
		{"9223372036854775807", 365 * 24 * 3600},
		{"1e400", 365 * 24 * 3600},
		{`"NaN"`, 0},
	} {
		t.Run(tc.value, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			now := time.Now()
			var warnings []string
			c, ua := newClient(t, s, func(c *mcpoauth.Config) {
				c.Now = func() time.Time { return now }
				c.Fetch = rewriteTokenResponses(func(b string) string { return expires.ReplaceAllString(b, `"expires_in":`+tc.value) })
				c.OnWarning = func(e *mcpoauth.Error) { warnings = append(warnings, e.Error()) }
			})
			mustCall(t, c, s.MCPURL(), "ping")
			mustCall(t, c, s.MCPURL(), "ping")
			tok, err := c.Tokens(ctx(t))
			if err != nil || tok == nil {
				t.Fatalf("tokens: %v %v", tok, err)
			}
			want := int64(0)
			if tc.wantTTL > 0 {
				want = now.Unix() + tc.wantTTL
			}
			if tok.ExpiresAt != want {
				t.Errorf("expires_at = %d, want %d", tok.ExpiresAt, want)
			}
			if ua.n != 1 || countPaths(s, "/token") != 1 {
				t.Errorf("%d sign-ins and %d token requests for two calls, want 1 and 1", ua.n, countPaths(s, "/token"))
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "expires_in") {
				t.Errorf("warnings = %q, want one naming expires_in", warnings)
			}
		})
	}
}

// sawCredentials reports whether s received the client id or secret in
// any request: Basic auth, a form field, a query parameter or a
// registration body.
func sawCredentials(s *mcpoauthtest.Server, id, secret string) []string {
	var out []string
	for _, r := range s.Requests() {
		if u, p, ok := (&http.Request{Header: r.Header}).BasicAuth(); ok && (strings.Contains(u, id) || strings.Contains(p, secret)) {
			out = append(out, r.Method+" "+r.Path+" (Basic)")
		}
		for _, v := range []string{r.Form.Get("client_id"), r.Form.Get("client_secret"), r.Query.Get("client_id"), fmt.Sprint(r.JSON)} {
			if strings.Contains(v, id) || strings.Contains(v, secret) {
				out = append(out, r.Method+" "+r.Path)
			}
		}
	}
	return out
}

// TestStaticCredentialsBoundToIssuer (item 4): a configured clientId and
// clientSecret go only to the authorization server they were first used
// with, or the one clientIssuer names. When the MCP server later names
// another authorization server, that server receives neither, and the
// error says why.
func TestStaticCredentialsBoundToIssuer(t *testing.T) {
	const id, secret = "static-client-7", "static-secret-7"
	t.Run("first use", func(t *testing.T) {
		honest := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{id: secret}})
		other := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{id: secret}})
		mcp := newServer(t, mcpoauthtest.Options{AuthorizationServer: honest})
		c, _ := newClient(t, mcp, func(c *mcpoauth.Config) { c.ClientID, c.ClientSecret = id, secret })
		mustCall(t, c, mcp.MCPURL(), "ping")
		if len(sawCredentials(honest, id, secret)) == 0 {
			t.Fatal("the honest authorization server never saw the credentials")
		}
		mcp.Opts.AuthorizationServer = other
		mcp.ExpireAccessTokens()
		_, _, err := call(t, c, mcp.MCPURL(), "ping")
		wantCode(t, err, mcpoauth.CodeInvalidConfig)
		for _, want := range []string{id, honest.Issuer(), other.Issuer(), "clientIssuer"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not name %q: %v", want, err)
			}
		}
		if got := sawCredentials(other, id, secret); len(got) > 0 {
			t.Fatalf("the other authorization server received the credentials: %v", got)
		}
		// A client whose binding is forgotten (clear) follows the server again.
		if err := c.Clear(ctx(t)); err != nil {
			t.Fatal(err)
		}
		mustCall(t, c, mcp.MCPURL(), "ping")
	})
	t.Run("clientIssuer", func(t *testing.T) {
		honest := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{id: secret}})
		evil := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{id: secret}})
		mcp := newServer(t, mcpoauthtest.Options{AuthorizationServer: evil})
		c, ua := newClient(t, mcp, func(c *mcpoauth.Config) {
			c.ClientID, c.ClientSecret, c.ClientIssuer = id, secret, honest.Issuer()
		})
		_, _, err := call(t, c, mcp.MCPURL(), "ping")
		wantCode(t, err, mcpoauth.CodeInvalidConfig)
		if got := sawCredentials(evil, id, secret); len(got) > 0 || ua.n != 0 {
			t.Fatalf("the unnamed authorization server received the credentials (%v) or a sign-in started (%d)", got, ua.n)
		}
		mcp.Opts.AuthorizationServer = honest
		mustCall(t, c, mcp.MCPURL(), "ping")
	})
	t.Run("clientIssuer needs clientId", func(t *testing.T) {
		_, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: "https://mcp.example/mcp", RedirectURI: redirectURI, ClientIssuer: "https://as.example", Fetch: testFetch})
		wantCode(t, err, mcpoauth.CodeInvalidConfig)
	})
}

// TestRequireIssuerParameter (item 7): with RequireIssuerParameter an
// authorization response without RFC 9207 iss is refused even when the
// authorization server does not advertise iss; without it, signing in at
// such a server warns. A server that advertises iss gives no warning.
func TestRequireIssuerParameter(t *testing.T) {
	noIss := newServer(t, mcpoauthtest.Options{NoIss: true})
	var warnings []string
	c, _ := newClient(t, noIss, func(c *mcpoauth.Config) {
		c.RequireIssuerParameter = true
		c.OnWarning = func(e *mcpoauth.Error) { warnings = append(warnings, e.Error()) }
	})
	_, _, err := call(t, c, noIss.MCPURL(), "ping")
	wantCode(t, err, mcpoauth.CodeIssuerMismatch)
	if n := countPaths(noIss, "/token"); n != 0 {
		t.Fatalf("%d token requests after a response without iss, want none", n)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings with requireIssuerParameter: %q", warnings)
	}

	warnings = nil
	c, _ = newClient(t, noIss, func(c *mcpoauth.Config) {
		c.OnWarning = func(e *mcpoauth.Error) { warnings = append(warnings, e.Error()) }
	})
	mustCall(t, c, noIss.MCPURL(), "ping")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "authorization_response_iss_parameter_supported") || !strings.Contains(warnings[0], "requireIssuerParameter") {
		t.Errorf("warnings = %q, want one about iss support", warnings)
	}

	withIss := newServer(t, mcpoauthtest.Options{})
	warnings = nil
	c, _ = newClient(t, withIss, func(c *mcpoauth.Config) {
		c.RequireIssuerParameter = true
		c.OnWarning = func(e *mcpoauth.Error) { warnings = append(warnings, e.Error()) }
	})
	mustCall(t, c, withIss.MCPURL(), "ping")
	if len(warnings) != 0 {
		t.Errorf("warnings at a server that sends iss: %q", warnings)
	}
}

// TestAbsurdScopeListsRefused (item 3): a scope list of thousands is
// refused as metadata_invalid wherever it comes from, before any
// authorization; a real-sized one (here 1,000) still works.
func TestAbsurdScopeListsRefused(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("s%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		name, want string
		opts       mcpoauthtest.Options
	}{
		{"PRM scopes_supported", "2000 scopes", mcpoauthtest.Options{PRMScopes: many(2000)}},
		{"AS scopes_supported", "2000 scopes", mcpoauthtest.Options{ASScopes: many(2000)}},
		{"challenge scope", "20000 scopes", mcpoauthtest.Options{ChallengeScope: strings.Join(many(20000), " ")}},
		{"PRM of 6,000 values", "more than 4096 values", mcpoauthtest.Options{PRMScopes: many(6000)}},
		{"AS metadata of 6,000 values", "more than 4096 values", mcpoauthtest.Options{ASScopes: many(6000)}},
		{"PRM of 100,000 scopes", "larger than 65536 bytes", mcpoauthtest.Options{PRMScopes: many(100000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			c, ua := newClient(t, s, nil)
			start := time.Now()
			_, _, err := call(t, c, s.MCPURL(), "ping")
			wantCode(t, err, mcpoauth.CodeMetadataInvalid)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if ua.n != 0 || hasPath(s, "/register") {
				t.Errorf("the flow went on after refusing the scope list")
			}
			t.Logf("refused in %v", time.Since(start))
		})
	}
	s := newServer(t, mcpoauthtest.Options{PRMScopes: many(1000)})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	if got := strings.Fields(ua.lastAuthParams(t).Get("scope")); len(got) != 1000 {
		t.Errorf("asked for %d scopes, want the 1,000 listed", len(got))
	}
}
