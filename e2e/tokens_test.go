//go:build !js

package e2e

// Tokens after the sign-in: both MCP servers, reload, refresh after expiry,
// a stale registration, two tabs sharing one refresh.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// traceRefreshLock makes the page log (console, "[trace]") when it asks
// for, gets and releases a Web Lock, and which refresh token (its last 4
// characters) each read and write of a tokens record carries.
func (b *browserRun) traceRefreshLock() {
	b.t.Helper()
	b.evaluate("tracing Web Locks and tokens records", `(() => {
		const tag = `+jsString(b.name)+`;
		const now = () => (performance.timeOrigin + performance.now()).toFixed(1);
		const log = (what) => console.log('[trace] ' + tag + ' ' + now() + ' ' + what);
		const request = navigator.locks.request.bind(navigator.locks);
		navigator.locks.request = (name, ...args) => {
			const fn = args[args.length - 1];
			log('lock requested: ' + name);
			args[args.length - 1] = async (lock) => {
				log('lock granted');
				try { return await fn(lock); } finally { log('lock released'); }
			};
			return request(name, ...args);
		};
		const rt = (v) => { try { const r = JSON.parse(v).refresh_token; return r ? '…' + r.slice(-4) : 'none'; } catch { return 'unreadable'; } };
		const get = Storage.prototype.getItem, set = Storage.prototype.setItem;
		Storage.prototype.getItem = function (k) { const v = get.call(this, k); if (k.includes(':tokens:')) log('read tokens: refresh token ' + (v === null ? 'none (no record)' : rt(v))); return v; };
		Storage.prototype.setItem = function (k, v) { if (k.includes(':tokens:')) log('wrote tokens: refresh token ' + rt(v)); return set.call(this, k, v); };
	})()`)
}

// waitTokensExpired waits until tok's access token has expired, plus a
// second: the authorization server's clock counts from its own issue time.
func waitTokensExpired(t *testing.T, tok storedTokens) {
	t.Helper()
	if tok.ExpiresAt == 0 {
		t.Fatal("the token has no expires_at")
	}
	if life := tok.ExpiresAt - tok.IssuedAt; life > 10 {
		t.Fatalf("the token lives %d s: the demo's -access-token-ttl did not reach the authorization server", life)
	}
	time.Sleep(time.Until(time.Unix(tok.ExpiresAt+1, 0)))
}

// ---- scenarios ----

// TestBrowserBothMCPServers: the popup sign-in against the MCP server on the
// official TypeScript SDK and then the one on the official Go SDK
// (peers/gomcp) behind the same authorization server; the TypeScript SDK
// client in the page lists the tools of each and calls echo; on the Go
// server admin_stats steps up through the SDK's auth middleware and the
// server's 403.
func TestBrowserBothMCPServers(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t, "-go-mcp")
	if demo.GoMCPURL == "" || demo.GoMCPURL == demo.MCPURL {
		t.Fatalf("/demo/config.json's goMcpUrl is %q with -go-mcp", demo.GoMCPURL)
	}
	b := startBrowser(t, demo)

	b.openDemo("popup")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	if s := b.text("#status"); !strings.Contains(s, "mcp-oauth-wasm-test-server") {
		t.Errorf("status reads %q, want the TypeScript SDK server's name", s)
	}
	tsTok := b.checkTokensFor(demo.MCPURL)
	b.callTool("#call-echo", "Hello from the browser")
	demo.waitLog(t, 1, 5*time.Second, tsMCPLog+"POST /mcp rpc=tools/list", "auth=bearer", "-> 200")

	// The Go SDK server: the same authorization server, so the registration
	// is reused and the login remembered; the new resource needs consent.
	regs := demo.countLog(asLog+"POST /reg ", "-> 201")
	b.openDemoAt(demo.URL+"?mcp=go", demo.GoMCPURL)
	b.waitStatus("Not connected", 10*time.Second) // no token for it yet
	b.clickAndSignInPopup("#connect", false)
	b.waitConnected()
	if s := b.text("#status"); !strings.Contains(s, "mcp-oauth-wasm-go-test-server") {
		t.Errorf("status reads %q, want the Go SDK server's name", s)
	}
	goTok := b.checkTokensFor(demo.GoMCPURL)
	if goTok.AccessToken == tsTok.AccessToken {
		t.Error("the Go server got the TypeScript server's token (tokens are per resource)")
	}
	if n := demo.countLog(asLog+"POST /reg ", "-> 201"); n != regs {
		t.Errorf("signing in to the second server registered %d more clients, want the registration of the same issuer reused", n-regs)
	}
	got := b.callTool("#call-echo", "Hello from the browser")
	if got != "echo: Hello from the browser" {
		t.Errorf("echo on the Go server = %q", got)
	}
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/list", "auth=bearer", "-> 200")
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(echo)", "auth=bearer", "-> 200")
	for _, l := range demo.logLines(goMCPLog) {
		if goTok.AccessToken != "" && strings.Contains(l, goTok.AccessToken) {
			t.Error("the Go server's log shows the access token")
		}
	}

	// Step-up on the Go server.
	b.clickAndSignInPopup("#call-admin", false)
	got = b.waitResult("mcp:admin")
	if !strings.HasPrefix(got, "admin_stats: ") {
		t.Errorf("admin_stats result = %q", got)
	}
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(admin_stats)", "-> 403", "error=insufficient_scope")
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(admin_stats)", "mcp:admin", "-> 200")
	if after := b.checkTokensFor(demo.GoMCPURL); !strings.Contains(" "+after.Scope+" ", " mcp:admin ") {
		t.Errorf("after the step-up the Go server's token has scope %q, want mcp:admin in it", after.Scope)
	}
	if tok, ok := b.storedTokensFor(demo.MCPURL); !ok || tok.AccessToken != tsTok.AccessToken {
		t.Error("signing in to the Go server changed or removed the TypeScript server's tokens")
	}
}

