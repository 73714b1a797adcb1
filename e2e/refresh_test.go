//go:build !js

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// A refresh without the engine (web/refresh.js, refreshplan.go): after a
// reload with an expired access token, the page refreshes from the plan
// the engine stored, without fetching the wasm; answers it cannot read
// exactly as the engine would go to the engine, which still spends the
// refresh token only once.

// signInAndExpire signs in through the engine, then marks the stored
// access token expired by editing localStorage directly (outside any
// lock), and opens a fresh page of the origin (no engine running).
func signInAndExpire(t *testing.T, p *appPage) {
	t.Helper()
	got := eval[string](p, "signing in", `(async () => {
		`+moduleJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		try { await client.authorize(); } catch (e) { return e.code + ': ' + e.message; }
		const { CONTRACT } = await import('/contract.js');
		const key = (kind) => [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds[kind], client.mcpUrl].join(':');
		if (!localStorage.getItem(key('refreshPlan'))) return 'the engine stored no refresh plan';
		const t = JSON.parse(localStorage.getItem(key('tokens')));
		const f = CONTRACT.tokenFields;
		const now = Math.floor(Date.now() / 1000);
		t[f.issuedAt] = now - 4000;
		t[f.expiresAt] = now - 400;
		localStorage.setItem(key('tokens'), JSON.stringify(t));
		return 'ok';
	})()`)
	if got != "ok" {
		t.Fatalf("sign-in: %s", got)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
}

// refreshGrants counts the refresh_token grants the token endpoint saw.
func refreshGrants(s *mcpoauthtest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/token" && r.Form.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

func TestBrowserRefreshWithoutEngine(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	signInAndExpire(t, p)
	type outcome struct {
		Token, Events, EngineRead string
		Started                   bool
	}
	got := eval[outcome](p, "refreshing after a reload, with the wasm unreachable", `(async () => {
		const { load } = await import('/mcp-oauth.js');
		const { engineStats } = await import('/engine.js');
		const api = await load({ wasmUrl: '/no-such.wasm' });
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in'); } });
		const events = [];
		client.addEventListener('progress', (e) => events.push('progress ' + e.detail.step));
		client.addEventListener('tokenchange', (e) => events.push('tokenchange ' + (e.detail && e.detail.access_token ? 'tokens' : 'none')));
		const out = { Events: '', EngineRead: '' };
		try { out.Token = await client.getAccessToken(); } catch (e) { out.Token = 'error ' + e.code + ': ' + e.message; }
		out.Events = events.join(', ');
		out.Started = (await engineStats()) !== null;
		return out;
	})()`)
	if strings.HasPrefix(got.Token, "error") || !p.srv.Issued(got.Token) {
		t.Fatalf("the refresh without the engine failed: %s", got.Token)
	}
	if got.Started {
		t.Errorf("the engine was started for a refresh the plan covers")
	}
	if got.Events != "progress refresh, tokenchange tokens" {
		t.Errorf("events: %q, want the engine's: progress refresh, then tokenchange", got.Events)
	}
	if n := refreshGrants(p.srv); n != 1 {
		t.Errorf("the token endpoint saw %d refresh grants, want 1", n)
	}
	// The engine reads the record refresh.js wrote as its own.
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	engineRead := eval[string](p, "reading the refreshed tokens through the engine", `(async () => {
		const { load } = await import('/mcp-oauth.js');
		const api = await load({ eager: true });
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in'); } });
		const t = await client.storage.getTokens();
		return t ? t.access_token : 'none';
	})()`)
	if engineRead != got.Token {
		t.Errorf("the engine reads access token %q from the record refresh.js wrote, want %q", engineRead, got.Token)
	}
}

func TestBrowserRefreshHandOff(t *testing.T) {
	// expires_in as a string: the engine reads it, refresh.js leaves it to
	// the engine after spending the refresh token.
	p := openAppPage(t, mcpoauthtest.Options{ExpiresInAsString: true}, nil)
	signInAndExpire(t, p)
	type outcome struct {
		Token, Refused, Left string
		Lifetime             int
		Started              bool
	}
	got := eval[outcome](p, "refreshing with an answer refresh.js does not read", `(async () => {
		const { load } = await import('/mcp-oauth.js');
		const { engineStats } = await import('/engine.js');
		const { CONTRACT } = await import('/contract.js');
		const api = await load();
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in'); } });
		const key = (kind) => [CONTRACT.defaultStorageKeyPrefix, CONTRACT.storageKeyVersion, CONTRACT.storageKinds[kind], client.mcpUrl].join(':');
		const f = CONTRACT.tokenFields;
		const out = { Refused: '', Left: '' };
		try { out.Token = await client.getAccessToken(); } catch (e) { out.Token = 'error ' + e.code + ': ' + e.message; }
		out.Started = (await engineStats()) !== null;
		const t = JSON.parse(localStorage.getItem(key('tokens')));
		out.Lifetime = t[f.expiresAt] - t[f.issuedAt];
		// A refresh token the server refuses: the engine drops the tokens.
		t[f.refreshToken] = 'not-a-refresh-token';
		t[f.expiresAt] = t[f.issuedAt] = Math.floor(Date.now() / 1000) - 10;
		localStorage.setItem(key('tokens'), JSON.stringify(t));
		try { await client.getAccessToken(); out.Refused = 'no error'; } catch (e) { out.Refused = e.code; }
		out.Left = [localStorage.getItem(key('tokens')) ? 'tokens' : '', localStorage.getItem(key('refreshPlan')) ? 'plan' : ''].join(' ').trim();
		return out;
	})()`)
	if strings.HasPrefix(got.Token, "error") || !p.srv.Issued(got.Token) {
		t.Fatalf("the refresh failed: %s", got.Token)
	}
	if !got.Started {
		t.Errorf("the answer was not handed to the engine")
	}
	if got.Lifetime != 3600 {
		t.Errorf("stored lifetime %d s, want the engine's reading of \"3600\"", got.Lifetime)
	}
	if n := refreshGrants(p.srv); n != 2 {
		t.Errorf("the token endpoint saw %d refresh grants, want 2 (one per refresh: the engine reads the answer, it does not ask again)", n)
	}
	if got.Refused != "auth_required" || got.Left != "" {
		t.Errorf("a refused refresh token: %s, left in storage %q; want auth_required and nothing left", got.Refused, got.Left)
	}
}

// TestBrowserRefreshAnswersDifferential: over a table of token endpoint
// answers, every answer refresh.js keeps is one the engine keeps, with the
// same record (ReadRefreshAnswer); the rest it leaves to the engine.
func TestBrowserRefreshAnswersDifferential(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	type outcome struct {
		Cases, JSKept, EngineOnly int
		Disagreements             []string
	}
	got := eval[outcome](p, "comparing readings of token answers", `(async () => {
		`+moduleJS+`
		const go = await (await import('/engine.js')).startEngine();
		const { readTokenAnswer, refreshedTokens } = await import('/refresh.js');
		const plan = { issuer: 'https://as.example', client_id: 'c1', url: 'https://as.example/token', header: {}, form: {}, lock: 'l', valid_until: 2e9, progress: {} };
		const prevs = [
			{ access_token: 'old', token_type: 'Bearer', refresh_token: 'r1', issuer: 'https://as.example', client_id: 'c1', resource: 'https://mcp.example/mcp', requested_scope: 'a b', issued_at: 1, expires_at: 2 },
			{ access_token: 'old', token_type: 'Bearer', refresh_token: 'r1', issuer: 'https://as.example', client_id: 'c1' },
		];
		const enc = new TextEncoder();
		const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
		const sortKeys = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
		const values = {
			access_token: ['at-1', '', 'a<b>&c', 'ä', 7, null, ' spaced ', 'x'.repeat(3000), undefined],
			token_type: ['Bearer', 'bearer', 'BEARER', 'DPoP', '', 1, undefined],
			expires_in: [3600, 0, -1, 1.5, '3600', 1e308, 31536000, 31536001, null, true, 'NaN', 3600.0, -0, undefined],
			refresh_token: ['r2', '', null, 5, 'ä', undefined],
			scope: ['a b', '', null, ['a'], 'ä', undefined],
		};
		const extras = [{}, { error: 'invalid_grant' }, { error: '' }, { Access_Token: 'y' }, { id_token: 'e.y.j' }, { nested: {} }, { '\u017fcope': 'x' }, { list: [1] }];
		let seed = 7;
		const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
		const pick = (a) => a[rand(a.length)];
		const answers = [];
		// Each value of each member once, the others the first of theirs.
		for (const [k, vs] of Object.entries(values)) {
			for (const v of vs) {
				const o = Object.fromEntries(Object.entries(values).map(([m, ws]) => [m, ws[0]]));
				if (v === undefined) delete o[k]; else o[k] = v;
				answers.push({ status: 200, ct: 'application/json', bytes: enc.encode(JSON.stringify(o)) });
			}
		}
		for (let i = 0; i < 1000; i++) {
			const o = {};
			for (const [k, vs] of Object.entries(values)) { const v = i < 40 ? vs[0] : pick(vs); if (v !== undefined) o[k] = v; }
			Object.assign(o, i < 40 ? {} : pick(extras));
			let text = JSON.stringify(o);
			const shape = i < 60 ? 0 : rand(8);
			if (shape === 1) text = '\ufeff' + text;
			if (shape === 2) text = ' \n' + text;
			if (shape === 3) text = text.replace('{', '{"access_token":"dup",');
			if (shape === 4) text = '[' + text + ']';
			let bytes = enc.encode(text);
			if (shape === 5) bytes = new Uint8Array([...bytes.slice(0, -1), 0xff, 0x7d]);
			const status = i < 40 ? 200 : pick([200, 200, 200, 200, 400, 401, 302, 500]);
			const ct = i < 40 ? 'application/json' : pick(['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'APPLICATION/JSON', 'text/plain', '', 'application/jwt+json', 'application/json; foo=bar', 'application/json;']);
			answers.push({ status, ct, bytes });
		}
		const out = { Cases: 0, JSKept: 0, EngineOnly: 0, Disagreements: [] };
		const now = 1800000000;
		for (const prev of prevs) {
			for (const a of answers) {
				out.Cases++;
				const tr = readTokenAnswer(a.status, a.ct, a.bytes);
				let engine = null, engineErr = '';
				try { engine = JSON.parse(await go.readRefreshAnswer(JSON.stringify(plan), JSON.stringify(prev), a.status, a.ct, b64(a.bytes), now)); } catch (e) { engineErr = e.code + ': ' + e.message; }
				if (!tr) { if (engine) out.EngineOnly++; continue; }
				out.JSKept++;
				const js = refreshedTokens(prev, plan, tr, now);
				if (!engine || sortKeys(js) !== sortKeys(engine)) {
					out.Disagreements.push(a.status + ' ' + a.ct + ' ' + new TextDecoder().decode(a.bytes).slice(0, 200) + ': JS ' + JSON.stringify(js) + ', engine ' + (engine ? JSON.stringify(engine) : engineErr));
				}
			}
		}
		return out;
	})()`)
	if len(got.Disagreements) > 0 {
		n := min(len(got.Disagreements), 20)
		t.Errorf("%d of %d answers kept by refresh.js are read differently by the engine:\n%s", len(got.Disagreements), got.Cases, strings.Join(got.Disagreements[:n], "\n"))
	}
	if got.Cases < 2000 || got.JSKept < 100 || got.EngineOnly < 100 {
		t.Errorf("%d answers: refresh.js kept %d, left %d that the engine keeps to it; the table no longer exercises both sides", got.Cases, got.JSKept, got.EngineOnly)
	}
	t.Logf("%d answers: refresh.js kept %d (all read as the engine does), left %d that the engine keeps to the engine", got.Cases, got.JSKept, got.EngineOnly)
}
