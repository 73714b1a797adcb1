package e2e

// End-to-end tests of the engine against the REAL peer servers in peers/:
// an oidc-provider authorization server and an MCP server built on the
// official TypeScript SDK (see peers/README.md). They need node and the
// peers' npm packages (installed on first use with `npm ci`); without node
// they fail, on purpose: CI must not pass them by skipping.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/dpopkey"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

const peersRedirectURI = "http://127.0.0.1:9/callback"

// ---------------------------------------------------------------- harness ---

// peersRequireNode fails the test (never skips it) when node is missing.
func peersRequireNode(t *testing.T) {
	t.Helper()
	if _, err := peers.NodePath(); err != nil {
		t.Fatalf("these end-to-end tests run the real peer servers and need Node.js >= 20 on PATH: %v", err)
	}
}

// peersStartAuthServer starts authserver.mjs, stops it when the test ends, and
// dumps its logs if the test failed.
func peersStartAuthServer(t *testing.T, opts peers.AuthServerOptions) *peers.Process {
	t.Helper()
	peersRequireNode(t)
	p, err := peers.StartAuthServer(t.Context(), opts)
	if err != nil {
		t.Fatalf("starting the authorization server: %v", err)
	}
	peersStopAndDump(t, p)
	return p
}

func peersStartMCPServer(t *testing.T, issuer string, opts peers.MCPServerOptions) *peers.Process {
	t.Helper()
	peersRequireNode(t)
	p, err := peers.StartMCPServer(t.Context(), issuer, opts)
	if err != nil {
		t.Fatalf("starting the MCP server: %v", err)
	}
	peersStopAndDump(t, p)
	return p
}

func peersStopAndDump(t *testing.T, p *peers.Process) {
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("----- %s (%s, pid %d) stdout -----\n%s", p.Name, p.URL, p.PID(), strings.Join(p.Logs(), "\n"))
			if s := p.Stderr(); len(s) > 0 {
				t.Logf("----- %s stderr -----\n%s", p.Name, strings.Join(s, "\n"))
			}
		}
	})
}

// peersCountingUA counts how often the authorization page is opened.
type peersCountingUA struct {
	ua mcpoauth.UserAgent
	n  atomic.Int32
}

func (c *peersCountingUA) OpenAuthorizationURL(ctx context.Context, req *mcpoauth.AuthorizationRequest) (string, error) {
	c.n.Add(1)
	return c.ua.OpenAuthorizationURL(ctx, req)
}

func newPeersCountingUA() *peersCountingUA {
	return &peersCountingUA{ua: &mcpoauthtest.HeadlessUserAgent{}}
}

