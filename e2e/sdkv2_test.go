//go:build !js

package e2e

import (
	"context"
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
// (nonces required) and the TypeScript SDK MCP server behind its DPoP
// front: the popup sign-in binds the tokens to the page's WebCrypto key,
// the SDK v2 transport lists the tools through client.fetch (proofs signed
// in JavaScript), and the token copied out of storage is refused as Bearer.
func TestBrowserDPoPPeers(t *testing.T) {
	bundle := bundleSDKv2(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "auto", DPoPNonce: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Stop)
	mcp, err := peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{DPoP: true})
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
}

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
	return sdkV2App{p}
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