// TestBrowserReloadReusesTokens: after a popup sign-in a reload connects
// with the stored tokens: no authorization request, no token request, no
// popup, the same tokens.
func TestBrowserReloadReusesTokens(t *testing.T) {
	demo, b := openDemo(t, "popup")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	before := b.checkTokens()
	auths := demo.countLog(asLog + "GET /auth ")
	tokenRequests := demo.countLog(asLog + "POST /token ")
	inits := demo.countLog(tsMCPLog+"POST /mcp rpc=initialize", "auth=bearer", "-> 200")
	popups := b.popups.Load()
	if auths != 1 {
		t.Fatalf("the sign-in made %d authorization requests, want 1", auths)
	}

	b.do("reloading the demo page", chromedp.Reload())
	b.waitConnected()
	demo.waitLog(t, inits+1, 10*time.Second, tsMCPLog+"POST /mcp rpc=initialize", "auth=bearer", "-> 200")
	b.callTool("#call-echo", "Hello from the browser")
	after := b.checkTokens()
	if after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken {
		t.Error("the reload changed the stored tokens, want them reused")
	}
	if n := demo.countLog(asLog + "GET /auth "); n != auths {
		t.Errorf("the reload made %d authorization requests, want none", n-auths)
	}
	if n := demo.countLog(asLog + "POST /token "); n != tokenRequests {
		t.Errorf("the reload made %d token requests, want none", n-tokenRequests)
	}
	if n := b.popups.Load(); n != popups {
		t.Errorf("the reload opened %d windows, want none", n-popups)
	}
}