func newPeersClient(t *testing.T, cfg mcpoauth.Config) *mcpoauth.Client {
	t.Helper()
	if cfg.RedirectURI == "" {
		cfg.RedirectURI = peersRedirectURI
	}
	if cfg.UserAgent == nil {
		cfg.UserAgent = &mcpoauthtest.HeadlessUserAgent{}
	}
	c, err := mcpoauth.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// peersConnect opens an MCP session and checks the tools.
func peersConnect(t *testing.T, ctx context.Context, client *mcpoauth.Client, url string) *mcpoauthtest.MCPSession {
	t.Helper()
	s := mcpoauthtest.NewMCPSession(client.Transport(nil), url)
	if err := s.Initialize(ctx); err != nil {
		t.Fatalf("MCP initialize through the engine: %v", err)
	}
	if s.SessionID == "" {
		t.Fatal("initialize: the server returned no Mcp-Session-Id")
	}
	names, err := s.ListTools(ctx)
	if err != nil {
		t.Fatalf("MCP tools/list: %v", err)
	}
	if !slices.Contains(names, "echo") || !slices.Contains(names, "admin_stats") {
		t.Fatalf("tools/list = %v; want echo and admin_stats", names)
	}
	return s
}

func peersHasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// -------------------------------------------------------------------- tests ---

// a. First connect: 401 → discovery → DCR → authorize → token, then MCP.
func TestPeersFirstConnect(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	mcp := peersStartMCPServer(t, as.URL, peers.MCPServerOptions{})

	ua := newPeersCountingUA()
	var steps []mcpoauth.Step
	client := newPeersClient(t, mcpoauth.Config{
		MCPURL:     mcp.URL,
		UserAgent:  ua,
		OnProgress: func(p mcpoauth.Progress) { steps = append(steps, p.Step) },
	})
	before := time.Now()
	s := peersConnect(t, ctx, client, mcp.URL)

	out, err := s.CallTool(ctx, "echo", map[string]any{"message": "hello peers"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "hello peers") {
		t.Errorf("echo returned %q; want it to contain the message", out)
	}

	tok, err := client.Tokens(ctx)
	if err != nil || tok == nil {
		t.Fatalf("client.Tokens = %v, %v; want the stored tokens", tok, err)
	}
	if tok.Issuer != as.URL {
		t.Errorf("tokens.Issuer = %q; want the AS issuer %q", tok.Issuer, as.URL)
	}
	if tok.Resource != mcp.URL {
		t.Errorf("tokens.Resource = %q; want the MCP URL %q", tok.Resource, mcp.URL)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token stored")
	}
	// ExpiresAt is absolute: about now + 3600 s (the AS default).
	if exp := time.Unix(tok.ExpiresAt, 0); !exp.After(before.Add(3000*time.Second)) || exp.After(time.Now().Add(3700*time.Second)) {
		t.Errorf("tokens.ExpiresAt = %v (%d); want an absolute time about an hour from now", exp, tok.ExpiresAt)
	}
	if !peersHasScope(tok.Scope, "mcp:tools") || !peersHasScope(tok.RequestedScope, "mcp:tools") {
		t.Errorf("tokens scope %q / requested %q; want mcp:tools in both", tok.Scope, tok.RequestedScope)
	}
	if tok.TokenType != "Bearer" || tok.AccessToken == "" {
		t.Errorf("tokens type %q, access token empty=%v", tok.TokenType, tok.AccessToken == "")
	}
	ci, err := client.ClientInfo(ctx)
	if err != nil || ci == nil || ci.ClientID == "" || ci.ClientID != tok.ClientID || ci.Issuer != as.URL {
		t.Errorf("client.ClientInfo = %+v, %v; want the registration at %s that holds the tokens (%q)", ci, err, as.URL, tok.ClientID)
	}
	if n := ua.n.Load(); n != 1 {
		t.Errorf("the authorization page was opened %d times; want 1", n)
	}
	for _, want := range []mcpoauth.Step{mcpoauth.StepRegistration, mcpoauth.StepAuthorization, mcpoauth.StepToken} {
		if !slices.Contains(steps, want) {
			t.Errorf("progress steps %v lack %q", steps, want)
		}
	}

	// What the servers saw, in order.
	if l := mcp.LogsMatching("POST /mcp", "rpc=initialize", "auth=none", "-> 401"); len(l) != 1 {
		t.Errorf("MCP log: want one unauthenticated initialize answered 401, got %q", l)
	}
	if l := mcp.LogsMatching("GET /.well-known/oauth-protected-resource/mcp", "-> 200"); len(l) == 0 {
		t.Error("MCP log: the protected resource metadata was never fetched")
	}
	if l := as.LogsMatching("GET /.well-known/oauth-authorization-server", "-> 200"); len(l) == 0 {
		t.Error("AS log: the authorization server metadata was never fetched")
	}
	if l := as.LogsMatching("POST /reg ", "-> 201"); len(l) != 1 {
		t.Errorf("AS log: want exactly one registration, got %q", l)
	}
	auth := as.LogsMatching("GET /auth ", "client_id="+fmt.Sprintf("%q", tok.ClientID), `code_challenge_method="S256"`, `resource="`+mcp.URL+`"`)
	if len(auth) != 1 {
		t.Errorf("AS log: want one /auth request with S256 and resource=%s, got %q", mcp.URL, auth)
	}
	if l := as.LogsMatching("POST /token", "grant_type=authorization_code", "resource=yes", "client_id="+tok.ClientID, "-> 200"); len(l) != 1 {
		t.Errorf("AS log: want one code exchange with resource, got %q", l)
	}
	if _, err := mcp.WaitForLog(ctx, 2*time.Second, "rpc=tools/list", "client_id="+tok.ClientID, "-> 200"); err != nil {
		t.Errorf("MCP log: tools/list with the registered client's token: %v", err)
	}
}

// b. Step-up: admin_stats answers 403 insufficient_scope, the engine
// re-authorizes with the union of scopes (with its client first; with a
// new registration when oidc-provider refuses that client the wider
// scope), and the call goes through.
func TestPeersStepUp(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	mcp := peersStartMCPServer(t, as.URL, peers.MCPServerOptions{})

	ua := newPeersCountingUA()
	client := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, UserAgent: ua})
	s := peersConnect(t, ctx, client, mcp.URL)

	first, err := client.Tokens(ctx)
	if err != nil || first == nil {
		t.Fatalf("tokens after peersConnect: %v, %v", first, err)
	}
	if peersHasScope(first.Scope, "mcp:admin") {
		t.Fatalf("the first token already has mcp:admin (scope %q); the step-up would not be tested", first.Scope)
	}

	out, err := s.CallTool(ctx, "admin_stats", nil)
	if err != nil {
		t.Fatalf("admin_stats after step-up: %v", err)
	}
	if !strings.Contains(out, "mcp:admin") {
		t.Errorf("admin_stats = %q; want stats listing the token's scopes, mcp:admin among them", out)
	}

	tok, err := client.Tokens(ctx)
	if err != nil || tok == nil {
		t.Fatalf("tokens after step-up: %v, %v", tok, err)
	}
	if !peersHasScope(tok.RequestedScope, "mcp:tools") || !peersHasScope(tok.RequestedScope, "mcp:admin") {
		t.Errorf("RequestedScope after step-up = %q; want the union, mcp:tools and mcp:admin", tok.RequestedScope)
	}
	if !peersHasScope(tok.Scope, "mcp:admin") || !peersHasScope(tok.Scope, "mcp:tools") {
		t.Errorf("granted Scope after step-up = %q; want mcp:tools and mcp:admin", tok.Scope)
	}
	if tok.AccessToken == first.AccessToken {
		t.Error("the access token did not change after the step-up")
	}
	// oidc-provider refuses a scope outside the client's registered one
	// (RFC 7591 §2): the step-up first asks with the same client, gets
	// invalid_scope back at once, registers again for the union, and asks
	// once more (TestStepUpKeepsItsClient covers a server that allows it).
	if n := ua.n.Load(); n != 3 {
		t.Errorf("the authorization page was opened %d times; want 3 (peersConnect, the step-up refused for the first client, the step-up)", n)
	}
	if tok.ClientID == first.ClientID {
		t.Errorf("the step-up kept client %s, which oidc-provider refused the wider scope", first.ClientID)
	}
	// The first tools/call was refused at the HTTP layer, the second passed.
	if l := mcp.LogsMatching("rpc=tools/call(admin_stats)", "-> 403", "error=insufficient_scope"); len(l) != 1 {
		t.Errorf("MCP log: want one admin_stats refused with 403 insufficient_scope, got %q", l)
	}
	if _, err := mcp.WaitForLog(ctx, 2*time.Second, "rpc=tools/call(admin_stats)", "mcp:admin", "-> 200"); err != nil {
		t.Error(err)
	}
	auths := as.LogsMatching("GET /auth ")
	if len(auths) != 3 || !strings.Contains(auths[2], "mcp:admin") || !strings.Contains(auths[2], "mcp:tools") ||
		!strings.Contains(auths[1], "client_id=\""+first.ClientID) || !strings.Contains(auths[2], "client_id=\""+tok.ClientID) {
		t.Errorf("AS log: want the step-up's /auth for mcp:tools and mcp:admin with the first client, then with the new one, got %q", auths)
	}
	// The first registration was limited to the first scopes (RFC 7591 §2),
	// so the refused step-up registers once more for the union.
	if l := as.LogsMatching("POST /reg "); len(l) != 2 {
		t.Errorf("AS log: want a second registration for the wider scope; registrations: %q", l)
	}
	if ci, _ := client.ClientInfo(ctx); ci == nil || !peersHasScope(ci.Scope, "mcp:admin") {
		t.Errorf("stored registration scope = %+v; want it to cover mcp:admin", ci)
	}

	// The stepped-up token works for ordinary calls too.
	if _, err := s.CallTool(ctx, "echo", map[string]any{"message": "after step-up"}); err != nil {
		t.Fatal(err)
	}
}

