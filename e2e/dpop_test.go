//go:build !js

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestBrowserDPoP: in Chromium against a strict DPoP server (proofs
// checked, nonces required by the authorization server and the MCP server
// each): the sign-in binds the tokens to a non-extractable WebCrypto key
// kept in IndexedDB; client.fetch sends proofs; a copied token is refused
// as Bearer; after a reload the key is still there, and a refresh with an
// expired token carries a proof too; clear() deletes the key.
func TestBrowserDPoP(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{DPoP: true, DPoPNonce: true}, nil)
	const keyJS = `
		const idb = () => new Promise((res, rej) => { const r = indexedDB.open('mcp-oauth-dpop', 1); r.onupgradeneeded = () => r.result.createObjectStore('keys'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
		const storedPair = async (id) => { const db = await idb(); return new Promise((res) => { const q = db.transaction('keys').objectStore('keys').get(id); q.onsuccess = () => res(q.result); }); };
		const ping = async (client) => { const r = await client.fetch(location.origin + '/mcp', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }); return r.status; };`
	type first struct {
		TokenType, Exported string
		Ping, Copied        int
	}
	got := eval[first](p, "signing in with DPoP", `(async () => {
		`+moduleJS+keyJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		const out = {};
		const tokens = await client.authorize();
		out.TokenType = tokens.token_type;
		out.Ping = await ping(client);
		// The token copied out of storage, sent as Bearer.
		out.Copied = (await fetch(location.origin + '/mcp', { method: 'POST', headers: { Authorization: 'Bearer ' + tokens.access_token }, body: '{}' })).status;
		const pair = await storedPair('mcp-oauth:' + client.mcpUrl);
		try { await crypto.subtle.exportKey('jwk', pair.privateKey); out.Exported = 'exported'; } catch (e) { out.Exported = e.name; }
		return out;
	})()`)
	if got.TokenType != "DPoP" || got.Ping != 200 {
		t.Fatalf("sign-in: token_type %q, ping HTTP %d", got.TokenType, got.Ping)
	}
	if got.Copied != 401 {
		t.Errorf("the copied token as Bearer got HTTP %d, want 401", got.Copied)
	}
	if got.Exported != "InvalidAccessError" {
		t.Errorf("exporting the stored private key: %s, want InvalidAccessError", got.Exported)
	}
	// The code exchange and the ping, each after one nonce round.
	if p.srv.DPoPProofs != 2 || p.srv.NonceChallenges != 1 {
		t.Errorf("%d proofs verified, %d nonce challenges from the MCP server; want 2 and 1", p.srv.DPoPProofs, p.srv.NonceChallenges)
	}

	// A reload: the key is still there; an expired token is refreshed with a proof.
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	proofs := p.srv.DPoPProofs
	type second struct {
		Ping, AfterExpiry int
		TokenType, Left   string
	}
	got2 := eval[second](p, "after a reload", `(async () => {
		`+moduleJS+keyJS+`
		const { CONTRACT } = await import('/contract.js');
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no new sign-in expected'); } });
		const out = { Ping: await ping(client) };
		const key = [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds.tokens, client.mcpUrl].join(':');
		const t = JSON.parse(localStorage.getItem(key));
		t.issued_at = Math.floor(Date.now() / 1000) - 3700; t.expires_at = t.issued_at + 3600;
		localStorage.setItem(key, JSON.stringify(t));
		out.AfterExpiry = await ping(client);
		out.TokenType = JSON.parse(localStorage.getItem(key)).token_type;
		await client.clear();
		out.Left = (await storedPair('mcp-oauth:' + client.mcpUrl)) ? 'key kept' : '';
		return out;
	})()`)
	if got2.Ping != 200 || got2.AfterExpiry != 200 || got2.TokenType != "DPoP" {
		t.Errorf("after a reload: ping %d, after expiry %d (%s)", got2.Ping, got2.AfterExpiry, got2.TokenType)
	}
	if p.srv.DPoPProofs < proofs+3 {
		t.Errorf("%d proofs after the reload, want ≥ 3 (ping, refresh, ping)", p.srv.DPoPProofs-proofs)
	}
	if got2.Left != "" {
		t.Errorf("clear() left the DPoP key in IndexedDB")
	}
	var refreshes int
	for _, r := range p.srv.Requests() {
		if r.Path == "/token" && r.Form.Get("grant_type") == "refresh_token" && !strings.HasPrefix(r.Form.Get("refresh_token"), "mcp-oauth-registration-check") {
			refreshes++
		}
	}
	// The reloaded page's engine has no nonce yet: one refusal, then the refresh.
	if refreshes != 2 {
		t.Errorf("%d refresh requests, want 2 (use_dpop_nonce, then with the nonce)", refreshes)
	}
}

// TestBrowserDPoPProofsAgree: the proof client.fetch signs in JavaScript
// (dpop.js) and the engine's (dpop.go) carry the same header and claims
// (jti and iat aside), strip the same query and fragment from htu, hash
// the token the same way, and both verify with the client's public key.
func TestBrowserDPoPProofsAgree(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	type outcome struct{ Problems []string }
	got := eval[outcome](p, "comparing DPoP proofs", `(async () => {
		`+moduleJS+`
		const { dpopKeys, dpopProof } = await import('/dpop.js');
		const keys = dpopKeys('proofs-agree:' + Math.random());
		const host = { storage: { getItem: async () => null, setItem: async () => {}, removeItem: async () => {} }, withLock: (n, fn) => fn(), emit() {}, openAuthorizationUrl() {},
			dpopPublicKey: () => keys.publicJwk(), dpopSign: (b) => keys.sign(b), dpopNewKey: () => keys.renew() };
		const engine = await (await (await import('/engine.js')).startEngine()).newClient(JSON.stringify({ mcpUrl: 'https://mcp.example/mcp', redirectUri: location.origin + '/callback.html' }), host, true);
		const dec = (s) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
		const jwk = JSON.parse(await keys.publicJwk());
		const pub = await crypto.subtle.importKey('jwk', { ...jwk, ext: true }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
		const verifies = async (proof) => {
			const [h, c, s] = proof.split('.');
			const sig = Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
			return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, sig, new TextEncoder().encode(h + '.' + c));
		};
		const problems = [];
		const cases = [
			{ method: 'POST', url: 'https://mcp.example/mcp', accessToken: 'tok-1' },
			{ method: 'GET', url: 'https://mcp.example/mcp/a?x=1#frag', accessToken: 'tok-2' },
			{ method: 'DELETE', url: 'https://mcp.example:8443/', accessToken: 'a<b>&c~!' },
		];
		for (const c of cases) {
			const js = await dpopProof(keys, c);
			const go = JSON.parse(await engine.dpopHeaders(undefined, c.method, c.url, c.accessToken)).dpop;
			const [jh, jc] = js.split('.').slice(0, 2).map(dec);
			const [gh, gc] = go.split('.').slice(0, 2).map(dec);
			const canon = (v) => (v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
			const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b)); // member order aside
			if (!same(jh, gh)) problems.push(c.url + ': headers ' + JSON.stringify(jh) + ' vs ' + JSON.stringify(gh));
			const strip = ({ jti, iat, ...rest }) => Object.fromEntries(Object.entries(rest).sort());
			if (!same(strip(jc), strip(gc))) problems.push(c.url + ': claims ' + JSON.stringify(strip(jc)) + ' vs ' + JSON.stringify(strip(gc)));
			if (Math.abs(jc.iat - gc.iat) > 5 || !jc.jti || !gc.jti || jc.jti === gc.jti) problems.push(c.url + ': iat or jti');
			if (!(await verifies(js)) || !(await verifies(go))) problems.push(c.url + ': a signature does not verify');
		}
		const withNonce = dec((await dpopProof(keys, { method: 'POST', url: 'https://mcp.example/mcp', nonce: 'n-1', accessToken: 't' })).split('.')[1]);
		if (withNonce.nonce !== 'n-1') problems.push('the nonce is not in the JS proof');
		return { Problems: problems };
	})()`)
	if len(got.Problems) > 0 {
		t.Errorf("the JS and engine proofs disagree: %q", got.Problems)
	}
}

// TestBrowserDPoPWithoutEngine: after a reload, a request with a valid
// DPoP-bound token is signed in JavaScript (dpop.js) and never starts the
// engine (a server that asks for a nonce still gets its first 401 answered
// by the engine, which owns that rule).
func TestBrowserDPoPWithoutEngine(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{DPoP: true}, nil)
	signedIn := eval[string](p, "signing in with DPoP", `(async () => {
		`+moduleJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		return (await client.authorize()).token_type;
	})()`)
	if signedIn != "DPoP" {
		t.Fatalf("token_type %q", signedIn)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	proofs := p.srv.DPoPProofs
	type outcome struct {
		Status, Manual, Other int
		Scheme                string
		Started               bool
	}
	got := eval[outcome](p, "a request after a reload", `(async () => {
		const { load } = await import('/mcp-oauth.js');
		const api = await load({ wasmUrl: '/no-such.wasm' });
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in'); } });
		const r = await client.fetch(location.origin + '/mcp', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
		// A request built by hand with authorizationHeaders passes as well.
		const h = await client.authorizationHeaders(location.origin + '/mcp', 'post');
		const r2 = await fetch(location.origin + '/mcp', { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":2,"method":"ping"}' });
		const other = await client.authorizationHeaders('https://elsewhere.example/mcp');
		return { Status: r.status, Manual: r2.status, Other: Object.keys(other).length, Scheme: (h.Authorization || '').split(' ')[0],
			Started: (await (await import('/engine.js')).engineStats()) !== null };
	})()`)
	if got.Status != 200 || got.Started || p.srv.DPoPProofs != proofs+2 {
		t.Errorf("after a reload: HTTP %d, engine started %v, %d proofs verified; want 200, no engine (the wasm is unreachable), 2 proofs", got.Status, got.Started, p.srv.DPoPProofs-proofs)
	}
	if got.Manual != 200 || got.Scheme != "DPoP" || got.Other != 0 {
		t.Errorf("authorizationHeaders: a request built with them got HTTP %d (scheme %q); for another origin %d headers", got.Manual, got.Scheme, got.Other)
	}
}
