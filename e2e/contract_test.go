//go:build !js

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestBrowserContract: the values the browser layer shares with the engine
// agree at run time, and the JavaScript readings of them match the
// engine's. It fails when one side drifts:
//   - the contract the running wasm exports differs from web/contract.js
//     (a stale build, or a hand-edited contract.js);
//   - the version of the JS API differs from the engine's;
//   - the JS freshness rule (records.js) disagrees with Tokens.FreshAt on
//     any of a table of tokens and clocks;
//   - the fast path cannot find or read the records the engine wrote (a
//     storage key, a token field or the issuer's place changed on one
//     side): a returning user's token must come from storage with the
//     wasm unreachable, and must not once the issuer record names another
//     server.
func TestBrowserContract(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	type outcome struct {
		SameContract  bool
		JSVersion     string
		GoVersion     string
		Disagreements []string
		Cases         int
		SignedIn      string
	}
	got := eval[outcome](p, "comparing the contract and the freshness rule", `(async () => {
		`+moduleJS+`
		const { CONTRACT } = await import('/contract.js');
		const { freshToken } = await import('/records.js');
		const go = await (await import('/engine.js')).startEngine();
		const out = { SameContract: JSON.stringify(JSON.parse(await go.contract())) === JSON.stringify(CONTRACT),
			JSVersion: api.version, GoVersion: go.version, Disagreements: [], Cases: 0, SignedIn: '' };
		const f = CONTRACT.tokenFields;
		const now = 1800000000;
		for (const lifetime of [0, 1, 2, 10, 59, 60, 61, 119, 120, 3600]) {
			for (const issuedAgo of [-5, 0, 1, 30, 59, 60, 3599, 3600, 4000]) {
				for (const withIat of [true, false]) {
					const t = { [f.accessToken]: 'x', [f.tokenType]: 'Bearer', [f.issuer]: 'https://as' };
					if (lifetime) t[f.expiresAt] = now - issuedAgo + lifetime;
					if (withIat) t[f.issuedAt] = now - issuedAgo;
					const js = freshToken(t, now);
					const engine = await go.tokensFresh(JSON.stringify(t), now);
					out.Cases++;
					if (js !== engine) out.Disagreements.push(JSON.stringify(t) + ': JS ' + js + ', engine ' + engine);
				}
			}
		}
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		try { await client.authorize(); out.SignedIn = 'yes'; } catch (e) { out.SignedIn = e.code + ': ' + e.message; }
		return out;
	})()`)
	if !got.SameContract {
		t.Errorf("the running wasm's contract differs from web/contract.js: rebuild (./build.sh) or regenerate (./build.sh generate)")
	}
	if got.JSVersion != got.GoVersion || got.JSVersion == "" {
		t.Errorf("JS API version %q, engine %q", got.JSVersion, got.GoVersion)
	}
	if got.Cases < 100 || len(got.Disagreements) > 0 {
		t.Errorf("freshness: %d cases, JS and engine disagree on %d: %s", got.Cases, len(got.Disagreements), strings.Join(got.Disagreements, "\n"))
	}
	if got.SignedIn != "yes" {
		t.Fatalf("sign-in: %s", got.SignedIn)
	}

	// A returning user, with the wasm unreachable: the fast path must read
	// the engine's records on its own.
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	type fastPath struct{ Token, AfterIssuerChange string }
	fp := eval[fastPath](p, "reading the engine's records without the wasm", `(async () => {
		const { load } = await import('/mcp-oauth.js');
		const { CONTRACT } = await import('/contract.js');
		const api = await load({ wasmUrl: '/no-such.wasm' });
		const mcpUrl = location.origin + '/mcp';
		const out = {};
		const client = api.createClient({ mcpUrl, redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in'); } });
		try { out.Token = await client.getAccessToken(); } catch (e) { out.Token = 'error ' + e.code + ': ' + e.message; }
		// The discovery record now names another authorization server.
		const key = [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds.resource, mcpUrl].join(':');
		const rec = JSON.parse(localStorage.getItem(key));
		let o = rec;
		for (const k of CONTRACT.resourceIssuerPath.slice(0, -1)) o = o[k];
		o[CONTRACT.resourceIssuerPath.at(-1)] = 'https://another.example';
		localStorage.setItem(key, JSON.stringify(rec));
		try { out.AfterIssuerChange = 'token ' + (await client.getAccessToken()).length; } catch (e) { out.AfterIssuerChange = 'error ' + e.code + ': ' + e.message; }
		return out;
	})()`)
	if strings.HasPrefix(fp.Token, "error") || !p.srv.Issued(fp.Token) {
		t.Errorf("a returning user's token did not come from storage without the wasm: %s", fp.Token)
	}
	// The fast path refused the token and asked the engine, whose wasm is
	// not there.
	if !strings.HasPrefix(fp.AfterIssuerChange, "error network_error") || !strings.Contains(fp.AfterIssuerChange, "no-such.wasm") {
		t.Errorf("after the issuer changed: %s; want the fast path to refuse the token and load the engine", fp.AfterIssuerChange)
	}
}