// c. Refresh: a 2 s access token expires; the next call refreshes with the
// resource, the refresh token rotates, and no new authorization happens.
func TestPeersRefresh(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto", AccessTokenTTL: 2 * time.Second})
	mcp := peersStartMCPServer(t, as.URL, peers.MCPServerOptions{})

	ua := newPeersCountingUA()
	client := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, UserAgent: ua, RefreshSkew: time.Second})
	s := peersConnect(t, ctx, client, mcp.URL)

	before, err := client.Tokens(ctx)
	if err != nil || before == nil || before.RefreshToken == "" {
		t.Fatalf("tokens after peersConnect: %+v, %v; want a refresh token", before, err)
	}
	if left := time.Until(time.Unix(before.ExpiresAt, 0)); left > 3*time.Second {
		t.Fatalf("the access token lives %s; the AS was started with a 2 s TTL", left)
	}
	refreshes := len(as.LogsMatching("POST /token", "grant_type=refresh_token"))

	// Past expiry, for the engine (1 s skew) and for the AS.
	time.Sleep(time.Until(time.Unix(before.ExpiresAt, 0)) + 500*time.Millisecond)

	if _, err := s.CallTool(ctx, "echo", map[string]any{"message": "after expiry"}); err != nil {
		t.Fatalf("echo after the access token expired: %v", err)
	}
	after, err := client.Tokens(ctx)
	if err != nil || after == nil {
		t.Fatalf("tokens after refresh: %v, %v", after, err)
	}
	grants := as.LogsMatching("POST /token", "grant_type=refresh_token")
	if len(grants) <= refreshes {
		t.Fatalf("AS log: no refresh_token grant after the access token expired; /token lines: %q", as.LogsMatching("POST /token"))
	}
	for _, l := range grants {
		if !strings.Contains(l, "resource=yes") {
			t.Errorf("AS log: a refresh request carried no resource (RFC 8707 §2.2): %q", l)
		}
		if !strings.Contains(l, "-> 200") {
			t.Errorf("AS log: a refresh request failed: %q", l)
		}
	}
	if after.RefreshToken == "" || after.RefreshToken == before.RefreshToken {
		t.Error("the refresh token did not rotate (the AS rotates on every refresh)")
	}
	if after.AccessToken == before.AccessToken {
		t.Error("the access token did not change")
	}
	if !time.Unix(after.ExpiresAt, 0).After(time.Now()) {
		t.Errorf("the refreshed token's ExpiresAt %d is not in the future", after.ExpiresAt)
	}
	if after.Resource != mcp.URL || after.Issuer != as.URL || after.ClientID != before.ClientID {
		t.Errorf("refreshed tokens lost their binding: resource %q issuer %q client %q", after.Resource, after.Issuer, after.ClientID)
	}
	if !peersHasScope(after.RequestedScope, "mcp:tools") {
		t.Errorf("refreshed tokens' RequestedScope = %q", after.RequestedScope)
	}
	if n := ua.n.Load(); n != 1 {
		t.Errorf("the authorization page was opened %d times; a refresh must not re-authorize", n)
	}
	if l := as.LogsMatching("GET /auth "); len(l) != 1 {
		t.Errorf("AS log: want one authorization in total, got %q", l)
	}
	if l := as.LogsMatching("error=invalid_grant"); len(l) != 0 {
		t.Errorf("AS log: a refresh token was reused: %q", l)
	}
}