// TestBrowserRefreshAfterExpiry: with 4 s access tokens, a tool call after
// the token expired refreshes it (with resource, as RFC 8707 and the MCP spec
// ask), stores the rotated refresh token and succeeds without a popup.
func TestBrowserRefreshAfterExpiry(t *testing.T) {
	demo, b := openDemo(t, "popup", "-access-token-ttl", "4s")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	before := b.checkTokens()
	if before.RefreshToken == "" {
		t.Fatal("the sign-in stored no refresh token")
	}
	waitTokensExpired(t, before)

	const refreshGrant = asLog + "POST /token grant_type=refresh_token"
	refreshes := demo.countLog(refreshGrant)
	auths := demo.countLog(asLog + "GET /auth ")
	popups := b.popups.Load()
	b.callTool("#call-echo", "Hello from the browser")

	lines := demo.logLines(refreshGrant)[refreshes:]
	if len(lines) != 1 {
		t.Fatalf("the call after expiry made %d refresh requests, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "resource=yes") || !strings.Contains(lines[0], "-> 200") {
		t.Errorf("the refresh request was not a successful one with resource: %s", lines[0])
	}
	after := b.checkTokens()
	if after.RefreshToken == "" || after.RefreshToken == before.RefreshToken {
		t.Error("the stored refresh token did not change: the rotated one was not stored")
	}
	if after.AccessToken == before.AccessToken || after.ExpiresAt <= before.ExpiresAt {
		t.Error("the stored access token was not replaced by a newer one")
	}
	if n := demo.countLog(asLog + "GET /auth "); n != auths {
		t.Errorf("the refresh made %d authorization requests, want none", n-auths)
	}
	if n := b.popups.Load(); n != popups {
		t.Errorf("the refresh opened %d windows, want none", n-popups)
	}
	if !strings.Contains(b.text("#progress"), "Token refresh") {
		t.Errorf("the progress list does not show the refresh:\n%s", b.text("#progress"))
	}
}

// TestBrowserStaleRegistration: the authorization server restarts and
// forgets every client. With its tokens gone, Connect finds the stored
// registration stale (invalid_client at the token endpoint), registers once
// more and signs in, without the user clearing anything.
func TestBrowserStaleRegistration(t *testing.T) {
	demo, b := openDemo(t, "popup", "-test-hooks")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	first := b.checkTokens()
	const registration = asLog + "POST /reg "
	if n := demo.countLog(registration, "-> 201"); n != 1 {
		t.Fatalf("the first sign-in registered %d clients, want 1", n)
	}

	demo.restartAuthServer(t)
	b.removeTokensRecord(demo.MCPURL)
	if !b.hasStorageKey("mcp-oauth:v1:client:" + demo.Issuer) {
		t.Fatal("the registration is no longer stored: the scenario needs the stale one")
	}
	b.openDemoAt(demo.URL, demo.MCPURL) // the page reads storage again: no token
	b.waitStatus("Not connected", 10*time.Second)
	b.clickAndSignInPopup("#connect", true) // the new server knows no session either
	b.waitConnected()
	second := b.checkTokens()

	if n := demo.countLog(registration, "-> 201"); n != 2 {
		t.Errorf("POST /reg succeeded %d times in all, want 2 (exactly one new registration)", n)
	}
	if n := demo.countLog(registration); n != 2 {
		t.Errorf("POST /reg was sent %d times in all, want 2", n)
	}
	if second.ClientID == "" || second.ClientID == first.ClientID {
		t.Errorf("the new tokens are for client %q, want a new registration (the old one was %q)", second.ClientID, first.ClientID)
	}
	if n := demo.countLog(asLog+"POST /token grant_type=refresh_token", "error=invalid_client"); n < 1 {
		t.Error("the token endpoint was never asked about the stored registration (no invalid_client answer logged)")
	}
	b.callTool("#call-echo", "Hello from the browser")
}

// TestBrowserTwoTabsOneRefresh: two tabs of one browser share localStorage.
// When the stored access token has expired and both call a tool at the same
// moment, the Web Lock lets exactly one refresh reach the authorization
// server (oidc-provider rotates refresh tokens and revokes the grant when
// one is spent twice); both calls succeed and both tabs end with the new
// token.
func TestBrowserTwoTabsOneRefresh(t *testing.T) {
	demo, b := openDemo(t, "popup", "-access-token-ttl", "4s")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()

	tab2 := b.openTab("tab 2")
	tab2.openDemoAt(demo.URL, demo.MCPURL)
	tab2.waitConnected() // with the stored token, without signing in
	before := b.checkTokens()
	waitTokensExpired(t, before)

	const refreshGrant = asLog + "POST /token grant_type=refresh_token"
	refreshes := demo.countLog(refreshGrant)
	echoes := demo.countLog(tsMCPLog+"POST /mcp rpc=tools/call(echo)", "-> 200")
	popups := b.popups.Load()
	// On failure the console shows each tab's Web Lock and tokens-record
	// timeline.
	b.traceRefreshLock()
	tab2.traceRefreshLock()
	// Both tabs click Call echo on the same millisecond, from their own timers.
	at := time.Now().Add(500 * time.Millisecond).UnixMilli()
	for _, tab := range []*browserRun{b, tab2} {
		tab.evaluate("scheduling the echo call", fmt.Sprintf(`document.getElementById('result').hidden = true,
			setTimeout(() => document.getElementById('call-echo').click(), Math.max(0, %d - Date.now()))`, at))
	}
	for _, tab := range []*browserRun{b, tab2} {
		if got := tab.waitResultWithin("Hello from the browser", 20*time.Second); got != "echo: Hello from the browser" {
			t.Errorf("%s: echo result %q", tab.name, got)
		}
	}

	lines := demo.logLines(refreshGrant)[refreshes:]
	if len(lines) != 1 {
		t.Errorf("the two tabs made %d refresh requests, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if bad := demo.logLines(asLog, "error=invalid_grant"); len(bad) > 0 {
		t.Errorf("the authorization server refused a grant (a refresh token spent twice?):\n%s", strings.Join(bad, "\n"))
	}
	demo.waitLog(t, echoes+2, 5*time.Second, tsMCPLog+"POST /mcp rpc=tools/call(echo)", "-> 200")
	if n := b.popups.Load(); n != popups {
		t.Errorf("%d windows opened, want none", n-popups)
	}
	after := b.checkTokens()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("the stored tokens were not replaced by the refreshed ones")
	}
	if tok2, _ := tab2.storedTokensFor(demo.MCPURL); tok2 != after {
		t.Error("the two tabs read different tokens records")
	}
	// What each page shows: the same expiry, the new one.
	exp1 := b.waitJS(5*time.Second, "reading tab 1's token expiry", `document.getElementById('token-expiry').textContent`)
	if exp2 := tab2.waitJS(5*time.Second, "reading tab 2's token expiry", `document.getElementById('token-expiry').textContent`); exp1 != exp2 {
		t.Errorf("tab 1 shows the token expiring %q, tab 2 %q: want the same, new token", exp1, exp2)
	}
}
