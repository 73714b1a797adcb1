package mcpoauth_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// Rule §4.1: resource_metadata from the challenge is used, and nothing else
// is requested for PRM.
func TestDiscoveryUsesResourceMetadataFromChallenge(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{PRM: "header"})
	c, _ := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	if !hasPath(s, "/custom/prm") {
		t.Fatalf("the challenge's resource_metadata was not fetched: %v", s.Paths())
	}
	for _, p := range s.Paths() {
		if strings.Contains(p, "oauth-protected-resource") {
			t.Fatalf("well-known PRM requested although the challenge named one: %v", s.Paths())
		}
	}
}

// Rule §4.1: without the header, the path-suffixed well-known URL, then the
// root one; nothing else.
func TestDiscoveryTriesPathThenRootPRM(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{PRM: "root", ChallengeWithoutPRM: true})
	c, _ := newClient(t, s, nil)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	var prm []string
	for _, p := range s.Paths() {
		if strings.Contains(p, "oauth-protected-resource") {
			prm = append(prm, p)
		}
	}
	want := []string{"GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-protected-resource"}
	if !slices.Equal(prm, want) {
		t.Fatalf("PRM requests = %v, want %v", prm, want)
	}
}

// Rule §4.1: a 2025-03-26 server (no PRM) is its own authorization server:
// its metadata when it has some, else /authorize, /token, /register; the
// canonical MCP URL is the resource.
func TestLegacyFallback(t *testing.T) {
	for _, md := range []string{"oauth", "none"} {
		t.Run("metadata="+md, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{PRM: "none", Metadata: md})
			c, ua := newClient(t, s, nil)
			mustCall(t, c, s.MCPURL(), "ping")
			if got := ua.lastAuthParams(t).Get("resource"); got != s.MCPURL() {
				t.Fatalf("resource = %q, want %q", got, s.MCPURL())
			}
			if !hasPath(s, "/register") || !hasPath(s, "/token") {
				t.Fatalf("default endpoints not used: %v", s.Paths())
			}
		})
	}
}

// Rule §4.2: a PRM naming another resource is refused before any
// authorization request; a same-origin path prefix is accepted.
func TestPRMResourceMustIdentifyServer(t *testing.T) {
	for _, tc := range []struct {
		resource string
		ok       bool
	}{
		{"https://evil.example/mcp", false},
		{"{origin}/mc", false},    // not a segment prefix of /mcp
		{"{origin}/mcp/x", false}, // longer than the MCP path
		{"{origin}", true},
		{"{origin}/", true},
		{"{origin}/mcp", true},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			s.Opts.PRMResource = strings.ReplaceAll(tc.resource, "{origin}", s.URL)
			c, _ := newClient(t, s, nil)
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, mcpoauth.CodeMetadataInvalid)
			if hasPath(s, "/authorize") || hasPath(s, "/register") || hasPath(s, "/.well-known/oauth-authorization-server") {
				t.Fatalf("requests went on after a mismatched resource: %v", s.Paths())
			}
		})
	}
}

// Rule §4.3: metadata URLs in the spec's order for an issuer with a path,
// first success wins.
func TestAuthServerMetadataOrderWithIssuerPath(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{IssuerPath: "/t", Metadata: "openid-suffix"})
	c, _ := newClient(t, s, nil)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Paths() {
		if strings.Contains(p, "openid-configuration") || strings.Contains(p, "oauth-authorization-server") {
			got = append(got, p)
		}
	}
	want := []string{
		"GET /.well-known/oauth-authorization-server/t",
		"GET /.well-known/openid-configuration/t",
		"GET /t/.well-known/openid-configuration",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("metadata requests = %v, want %v", got, want)
	}
}

func TestAuthServerMetadataOrderRootIssuer(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{Metadata: "openid"})
	c, _ := newClient(t, s, nil)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := countPaths(s, "/.well-known/oauth-authorization-server"); n != 1 {
		t.Fatalf("oauth-authorization-server requested %d times, want 1: %v", n, s.Paths())
	}
	if !hasPath(s, "/.well-known/openid-configuration") {
		t.Fatalf("openid-configuration not tried: %v", s.Paths())
	}
}

// Rule §4.3: the document's issuer must equal the issuer exactly.
func TestAuthServerMetadataIssuerMismatch(t *testing.T) {
	for _, bad := range []string{"{issuer}/", "https://evil.example", "{ISSUER}"} {
		t.Run(bad, func(t *testing.T) {
			s := newServer(t, mcpoauthtest.Options{})
			s.Opts.MetadataIssuer = strings.NewReplacer("{issuer}", s.Issuer(), "{ISSUER}", strings.ToUpper(s.Issuer())).Replace(bad)
			c, _ := newClient(t, s, nil)
			_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
			wantCode(t, err, mcpoauth.CodeIssuerMismatch)
			if hasPath(s, "/register") || hasPath(s, "/authorize") {
				t.Fatalf("used a mismatched document: %v", s.Paths())
			}
		})
	}
}