// peersRestartAuthServer stops as and starts a fresh one on the same port: same
// issuer, empty memory.
func peersRestartAuthServer(t *testing.T, as *peers.Process) *peers.Process {
	t.Helper()
	port := as.Port()
	as.Stop()
	as2 := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto", Port: port})
	if as2.URL != as.URL {
		t.Fatalf("the restarted AS has issuer %q; want the same issuer %q", as2.URL, as.URL)
	}
	return as2
}

// d. Stale registration: the AS restarts and forgets the client. A new
// authorization with the stored registration probes the token endpoint
// first, sees invalid_client, registers again once, and succeeds.
func TestPeersStaleRegistration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as1 := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	// The MCP server only caches the AS's endpoint URLs (opaque tokens are
	// introspected on every request), which the restart keeps.
	mcp := peersStartMCPServer(t, as1.URL, peers.MCPServerOptions{})

	store := mcpoauth.NewMemoryStore()
	client1 := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, Store: store})
	peersConnect(t, ctx, client1, mcp.URL)
	ci1, err := client1.ClientInfo(ctx)
	if err != nil || ci1 == nil {
		t.Fatalf("no registration stored after the first peersConnect: %v", err)
	}

	as2 := peersRestartAuthServer(t, as1)

	// A fresh Client over the same store reuses the stored registration.
	ua := newPeersCountingUA()
	var warnings []string
	client2 := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, Store: store, UserAgent: ua,
		OnWarning: func(e *mcpoauth.Error) { warnings = append(warnings, string(e.Code)+": "+e.Message) }})
	tok, err := client2.Authorize(ctx, mcpoauth.AuthorizeOptions{})
	if err != nil {
		t.Fatalf("Authorize after the AS forgot the client: %v", err)
	}
	ci2, err := client2.ClientInfo(ctx)
	if err != nil || ci2 == nil {
		t.Fatalf("no registration stored after re-authorizing: %v", err)
	}
	if ci2.ClientID == ci1.ClientID {
		t.Errorf("the client_id is still %q; want a new registration", ci1.ClientID)
	}
	if tok.ClientID != ci2.ClientID || tok.Issuer != as2.URL || tok.Resource != mcp.URL {
		t.Errorf("new tokens: client %q issuer %q resource %q; want %q, %q, %q", tok.ClientID, tok.Issuer, tok.Resource, ci2.ClientID, as2.URL, mcp.URL)
	}
	regs := len(as1.LogsMatching("POST /reg ", "-> 201")) + len(as2.LogsMatching("POST /reg ", "-> 201"))
	if regs != 2 {
		t.Errorf("registrations in total = %d; want 2 (one per AS run)", regs)
	}
	// The probe found the stale client before the page was opened: the
	// page was opened once, and never showed an invalid_client error.
	if n := ua.n.Load(); n != 1 {
		t.Errorf("the authorization page was opened %d times; want 1", n)
	}
	logs := as2.Logs()
	probe := slices.IndexFunc(logs, func(l string) bool {
		return strings.Contains(l, "POST /token") && strings.Contains(l, "error=invalid_client")
	})
	reg := slices.IndexFunc(logs, func(l string) bool { return strings.Contains(l, "POST /reg ") })
	auth := slices.IndexFunc(logs, func(l string) bool { return strings.Contains(l, "GET /auth ") })
	if probe < 0 || reg < probe || auth < reg {
		t.Errorf("AS log: want token-endpoint probe (invalid_client), then POST /reg, then GET /auth; got probe@%d reg@%d auth@%d", probe, reg, auth)
	}
	if l := as2.LogsMatching("GET /auth ", ci1.ClientID); len(l) != 0 {
		t.Errorf("AS log: the stale client was sent to the authorization page: %q", l)
	}
	if len(warnings) == 0 {
		t.Error("no OnWarning about the stale registration")
	}

	// And the MCP server accepts the new tokens.
	peersConnect(t, ctx, client2, mcp.URL)
}

