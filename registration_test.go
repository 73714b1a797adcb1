package mcpoauth_test

import (
	"encoding/json"
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// registrationBody returns the JSON body of the last registration request.
func registrationBody(t *testing.T, s *mcpoauthtest.Server) map[string]any {
	t.Helper()
	var body map[string]any
	for _, r := range s.Requests() {
		if r.Path == "/register" {
			body = r.JSON
		}
	}
	if body == nil {
		t.Fatalf("no registration request: %v", s.Paths())
	}
	return body
}

// Rule §4.5: DCR sends RFC 7591 metadata with application_type, public
// client, both grant types; the registration is kept under the issuer.
func TestDynamicClientRegistration(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	c, ua := newClient(t, s, func(c *mcpoauth.Config) {
		c.Store = store
		c.ClientName = "Inspector"
		c.AdditionalClientMetadata = map[string]any{"software_id": "x-1"}
	})
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	body := registrationBody(t, s)
	want := map[string]any{
		"client_name": "Inspector", "application_type": "native", "token_endpoint_auth_method": "none", "software_id": "x-1",
	}
	for k, v := range want {
		if body[k] != v {
			t.Fatalf("registration %s = %v, want %v (body %v)", k, body[k], v, body)
		}
	}
	if gt, _ := json.Marshal(body["grant_types"]); string(gt) != `["authorization_code","refresh_token"]` {
		t.Fatalf("grant_types = %s", gt)
	}
	if ru, _ := json.Marshal(body["redirect_uris"]); string(ru) != `["`+redirectURI+`"]` {
		t.Fatalf("redirect_uris = %s", ru)
	}
	ci, err := c.ClientInfo(ctx(t))
	if err != nil || ci == nil || ci.Issuer != s.Issuer() || ua.lastAuthParams(t).Get("client_id") != ci.ClientID {
		t.Fatalf("registration not stored under the issuer: %+v, %v", ci, err)
	}
	// A second authorization reuses it (after checking it is still known).
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := countPaths(s, "/register"); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}
}

func TestApplicationTypeWebForHTTPSRedirect(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.RedirectURI = "https://app.example/callback.html" })
	_, _ = c.BeginAuthorization(ctx(t), mcpoauth.AuthorizeOptions{})
	body := registrationBody(t, s)
	if body["application_type"] != "web" {
		t.Fatalf("application_type = %v, want web", body["application_type"])
	}
}

// Rule §4.5: a pre-registered client skips registration and authenticates
// as the server advertises; CIMD uses the document URL as client_id.
func TestStaticAndCIMDClients(t *testing.T) {
	t.Run("static basic", func(t *testing.T) {
		s := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{"static-1": "s3cret"}})
		c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.ClientID = "static-1"; c.ClientSecret = "s3cret" })
		mustCall(t, c, s.MCPURL(), "ping")
		if hasPath(s, "/register") || ua.lastAuthParams(t).Get("client_id") != "static-1" {
			t.Fatalf("static client not used: %v", s.Paths())
		}
		tok := s.Requests()
		for _, r := range tok {
			if r.Path == "/token" && (r.Header.Get("Authorization") == "" || r.Form.Has("client_secret")) {
				t.Fatalf("client_secret_basic expected: %v %v", r.Header, r.Form)
			}
		}
	})
	t.Run("static post", func(t *testing.T) {
		s := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{"static-1": "s3cret"}, StaticAuthMethod: "client_secret_post", AuthMethods: []string{"client_secret_post"}})
		c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.ClientID = "static-1"; c.ClientSecret = "s3cret" })
		mustCall(t, c, s.MCPURL(), "ping")
		f := formsTo(s, "/token")[0]
		if f.Get("client_secret") != "s3cret" || f.Get("client_id") != "static-1" {
			t.Fatalf("client_secret_post expected: %v", f)
		}
	})
	t.Run("cimd", func(t *testing.T) {
		s := newServer(t, mcpoauthtest.Options{CIMD: true})
		c, ua := newClient(t, s, func(c *mcpoauth.Config) { c.ClientMetadataURL = "https://app.example/client.json" })
		mustCall(t, c, s.MCPURL(), "ping")
		if hasPath(s, "/register") || ua.lastAuthParams(t).Get("client_id") != "https://app.example/client.json" {
			t.Fatalf("CIMD not used: %v", s.Paths())
		}
	})
	t.Run("cimd unsupported falls back to DCR", func(t *testing.T) {
		s := newServer(t, mcpoauthtest.Options{})
		c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.ClientMetadataURL = "https://app.example/client.json" })
		mustCall(t, c, s.MCPURL(), "ping")
		if !hasPath(s, "/register") {
			t.Fatal("no DCR although CIMD is unsupported")
		}
	})
	t.Run("nothing possible", func(t *testing.T) {
		s := newServer(t, mcpoauthtest.Options{NoRegistration: true})
		c, ua := newClient(t, s, nil)
		_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
		wantCode(t, err, mcpoauth.CodeRegistrationUnsupported)
		if ua.n != 0 {
			t.Fatal("authorization page opened without a client")
		}
	})
}

