//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// sdkV2Page drives the MCP TypeScript SDK v2 (@modelcontextprotocol/client,
// bundled from examples/) with this module: Connect and Step up are
// buttons, so that their popups open inside a real click.
const sdkV2Page = `<!doctype html><meta charset="utf-8"><title>sdk v2</title>
<button id="connect">Connect</button> <button id="stepup">Step up</button>
<script type="module">
import { load } from '/mcp-oauth.js';
import * as sdk from '/sdk-v2.js';
const q = new URLSearchParams(location.search);
const mcpUrl = q.get('mcp');
const api = await load();
const client = api.createClient({ mcpUrl, redirectUri: location.origin + '/callback.html', mode: 'popup', clientName: 'sdk v2 e2e', dpop: q.get('dpop') || 'auto' });
const done = (what) => () => { window.__done[what] = 'ok'; };
const failed = (what) => (e) => { window.__done[what] = 'error ' + (e.code || e.name) + ': ' + e.message; };
window.__done = {};
window.__client = client;
window.__sdk = sdk;
document.getElementById('connect').onclick = () => client.authorize().then(done('connect'), failed('connect'));
document.getElementById('stepup').onclick = () => client.stepUp({ scope: window.__needScope }).then(done('stepup'), failed('stepup'));
window.__ready = true;
</script>`

// bundleSDKv2 bundles the v2 client with the examples' esbuild.
func bundleSDKv2(t *testing.T) []byte {
	t.Helper()
	installExamples(t)
	examples, _ := filepath.Abs("examples") // tests run from the repository root (main_test.go)
	out := filepath.Join(t.TempDir(), "sdk-v2.js")
	// From stdin, esbuild resolves imports from its working directory.
	cmd := exec.Command(filepath.Join(examples, "node_modules", ".bin", "esbuild"), "--bundle", "--format=esm", "--platform=browser",
		"--outfile="+out, "--log-level=warning")
	cmd.Stdin = strings.NewReader("export { Client, StreamableHTTPClientTransport, InsufficientScopeError } from '@modelcontextprotocol/client';\n")
	cmd.Dir = examples
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bundling @modelcontextprotocol/client: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBrowserSDKv2: the TypeScript SDK v2's StreamableHTTPClientTransport
// with client.authProvider against oidc-provider and the TypeScript SDK MCP
// server, in Chromium: connect after a popup sign-in, a call after the
// access token expired (refreshed, one token request), and a step-up (the
// transport throws InsufficientScopeError; client.stepUp in a click; the
// call again); and the fetch route (client.fetch) with v2 too.
func TestBrowserSDKv2(t *testing.T) {
	bundle := bundleSDKv2(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Stop)
	mcp, err := peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mcp.Stop)

	p := openSDKv2Page(t, bundle, mcp.URL)
	p.click(t, "#connect")
	if got := p.waitDone(t, "connect"); got != "ok" {
		t.Fatalf("sign-in: %s", got)
	}

	type outcome struct{ Tools, Expired, StepUpError, NeedScope, FetchRoute string }
	got := eval[outcome](p.appPage, "v2 with authProvider", `(async () => {
		const { Client, StreamableHTTPClientTransport, InsufficientScopeError } = window.__sdk;
		const client = window.__client;
		const out = {};
		const mcp = new Client({ name: 'e2e-v2', version: '1.0.0' });
		await mcp.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { authProvider: client.authProvider }));
		window.__mcp = mcp;
		out.Tools = (await mcp.listTools()).tools.map((t) => t.name).join(',');
		// The access token expires (edited outside any lock).
		const { CONTRACT } = await import('/contract.js');
		const key = [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds.tokens, client.mcpUrl].join(':');
		const t = JSON.parse(localStorage.getItem(key));
		t[CONTRACT.tokenFields.expiresAt] = Math.floor(Date.now() / 1000) - 10;
		t[CONTRACT.tokenFields.issuedAt] = t[CONTRACT.tokenFields.expiresAt] - 3600;
		localStorage.setItem(key, JSON.stringify(t));
		const echo = await mcp.callTool({ name: 'echo', arguments: { message: 'after expiry' } });
		out.Expired = JSON.stringify(echo.content);
		try {
			await mcp.callTool({ name: 'admin_stats', arguments: {} });
			out.StepUpError = 'no error';
		} catch (e) {
			out.StepUpError = e instanceof InsufficientScopeError ? 'InsufficientScopeError' : String(e);
			window.__needScope = e.requiredScope;
			out.NeedScope = e.requiredScope || '';
		}
		const viaFetch = new Client({ name: 'e2e-v2-fetch', version: '1.0.0' });
		await viaFetch.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { fetch: client.fetch }));
		out.FetchRoute = (await viaFetch.listTools()).tools.map((t) => t.name).join(',');
		await viaFetch.close();
		return out;
	})()`)
	if !strings.Contains(got.Tools, "echo") || !strings.Contains(got.Expired, "after expiry") || !strings.Contains(got.FetchRoute, "echo") {
		t.Fatalf("v2 with authProvider: %+v", got)
	}
	if n := len(as.LogsMatching("grant_type=refresh_token")); n != 1 {
		t.Errorf("the authorization server saw %d refreshes after the token expired, want 1", n)
	}
	if got.StepUpError != "InsufficientScopeError" || !strings.Contains(got.NeedScope, "mcp:admin") {
		t.Fatalf("admin_stats before the step-up: %s (scope %q); want v2's InsufficientScopeError naming mcp:admin", got.StepUpError, got.NeedScope)
	}
	p.click(t, "#stepup")
	if r := p.waitDone(t, "stepup"); r != "ok" {
		t.Fatalf("stepUp: %s", r)
	}
	admin := eval[string](p.appPage, "admin_stats after the step-up", `(async () => {
		const r = await window.__mcp.callTool({ name: 'admin_stats', arguments: {} });
		return JSON.stringify(r.content);
	})()`)
	if !strings.Contains(admin, "mcp:admin") {
		t.Errorf("admin_stats after stepUp: %s", admin)
	}
}