// d'. Stale registration found by the refresh instead: the old tokens are
// refused (401), the refresh gets invalid_client, the registration is
// dropped, and one new authorization with a new registration follows.
func TestPeersStaleRegistrationOnRefresh(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as1 := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	mcp := peersStartMCPServer(t, as1.URL, peers.MCPServerOptions{})

	ua := newPeersCountingUA()
	client := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, UserAgent: ua})
	peersConnect(t, ctx, client, mcp.URL)
	ci1, _ := client.ClientInfo(ctx)
	if ci1 == nil {
		t.Fatal("no registration after peersConnect")
	}

	as2 := peersRestartAuthServer(t, as1)
	peersConnect(t, ctx, client, mcp.URL)

	ci2, _ := client.ClientInfo(ctx)
	if ci2 == nil || ci2.ClientID == ci1.ClientID {
		t.Errorf("registration after the restart = %+v; want a new client_id (old %q)", ci2, ci1.ClientID)
	}
	if l := as2.LogsMatching("POST /token", "grant_type=refresh_token", "error=invalid_client"); len(l) != 1 {
		t.Errorf("AS log: want one refused refresh (invalid_client), got %q", as2.LogsMatching("POST /token"))
	}
	if regs := len(as1.LogsMatching("POST /reg ")) + len(as2.LogsMatching("POST /reg ")); regs != 2 {
		t.Errorf("registrations in total = %d; want 2", regs)
	}
	if n := ua.n.Load(); n != 2 {
		t.Errorf("the authorization page was opened %d times; want 2 (one per AS run)", n)
	}
}