// Discovery and registration results are cached per issuer: a second MCP
// server on the same authorization server skips metadata and registration.
func TestSecondServerReusesIssuerCache(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	c1, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store })
	mustCall(t, c1, s.MCPURL(), "ping")
	before := len(s.Requests())
	c2, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store; c.MCPURL = s.URL + "/mcp?tenant=2" })
	if _, err := c2.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	after := s.Paths()[before:]
	for _, p := range after {
		if strings.Contains(p, "oauth-authorization-server") || strings.HasSuffix(p, "/register") {
			t.Fatalf("second server re-fetched %s: %v", p, after)
		}
	}
}

// A sign-in started by a click (no 401 in hand) asks the server for its
// challenge first: a PRM named only in the header is found, and the
// challenge's scope is used. With fresh cached discovery, nothing is asked.
func TestAuthorizeWithoutChallengeUsesTheServersChallenge(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{PRM: "header", ChallengeScope: "mcp:tools"})
	c, ua := newClient(t, s, nil)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := ua.lastAuthParams(t).Get("scope"); got != "mcp:tools" {
		t.Fatalf("scope = %q, want the challenge's", got)
	}
	before := len(s.Requests())
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Paths()[before:] {
		if p == "POST /mcp" || p == "GET /mcp" || strings.Contains(p, "well-known") || strings.Contains(p, "/custom/prm") {
			t.Fatalf("a second sign-in with fresh discovery asked %s", p)
		}
	}
	if got := ua.lastAuthParams(t).Get("scope"); got != "mcp:tools" {
		t.Fatalf("second scope = %q", got)
	}
}

// Prepare discovers ahead of a sign-in, registers nothing and reports no
// progress (the app did not ask for work); the sign-in then needs no
// discovery request.
func TestPrepareDiscoversAhead(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	var steps []mcpoauth.Step
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.OnProgress = func(p mcpoauth.Progress) { steps = append(steps, p.Step) } })
	if err := c.Prepare(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if hasPath(s, "/register") || !hasPath(s, "/.well-known/oauth-authorization-server") {
		t.Fatalf("Prepare requested %v", s.Paths())
	}
	if len(steps) != 0 {
		t.Fatalf("Prepare reported progress %v", steps)
	}
	before := len(s.Requests())
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Paths()[before:] {
		if strings.Contains(p, "well-known") || strings.HasSuffix(p, " /mcp") {
			t.Fatalf("the sign-in after Prepare still discovered: %s", p)
		}
	}
}

// A sign-in that starts while the background Prepare is still discovering
// joins it: the server's metadata is fetched once.
func TestAuthorizeJoinsDiscoveryInFlight(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	slow := func(req *http.Request) (*http.Response, error) {
		if strings.Contains(req.URL.Path, "oauth-protected-resource") {
			time.Sleep(300 * time.Millisecond)
		}
		if testFetch != nil {
			return testFetch(req)
		}
		return http.DefaultTransport.RoundTrip(req)
	}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Fetch = slow })
	prepared := make(chan error, 1)
	go func() { prepared <- c.Prepare(ctx(t)) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-prepared; err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server"} {
		if n := countPaths(s, path); n != 1 {
			t.Errorf("%s fetched %d times, want once", path, n)
		}
	}
	if n := countPaths(s, "/mcp"); n != 1 {
		t.Errorf("the MCP server was probed %d times, want once", n)
	}
}

// A server that names its metadata only in the 401 to a real request
// (its GET answers 405): background preparation finds none, and caches no
// guess (it would be the 2025-03-26 fallback, the MCP origin as the
// authorization server); the sign-in the 401 starts then finds the real
// one, and a later Prepare does not overwrite it. (The conformance suite's
// auth/metadata-var3 failed once on this race in the browser.)
func TestPrepareCachesNoGuess(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{PRM: "header"})
	getIs405 := func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodGet && req.URL.Path == "/mcp" {
			return &http.Response{StatusCode: http.StatusMethodNotAllowed, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
		}
		if testFetch != nil {
			return testFetch(req)
		}
		return http.DefaultTransport.RoundTrip(req)
	}
	store := mcpoauth.NewMemoryStore()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Fetch = getIs405; c.Store = store })
	if err := c.Prepare(ctx(t)); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if keys, _ := store.Keys(ctx(t)); len(keys) != 0 {
		t.Fatalf("Prepare cached a guess: %v", keys)
	}
	mustCall(t, c, s.MCPURL(), "ping") // POST: 401 with the metadata's URL, then the sign-in
	if err := c.Prepare(ctx(t)); err != nil {
		t.Fatal(err)
	}
	tok, _ := c.Tokens(ctx(t))
	if tok == nil || tok.Issuer != s.Issuer() {
		t.Fatalf("tokens %+v, want them from %s", tok, s.Issuer())
	}
	if _, err := c.AccessToken(ctx(t)); err != nil {
		t.Fatalf("after Prepare the tokens are refused: %v", err)
	}
}
