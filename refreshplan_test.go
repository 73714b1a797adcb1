package mcpoauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// sendPlan sends a RefreshPlan's request with refreshToken, as
// web/refresh.js does, and returns the answer.
func sendPlan(t *testing.T, p *mcpoauth.RefreshPlan, refreshToken string) (int, http.Header, []byte) {
	t.Helper()
	form := url.Values{"refresh_token": {refreshToken}}
	for k, v := range p.Form {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, p.URL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Header {
		req.Header.Set(k, v)
	}
	resp := send(t, req)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func storedPlan(t *testing.T, store *mcpoauth.MemoryStore, mcpURL string) *mcpoauth.RefreshPlan {
	t.Helper()
	raw, ok, _ := store.GetItem(ctx(t), "mcp-oauth:v1:refresh-plan:"+mcpURL)
	if !ok {
		return nil
	}
	var p mcpoauth.RefreshPlan
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("stored plan %s: %v", raw, err)
	}
	return &p
}

// The plan is the engine's own refresh request without the refresh token;
// an answer to it, handed to HandleRefreshAnswer, is kept as the engine
// keeps its own; a refusal drops the tokens and the plan.
func TestRefreshPlan(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	clock := &fakeClock{t: time.Now()}
	store := mcpoauth.NewMemoryStore()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) {
		c.Now = clock.Now
		c.Store = store
		c.RefreshPlans = true
	})
	mustCall(t, c, s.MCPURL(), "ping")
	p := storedPlan(t, store, s.MCPURL())
	if p == nil {
		t.Fatal("no refresh plan stored after the sign-in")
	}
	signedIn, _ := c.Tokens(ctx(t))
	if p.URL != s.URL+"/token" || p.Issuer != signedIn.Issuer || p.ClientID != signedIn.ClientID || p.Resource != signedIn.Resource ||
		p.Lock == "" || p.Progress.Step != mcpoauth.StepRefresh || p.Header["Content-Type"] != "application/x-www-form-urlencoded" {
		t.Errorf("plan %+v does not match the tokens %+v", p, signedIn)
	}
	if want := clock.Now().Add(time.Hour).Unix(); p.ValidUntil < want-5 || p.ValidUntil > want+5 {
		t.Errorf("plan valid until %d, want about discovery + 1 h (%d)", p.ValidUntil, want)
	}

	// The engine's own refresh sends the plan's form plus the refresh token.
	clock.Advance(2 * time.Hour)
	if _, err := c.AccessToken(ctx(t)); err != nil {
		t.Fatal(err)
	}
	forms := formsTo(s, "/token")
	own := forms[len(forms)-1]
	if own.Get("grant_type") != "refresh_token" {
		t.Fatalf("last token request %v is not a refresh", own)
	}
	own.Del("refresh_token")
	for k := range own {
		if own.Get(k) != p.Form[k] {
			t.Errorf("the engine's refresh sends %s=%q, the plan %q", k, own.Get(k), p.Form[k])
		}
	}
	if len(own) != len(p.Form) {
		t.Errorf("the engine's refresh form %v, the plan's %v", own, p.Form)
	}

	// The browser layer sends the plan; the engine reads the answer.
	clock.Advance(2 * time.Hour)
	before, _ := c.Tokens(ctx(t))
	p = storedPlan(t, store, s.MCPURL())
	status, header, body := sendPlan(t, p, before.RefreshToken)
	after, err := c.HandleRefreshAnswer(ctx(t), status, header, body)
	if err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == before.AccessToken || !s.Issued(after.AccessToken) {
		t.Fatalf("HandleRefreshAnswer kept %q", after.AccessToken)
	}
	if stored, _ := c.Tokens(ctx(t)); stored.AccessToken != after.AccessToken {
		t.Fatalf("stored %q, returned %q", stored.AccessToken, after.AccessToken)
	}
	n := countPaths(s, "/token")
	mustCall(t, c, s.MCPURL(), "ping")
	if countPaths(s, "/token") != n {
		t.Errorf("the tokens HandleRefreshAnswer kept were refreshed again")
	}

	// A refusal: the tokens and the plan are gone.
	clock.Advance(2 * time.Hour)
	status, header, body = sendPlan(t, p, "not-a-refresh-token")
	_, err = c.HandleRefreshAnswer(ctx(t), status, header, body)
	wantCode(t, err, mcpoauth.CodeAuthRequired)
	if tok, _ := c.Tokens(ctx(t)); tok != nil {
		t.Errorf("tokens kept after a refused refresh: %+v", tok)
	}
	if storedPlan(t, store, s.MCPURL()) != nil {
		t.Errorf("the plan was kept with the tokens gone")
	}
}

func TestNoRefreshPlanByDefault(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store })
	mustCall(t, c, s.MCPURL(), "ping")
	if storedPlan(t, store, s.MCPURL()) != nil {
		t.Error("a plan was stored without Config.RefreshPlans")
	}
}

// ReadRefreshAnswer: what a refresh answer becomes, as web/refresh.js must
// reproduce it (e2e compares the two over a table).
func TestReadRefreshAnswer(t *testing.T) {
	plan := &mcpoauth.RefreshPlan{Issuer: "https://as", ClientID: "c1", URL: "https://as/token"}
	prev := &mcpoauth.Tokens{AccessToken: "old", TokenType: "Bearer", RefreshToken: "r1", Issuer: "https://as", ClientID: "c1", Resource: "https://mcp/mcp", RequestedScope: "a b"}
	now := time.Unix(1800000000, 0)
	got, err := mcpoauth.ReadRefreshAnswer(plan, prev, 200, "application/json", []byte(`{"access_token":"new","token_type":"bearer","expires_in":"60"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	want := mcpoauth.Tokens{AccessToken: "new", TokenType: "Bearer", RefreshToken: "r1", Scope: "a b", ExpiresAt: 1800000060, IssuedAt: 1800000000,
		Issuer: "https://as", Resource: "https://mcp/mcp", ClientID: "c1", RequestedScope: "a b"}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	_, err = mcpoauth.ReadRefreshAnswer(plan, prev, 400, "application/json", []byte(`{"error":"invalid_grant"}`), now)
	wantCode(t, err, mcpoauth.CodeInvalidGrant)
}