// e. CheckIfAuthRequired against the real MCP server, a plain server and a
// closed port.
func TestPeersCheckIfAuthRequired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	mcp := peersStartMCPServer(t, as.URL, peers.MCPServerOptions{})

	if got, err := mcpoauth.CheckIfAuthRequired(ctx, nil, mcp.URL, nil); err != nil || !got {
		t.Errorf("CheckIfAuthRequired(MCP server) = %v, %v; want true", got, err)
	}

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer plain.Close()
	if got, err := mcpoauth.CheckIfAuthRequired(ctx, nil, plain.URL+"/mcp", nil); err != nil || got {
		t.Errorf("CheckIfAuthRequired(plain 200 server) = %v, %v; want false", got, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/mcp"
	l.Close()
	got, err := mcpoauth.CheckIfAuthRequired(ctx, nil, closed, nil)
	if code := mcpoauth.CodeOf(err); code != mcpoauth.CodeNetworkError {
		t.Errorf("CheckIfAuthRequired(closed port) = %v, %v (code %q); want a network_error", got, err, code)
	}
}

// TestPeersSignOut: against oidc-provider with revocation enabled, sign-out
// revokes the refresh token and the access token (RFC 7009, with the
// client's authentication); afterwards the token endpoint refuses the old
// refresh token, and the next call asks the user again.
func TestPeersSignOut(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto"})
	mcp := peersStartMCPServer(t, as.URL, peers.MCPServerOptions{})
	ua := newPeersCountingUA()
	client := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, UserAgent: ua})
	peersConnect(t, ctx, client, mcp.URL)
	before, err := client.Tokens(ctx)
	if err != nil || before == nil || before.RefreshToken == "" {
		t.Fatalf("tokens: %+v, %v; want a refresh token", before, err)
	}

	res, err := client.SignOut(ctx)
	if err != nil || !res.Revoked {
		t.Fatalf("SignOut = %+v, %v", res, err)
	}
	// The server logs a request after answering it: wait for both lines.
	revocations := as.LogsMatching("POST /token/revocation", "-> 200")
	for deadline := time.Now().Add(3 * time.Second); len(revocations) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		revocations = as.LogsMatching("POST /token/revocation", "-> 200")
	}
	if len(revocations) != 2 {
		t.Errorf("AS log: want two revocations answered 200, got %q (all: %q)", revocations, as.LogsMatching("revocation"))
	}
	// The old refresh token, straight at the token endpoint: refused.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.RefreshToken}, "client_id": {before.ClientID}, "resource": {before.Resource}}
	resp, err := http.PostForm(as.URL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_grant") {
		t.Errorf("the revoked refresh token: HTTP %d %s, want 400 invalid_grant", resp.StatusCode, body)
	}
	// The next call asks the user again.
	peersConnect(t, ctx, client, mcp.URL)
	if n := ua.n.Load(); n != 2 {
		t.Errorf("the authorization page was opened %d times, want 2 (sign-in, then again after sign-out)", n)
	}
}

