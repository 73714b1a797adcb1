package mcpoauth_test

import (
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestSignOutRevokes: sign-out revokes the refresh token, then the access
// token, at the revocation endpoint with the client's authentication,
// forgets them (tokenchange), keeps the registration, and the next call
// signs in again; the revoked refresh token no longer works.
func TestSignOutRevokes(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	clock := &fakeClock{t: time.Now()}
	var changes []*mcpoauth.Tokens
	c, ua := newClient(t, s, func(c *mcpoauth.Config) {
		c.Now = clock.Now
		c.OnTokenChange = func(t *mcpoauth.Tokens) { changes = append(changes, t) }
	})
	mustCall(t, c, s.MCPURL(), "ping")
	before, _ := c.Tokens(ctx(t))
	ci, _ := c.ClientInfo(ctx(t))

	res, err := c.SignOut(ctx(t))
	if err != nil || !res.Revoked || res.Reason != "" {
		t.Fatalf("SignOut = %+v, %v", res, err)
	}
	revoked := formsTo(s, "/revoke")
	if len(revoked) != 2 || revoked[0].Get("token") != before.RefreshToken || revoked[0].Get("token_type_hint") != "refresh_token" ||
		revoked[1].Get("token") != before.AccessToken || revoked[1].Get("client_id") != ci.ClientID {
		t.Fatalf("revocation requests: %v", revoked)
	}
	if tok, _ := c.Tokens(ctx(t)); tok != nil || changes[len(changes)-1] != nil {
		t.Fatalf("tokens after sign-out: %+v (last change %+v)", tok, changes[len(changes)-1])
	}
	if after, _ := c.ClientInfo(ctx(t)); after == nil || after.ClientID != ci.ClientID {
		t.Fatalf("the registration was not kept: %+v", after)
	}
	// The revoked refresh token is refused; the next call signs in again.
	_ = c.SetTokens(ctx(t), before)
	clock.Advance(2 * time.Hour)
	if _, err := c.AccessToken(ctx(t)); mcpoauth.CodeOf(err) != mcpoauth.CodeAuthRequired {
		t.Fatalf("refreshing with the revoked refresh token: %v, want auth_required", err)
	}
	mustCall(t, c, s.MCPURL(), "ping")
	if ua.n != 2 {
		t.Fatalf("%d sign-ins, want a second one after sign-out", ua.n)
	}
}

// TestSignOutWithoutRevocationEndpoint: the tokens are forgotten, and the
// result says they were not revoked and why.
func TestSignOutWithoutRevocationEndpoint(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{NoRevocation: true})
	c, _ := newClient(t, s, nil)
	mustCall(t, c, s.MCPURL(), "ping")
	res, err := c.SignOut(ctx(t))
	if err != nil || res.Revoked || !strings.Contains(res.Reason, "no revocation_endpoint") {
		t.Fatalf("SignOut = %+v, %v", res, err)
	}
	if tok, _ := c.Tokens(ctx(t)); tok != nil {
		t.Fatal("the tokens were not forgotten")
	}
	if res, _ := c.SignOut(ctx(t)); res.Revoked || !strings.Contains(res.Reason, "not signed in") {
		t.Fatalf("second SignOut = %+v", res)
	}
}
