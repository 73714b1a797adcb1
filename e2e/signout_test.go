//go:build !js

package e2e

import (
	"testing"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestBrowserSignOut: client.signOut() in the page revokes the tokens at
// the authorization server (the refresh token, then the access token),
// forgets them with a tokenchange of null, and getAccessToken() then says
// auth_required.
func TestBrowserSignOut(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	type outcome struct {
		Result       struct{ Revoked bool }
		Changes      []bool // tokenchange details: non-null?
		AfterSignOut string
	}
	got := eval[outcome](p, "signing in and out", `(async () => {
		`+moduleJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		const changes = [];
		client.addEventListener('tokenchange', (e) => changes.push(e.detail !== null));
		await client.authorize();
		const result = await client.signOut();
		let after = 'token';
		try { await client.getAccessToken(); } catch (e) { after = e.code; }
		return { Result: result, Changes: changes, AfterSignOut: after };
	})()`)
	if !got.Result.Revoked || got.AfterSignOut != "auth_required" || len(got.Changes) < 2 || got.Changes[len(got.Changes)-1] {
		t.Errorf("sign-out: %+v; want revoked, tokenchange(null) last, then auth_required", got)
	}
	var hints []string
	for _, r := range p.srv.Requests() {
		if r.Path == "/revoke" {
			hints = append(hints, r.Form.Get("token_type_hint"))
		}
	}
	if len(hints) != 2 || hints[0] != "refresh_token" || hints[1] != "access_token" {
		t.Errorf("revocation requests with hints %v, want refresh_token then access_token", hints)
	}
}