// TestBrowserDPoPPeers: in Chromium, dpop: 'require' against oidc-provider
// (nonces required) and the TypeScript and the Go SDK MCP servers behind
// their DPoP fronts: the popup sign-in binds the tokens to the page's
// WebCrypto key, the SDK v2 transport lists the tools through client.fetch
// (proofs signed in JavaScript), a refresh, a step-up and a reload keep
// working with the same key, and a copy of the stored tokens in another
// browser profile is refused by the MCP server and the token endpoint.
func TestBrowserDPoPPeers(t *testing.T) {
	bundle := bundleSDKv2(t)
	for _, server := range []string{"typescript", "go"} {
		t.Run(server, func(t *testing.T) { checkBrowserDPoPPeers(t, bundle, server) })
	}
}

func checkBrowserDPoPPeers(t *testing.T, bundle []byte, server string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "auto", DPoPNonce: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Stop)
	var mcp *peers.Process
	if server == "go" {
		mcp, err = peers.StartGoMCPServer(ctx, as.URL, peers.GoMCPServerOptions{DPoP: true})
	} else {
		mcp, err = peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{DPoP: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mcp.Stop)
	p := openSDKv2Page(t, bundle, mcp.URL+"&dpop=require")
	p.click(t, "#connect")
	if got := p.waitDone(t, "connect"); got != "ok" {
		t.Fatalf("sign-in: %s", got)
	}
	type outcome struct {
		Tools, TokenType string
		Copied           int
	}
	got := eval[outcome](p.appPage, "tools/list with DPoP", `(async () => {
		const { Client, StreamableHTTPClientTransport } = window.__sdk;
		const client = window.__client;
		const mcp = new Client({ name: 'e2e-dpop', version: '1.0.0' });
		await mcp.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { fetch: client.fetch }));
		const out = { Tools: (await mcp.listTools()).tools.map((t) => t.name).join(',') };
		await mcp.close();
		const { CONTRACT } = await import('/contract.js');
		const key = [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds.tokens, client.mcpUrl].join(':');
		const t = JSON.parse(localStorage.getItem(key));
		out.TokenType = t.token_type;
		out.Copied = (await fetch(client.mcpUrl, { method: 'POST', headers: { Authorization: 'Bearer ' + t.access_token, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
			body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' })).status;
		return out;
	})()`)
	if !strings.Contains(got.Tools, "echo") || got.TokenType != "DPoP" || got.Copied != 401 {
		t.Fatalf("DPoP with the real peers: %+v; want the tools, token_type DPoP, and the copied token refused (401)", got)
	}
	if l := as.LogsMatching("POST /token", "-> 400"); len(l) == 0 {
		t.Errorf("the authorization server never asked for a DPoP nonce")
	}
	refreshed := func() int { return len(as.LogsMatching("grant_type=refresh_token", "-> 200")) }

	// A refresh: the access token expires (edited outside any lock); the
	// next call refreshes with a proof (oidc-provider binds the refresh
	// token of a public client to the key, RFC 9449 §5).
	if got := eval[string](p.appPage, "tools/list after expiry", dpopPeersJS+`return await listTools(true);})()`); !strings.Contains(got, "echo") {
		t.Fatalf("tools/list after the access token expired: %s", got)
	}
	if n := refreshed(); n != 1 {
		t.Fatalf("%d refreshes granted after the token expired, want 1", n)
	}

	// A step-up in a click: the new code exchange carries a proof too.
	_ = eval[bool](p.appPage, "the scope to ask", `window.__needScope = 'mcp:tools mcp:admin'; true`)
	p.click(t, "#stepup")
	if r := p.waitDone(t, "stepup"); r != "ok" {
		t.Fatalf("stepUp with DPoP: %s", r)
	}
	type stepped struct{ Admin, TokenType, Thumbprint string }
	after := eval[stepped](p.appPage, "admin_stats after the step-up", dpopPeersJS+`
		const { Client, StreamableHTTPClientTransport } = window.__sdk;
		const mcp = new Client({ name: 'e2e-dpop-admin', version: '1.0.0' });
		await mcp.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { fetch: client.fetch }));
		const r = await mcp.callTool({ name: 'admin_stats', arguments: {} });
		await mcp.close();
		return { Admin: JSON.stringify(r.content), TokenType: stored().token_type, Thumbprint: await thumbprint() };
	})()`)
	if !strings.Contains(after.Admin, "mcp:admin") || after.TokenType != "DPoP" {
		t.Fatalf("after the step-up with DPoP: %+v", after)
	}

	// A reload: the same key signs; an expired token is refreshed again.
	p.load(t, mcp.URL+"&dpop=require")
	reloaded := eval[stepped](p.appPage, "after a reload", dpopPeersJS+`
		return { Admin: await listTools(true), TokenType: stored().token_type, Thumbprint: await thumbprint() };
	})()`)
	if !strings.Contains(reloaded.Admin, "echo") || reloaded.Thumbprint != after.Thumbprint {
		t.Fatalf("after a reload: %+v; want the tools and the key of before the reload (%s)", reloaded, after.Thumbprint)
	}
	if n := refreshed(); n != 2 {
		t.Fatalf("%d refreshes granted, want 2", n)
	}

	// A second browser context (another profile, a thief's machine) holding
	// a copy of everything in localStorage, but not the key.
	copied := eval[map[string]string](p.appPage, "the stored records", `Object.fromEntries(Object.entries(localStorage))`)
	bctx, cancelB := chromedp.NewContext(p.root, chromedp.WithNewBrowserContext())
	defer cancelB()
	thief, cancelThief := context.WithTimeout(bctx, time.Minute)
	defer cancelThief()
	if _, err := chromedp.Run(thief, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	copiedJSON, _ := json.Marshal(copied)
	type theft struct {
		Bearer, OwnKey, Refresh int
		OwnKeyWhy, RefreshError string
		Module                  string
		SignInAsked             bool
	}
	stolen, err := chromedp.Run(thief, chromedp.Evaluate[theft](`(async () => {
		for (const [k, v] of Object.entries(`+string(copiedJSON)+`)) localStorage.setItem(k, v);
		const { CONTRACT } = await import('/contract.js');
		const { dpopKeys, dpopProof } = await import('/dpop.js');
		const mcpUrl = `+jsString(mcp.URL)+`, tokenUrl = `+jsString(as.URL+"/token")+`;
		const rec = (kind) => JSON.parse(localStorage.getItem([CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, kind, mcpUrl].join(':')));
		const tokens = rec(CONTRACT.storageKinds.tokens);
		const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
		const h = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
		const out = {};
		out.Bearer = (await fetch(mcpUrl, { method: 'POST', headers: { ...h, Authorization: 'Bearer ' + tokens.access_token }, body })).status;
		const keys = dpopKeys('thief'); // a key of this profile's own
		let r = await fetch(mcpUrl, { method: 'POST', body, headers: { ...h, Authorization: 'DPoP ' + tokens.access_token,
			DPoP: await dpopProof(keys, { method: 'POST', url: mcpUrl, accessToken: tokens.access_token }) } });
		out.OwnKey = r.status;
		out.OwnKeyWhy = r.headers.get('WWW-Authenticate') || '';
		const refresh = async (nonce) => fetch(tokenUrl, { method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', DPoP: await dpopProof(keys, { method: 'POST', url: tokenUrl, nonce }) },
			body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens[CONTRACT.tokenFields.clientId], resource: mcpUrl }) });
		r = await refresh();
		let answer = await r.json();
		if (answer.error === 'use_dpop_nonce') { r = await refresh(r.headers.get('DPoP-Nonce')); answer = await r.json(); }
		out.Refresh = r.status;
		out.RefreshError = answer.error || '';
		// The module itself, in the thief's profile: no key, so the copied
		// tokens are worth nothing and it asks for a new sign-in.
		const { load } = await import('/mcp-oauth.js');
		const api = await load();
		const client = api.createClient({ mcpUrl, redirectUri: location.origin + '/callback.html', dpop: 'require',
			mode: async () => { out.SignInAsked = true; throw new Error('sign-in asked'); } });
		try {
			const res = await client.fetch(mcpUrl, { method: 'POST', headers: h, body });
			out.Module = 'HTTP ' + res.status;
		} catch (e) { out.Module = e.code || e.message; }
		return out;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("the copied tokens in another profile: %v", err)
	}
	t.Logf("the copied tokens in another profile: %+v; the server's log: %q", stolen, as.LogsMatching("grant.error"))
	if stolen.Bearer != 401 || stolen.OwnKey != 401 || len(mcp.LogsMatching("-> 401", "without a proof by its key")) == 0 {
		t.Errorf("the copied access token at the MCP server: as Bearer HTTP %d, with a proof by another key HTTP %d (%s); want both refused (401, and the key named in the server's log)", stolen.Bearer, stolen.OwnKey, stolen.OwnKeyWhy)
	}
	if stolen.Refresh != 400 || stolen.RefreshError != "invalid_grant" || len(as.LogsMatching("grant.error", "failed jkt verification")) == 0 {
		t.Errorf("the copied refresh token at the token endpoint: HTTP %d %s; want 400 invalid_grant for the key (failed jkt verification in the server's log)", stolen.Refresh, stolen.RefreshError)
	}
	if !stolen.SignInAsked || stolen.Module == "HTTP 200" {
		t.Errorf("the module with copied tokens and no key: %s, sign-in asked %v; want a new sign-in asked", stolen.Module, stolen.SignInAsked)
	}
	if n := refreshed(); n != 2 {
		t.Errorf("%d refreshes granted after the copies were tried, want still 2", n)
	}

	// The owner's copy still works: the refusals were about the key, not a
	// revoked grant.
	if got := eval[string](p.appPage, "the owner after the theft", dpopPeersJS+`return await listTools(true);})()`); !strings.Contains(got, "echo") {
		t.Fatalf("the owner's tools/list after the theft: %s", got)
	}
	if n := refreshed(); n != 3 {
		t.Errorf("%d refreshes granted, want 3", n)
	}
}

// dpopPeersJS opens an async function in the SDK v2 page: client, stored()
// (the tokens record), thumbprint() (the stored DPoP key's public JWK) and
// listTools(expire) (through client.fetch, after expiring the token).
const dpopPeersJS = `(async () => {
	const client = window.__client;
	const { CONTRACT } = await import('/contract.js');
	const key = [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds.tokens, client.mcpUrl].join(':');
	const stored = () => JSON.parse(localStorage.getItem(key));
	const { dpopKeys } = await import('/dpop.js');
	const thumbprint = async () => dpopKeys(CONTRACT.defaultStorageKeyPrefix + ':' + client.mcpUrl).publicJwk();
	const listTools = async (expire) => {
		if (expire) {
			const t = stored();
			t[CONTRACT.tokenFields.expiresAt] = Math.floor(Date.now() / 1000) - 10;
			t[CONTRACT.tokenFields.issuedAt] = t[CONTRACT.tokenFields.expiresAt] - 3600;
			localStorage.setItem(key, JSON.stringify(t));
		}
		const { Client, StreamableHTTPClientTransport } = window.__sdk;
		const mcp = new Client({ name: 'e2e-dpop-list', version: '1.0.0' });
		await mcp.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { fetch: client.fetch }));
		const names = (await mcp.listTools()).tools.map((t) => t.name).join(',');
		await mcp.close();
		return names;
	};
`

// sdkV2App is the app page of sdkV2Page, served with the v2 bundle.
type sdkV2App struct{ *appPage }

func openSDKv2Page(t *testing.T, bundle []byte, query string) sdkV2App {
	t.Helper()
	p := openAppPage(t, mcpoauthtest.Options{}, func(mux *http.ServeMux) {
		mux.HandleFunc("/v2.html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(sdkV2Page))
		})
		mux.HandleFunc("/sdk-v2.js", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(bundle)
		})
	})
	app := sdkV2App{p}
	app.load(t, query)
	return app
}

// load (re)loads the v2 page with query and waits until it is ready.
func (p sdkV2App) load(t *testing.T, query string) {
	t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/v2.html?mcp="+query)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ready, _ := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.__ready === true`)); ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not get ready")
		}
	}
}

// click clicks sel for real, so that a popup may open.
func (p sdkV2App) click(t *testing.T, sel string) {
	t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatal(err)
	}
}

// waitDone waits for the page's outcome of what ("ok", or the error).
func (p sdkV2App) waitDone(t *testing.T, what string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`String(window.__done?.[`+jsString(what)+`] ?? '')`)); err == nil && v != "" {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not finish", what)
	return ""
}