// e. DPoP against the real peers: oidc-provider binds the tokens to the
// engine's key (its DPoP support is on by default; nonces required here),
// and the TypeScript and the Go SDK MCP servers behind their DPoP fronts
// (peers/mcpserver.mjs with jose, peers/gomcp with
// mcpoauthtest.VerifyDPoPProof; the introspected cnf.jkt must match the
// proof's key) serve tools/list and a refresh, and refuse the bound token
// sent as Bearer.
func TestPeersDPoP(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"typescript", "go"} {
		t.Run(server, func(t *testing.T) {
			ctx := t.Context()
			as := peersStartAuthServer(t, peers.AuthServerOptions{Interactions: "auto", AccessTokenTTL: 2 * time.Second, DPoPNonce: true})
			var mcp *peers.Process
			if server == "go" {
				p, err := peers.StartGoMCPServer(ctx, as.URL, peers.GoMCPServerOptions{DPoP: true})
				if err != nil {
					t.Fatal(err)
				}
				peersStopAndDump(t, p)
				mcp = p
			} else {
				mcp = peersStartMCPServer(t, as.URL, peers.MCPServerOptions{DPoP: true})
			}
			checkPeersDPoP(t, ctx, as, mcp)
		})
	}
}

func checkPeersDPoP(t *testing.T, ctx context.Context, as, mcp *peers.Process) {
	t.Helper()
	key, err := dpopkey.New()
	if err != nil {
		t.Fatal(err)
	}
	client := newPeersClient(t, mcpoauth.Config{MCPURL: mcp.URL, DPoP: mcpoauth.DPoPRequire, DPoPKey: key})
	s := peersConnect(t, ctx, client, mcp.URL)
	tok, err := client.Tokens(ctx)
	if err != nil || tok == nil || tok.TokenType != "DPoP" {
		t.Fatalf("tokens %+v, %v; want DPoP-bound tokens", tok, err)
	}
	// The copied token, as Bearer.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, mcp.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the DPoP-bound token sent as Bearer got HTTP %d, want 401", resp.StatusCode)
	}
	// After the access token expires: a refresh with a proof, then tools/list.
	time.Sleep(3 * time.Second)
	if _, err := s.ListTools(ctx); err != nil {
		t.Fatalf("tools/list after the access token expired: %v", err)
	}
	after, _ := client.Tokens(ctx)
	if after.AccessToken == tok.AccessToken || after.TokenType != "DPoP" {
		t.Errorf("after expiry: %s token, changed %v; want a refreshed DPoP token", after.TokenType, after.AccessToken != tok.AccessToken)
	}
	if l := as.LogsMatching("POST /token", "-> 400"); len(l) == 0 {
		t.Errorf("AS log: no token request was answered use_dpop_nonce (HTTP 400); the nonce path went untested")
	}
}