// Rule §4.5: registrations are per issuer, never reused for another.
func TestRegistrationsArePerIssuer(t *testing.T) {
	a := newServer(t, mcpoauthtest.Options{})
	b := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	ca, _ := newClient(t, a, func(c *mcpoauth.Config) { c.Store = store })
	cb, uab := newClient(t, b, func(c *mcpoauth.Config) { c.Store = store })
	mustCall(t, ca, a.MCPURL(), "ping")
	mustCall(t, cb, b.MCPURL(), "ping")
	if !hasPath(b, "/register") {
		t.Fatal("server B got no registration: A's was reused")
	}
	ia, _ := ca.ClientInfo(ctx(t))
	ib, _ := cb.ClientInfo(ctx(t))
	if ia.Issuer == ib.Issuer || uab.lastAuthParams(t).Get("client_id") != ib.ClientID {
		t.Fatalf("registrations mixed: %+v %+v", ia, ib)
	}
}

// §1 ClientNotFoundError: the server forgot the client. The engine finds
// out before opening the page and registers again, once.
func TestStaleRegistrationIsReplacedBeforeThePage(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	first, _ := c.ClientInfo(ctx(t))
	s.ForgetClients()
	s.ExpireAccessTokens()
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	second, _ := c.ClientInfo(ctx(t))
	if n := countPaths(s, "/register"); n != 2 || first.ClientID == second.ClientID {
		t.Fatalf("registrations = %d, ids %s/%s", n, first.ClientID, second.ClientID)
	}
	if ua.n != 2 {
		t.Fatalf("%d pages opened, want 2 (no page for the stale client)", ua.n)
	}
	if strings.Contains(ua.urls[1], "client_id="+first.ClientID+"&") {
		t.Fatal("the page was opened with the stale client")
	}
}

// §1: invalid_client at the code exchange drops the registration and
// retries once with a fresh one; static credentials are never dropped.
func TestClientNotFoundAtExchangeRetriesOnce(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	c, ua := newClient(t, s, nil)
	forgetOnce := true
	ua.tamper = func(cb string) string {
		if forgetOnce {
			forgetOnce = false
			s.ForgetClients()
		}
		return cb
	}
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := countPaths(s, "/register"); n != 2 || ua.n != 2 {
		t.Fatalf("registrations %d, pages %d; want 2 and 2", n, ua.n)
	}

	st := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{"static-1": ""}})
	cs, uas := newClient(t, st, func(c *mcpoauth.Config) { c.ClientID = "static-1" })
	uas.tamper = func(cb string) string { st.ForgetClient("static-1"); return cb }
	_, err := cs.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeClientNotFound)
	if uas.n != 1 || hasPath(st, "/register") {
		t.Fatalf("static credentials were retried or replaced: pages %d, %v", uas.n, st.Paths())
	}
}

// A step-up keeps its client where the authorization server allows a
// wider scope than the one registered: no second registration.
func TestStepUpKeepsItsClient(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{ChallengeScope: "mcp:tools", StepUpScope: "mcp:admin"})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	first, _ := c.Tokens(ctx(t))
	mustCall(t, c, s.MCPURL(), "admin")
	after, _ := c.Tokens(ctx(t))
	if n := countPaths(s, "/register"); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}
	if first.ClientID != after.ClientID || ua.n != 2 {
		t.Fatalf("client %s → %s, %d authorizations; want the same client, 2 authorizations", first.ClientID, after.ClientID, ua.n)
	}
	if got := ua.lastAuthParams(t).Get("scope"); got != "mcp:tools mcp:admin" {
		t.Fatalf("step-up scope = %q", got)
	}
}

// A server that refuses scopes outside the registered ones (RFC 7591 §2)
// answers the step-up with invalid_scope: the client registers again for
// the union and the step-up succeeds in the same call.
func TestStepUpRegistersAgainWhenTheScopeIsRefused(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{ChallengeScope: "mcp:tools", StepUpScope: "mcp:admin", EnforceRegisteredScope: true})
	c, ua := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	first, _ := c.Tokens(ctx(t))
	out := mustCall(t, c, s.MCPURL(), "admin")
	if res, _ := out["result"].(map[string]any); res["scope"] != "mcp:tools mcp:admin" {
		t.Fatalf("the step-up call did not succeed: %v", out)
	}
	after, _ := c.Tokens(ctx(t))
	if n := countPaths(s, "/register"); n != 2 || first.ClientID == after.ClientID {
		t.Fatalf("%d registrations, client %s → %s; want a second registration", n, first.ClientID, after.ClientID)
	}
	if got := registrationBody(t, s)["scope"]; got != "mcp:tools mcp:admin" {
		t.Fatalf("second registration scope = %v, want the union", got)
	}
	if ua.n != 3 {
		t.Fatalf("%d authorizations, want 3 (sign-in, the refused step-up, the step-up)", ua.n)
	}
	mustCall(t, c, s.MCPURL(), "admin")
	if n := countPaths(s, "/register"); n != 2 {
		t.Fatalf("%d registrations after another call, want 2", n)
	}
}
