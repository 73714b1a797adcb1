//go:build !js

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// Cancellation: an AbortSignal reaches every call that works, and ends it
// at once, whatever is in flight (a request, a lock wait, a mode function).

// TestBrowserAbortEndsSignInAtOnce: authorize({signal}) rejects with
// aborted at once when the signal aborts, in every phase: while discovery
// waits on a slow server (whose request is cancelled), while a mode
// function ignores the signal (as chrome.identity.launchWebAuthFlow does),
// and before anything starts when the signal is already aborted.
func TestBrowserAbortEndsSignInAtOnce(t *testing.T) {
	cancelled := make(chan time.Time, 4)
	p := openAppPage(t, mcpoauthtest.Options{}, func(mux *http.ServeMux) {
		mux.HandleFunc("/slow/mcp", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
				cancelled <- time.Now()
			case <-time.After(10 * time.Second):
				w.WriteHeader(http.StatusUnauthorized)
			}
		})
	})
	type outcome struct {
		Code          string
		Ms            float64
		Windows       int
		PopupClosed   bool
		ModeCalled    bool
		AbortedAt     float64
		StorageWrites int
	}
	run := func(what, mode, mcpPath string, abortAfterMs int, preAbort bool) outcome {
		return eval[outcome](p, what, `(async () => {
			`+moduleJS+`
			let windows = 0, popup = null, modeCalled = false, writes = 0;
			const open = window.open;
			window.open = (...a) => { windows++; popup = open.apply(window, a); return popup; };
			const storage = { getItem: () => null, setItem: () => { writes++; }, removeItem: () => {} };
			const mode = `+mode+`;
			const client = api.createClient({ mcpUrl: location.origin + `+jsString(mcpPath)+`, redirectUri: location.origin + '/callback.html', storage, mode });
			const controller = new AbortController();
			if (`+strconv.FormatBool(preAbort)+`) controller.abort();
			else setTimeout(() => controller.abort(), `+strconv.Itoa(abortAfterMs)+`);
			let code = 'signed in', abortedAt = 0;
			controller.signal.addEventListener('abort', () => { abortedAt = performance.now(); });
			const start = performance.now();
			try { await client.authorize({ signal: controller.signal }); } catch (e) { code = e.code; }
			const end = performance.now();
			window.open = open;
			return { Code: code, Ms: end - (abortedAt || start), Windows: windows, PopupClosed: !popup || popup.closed,
				ModeCalled: modeCalled, AbortedAt: abortedAt, StorageWrites: writes };
		})()`)
	}
	// Popup mode, discovery stuck on a server that answers in 10 s.
	got := run("aborting while discovery waits", `'popup'`, "/slow/mcp", 500, false)
	abortSeen := time.Now()
	t.Logf("popup, slow discovery: rejected %s %.1f ms after the abort", got.Code, got.Ms)
	if got.Code != "aborted" || got.Ms > 100 || !got.PopupClosed || got.Windows != 1 {
		t.Errorf("popup, slow discovery: %+v; want aborted within 100 ms of the abort, the popup closed", got)
	}
	select {
	case at := <-cancelled:
		t.Logf("the slow request was cancelled %v after the page saw the abort returned", at.Sub(abortSeen).Round(time.Millisecond))
	case <-time.After(2 * time.Second):
		t.Errorf("the engine's request to the slow server was not cancelled by the abort")
	}
	// A mode function that never settles and ignores its signal.
	got = run("aborting while a mode function ignores the signal", `async () => { modeCalled = true; return new Promise(() => {}); }`, "/mcp", 700, false)
	t.Logf("mode function ignoring the signal: rejected %s %.1f ms after the abort", got.Code, got.Ms)
	if got.Code != "aborted" || got.Ms > 100 || !got.ModeCalled {
		t.Errorf("mode function ignoring the signal: %+v; want aborted within 100 ms", got)
	}
	// Already aborted: nothing opened, sent or stored.
	before := len(p.srv.Requests())
	got = run("an already-aborted signal", `'popup'`, "/mcp", 0, true)
	if got.Code != "aborted" || got.Windows != 0 || got.StorageWrites != 0 {
		t.Errorf("already aborted: %+v; want aborted with no window and no storage write", got)
	}
	time.Sleep(300 * time.Millisecond)
	for _, r := range p.srv.Requests()[before:] {
		if !strings.HasSuffix(r.Path, ".js") && !strings.HasSuffix(r.Path, ".wasm") {
			t.Errorf("an aborted sign-in sent %s %s", r.Method, r.Path)
		}
	}
}

// TestBrowserAbortEndsEveryCall: getAccessToken({signal}) and
// client.fetch(url, {signal}) end with aborted within 100 ms while a
// refresh waits on a stuck token endpoint (whose request is cancelled); a
// refresh waiting for a lock another call holds ends at its signal, or
// with timeout after lockTimeoutMs; checkIfAuthRequired({signal}) ends at
// once and cancels its request; and a mode function that honours its
// signal ends as aborted, not as authorization_error.
func TestBrowserAbortEndsEveryCall(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{AccessTokenTTL: time.Second}, func(mux *http.ServeMux) {
		mux.HandleFunc("/slow/mcp", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
	})
	type outcome struct {
		Code string
		Ms   float64
	}
	signIn := eval[string](p, "signing in", `(async () => {
		`+moduleJS+`
		globalThis.api = api;
		globalThis.client = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', mode: `+followMode+` });
		globalThis.abortAfter = async (ms, fn) => {
			const c = new AbortController();
			let abortedAt = 0;
			setTimeout(() => { abortedAt = performance.now(); c.abort(); }, ms);
			try { await fn(c.signal); return { Code: 'settled', Ms: 0 }; } catch (e) { return { Code: e.code, Ms: performance.now() - abortedAt }; }
		};
		try { await client.authorize(); return 'yes'; } catch (e) { return e.code + ': ' + e.message; }
	})()`)
	if signIn != "yes" {
		t.Fatalf("sign-in: %s", signIn)
	}
	time.Sleep(1500 * time.Millisecond) // the 1 s access token expires
	p.srv.Opts.TokenDelay = 10 * time.Second
	before := len(p.srv.Requests())
	for _, tc := range []struct{ name, call string }{
		{"getAccessToken", `(signal) => client.getAccessToken({ signal })`},
		{"client.fetch", `(signal) => client.fetch(client.mcpUrl, { method: 'POST', body: '{}', signal })`},
	} {
		got := eval[outcome](p, tc.name+" during a stuck refresh", `abortAfter(300, `+tc.call+`)`)
		t.Logf("%s during a stuck refresh: %s %.1f ms after the abort", tc.name, got.Code, got.Ms)
		if got.Code != "aborted" || got.Ms > 100 {
			t.Errorf("%s: %+v, want aborted within 100 ms of the abort", tc.name, got)
		}
	}
	time.Sleep(300 * time.Millisecond)
	tokenRequests, cancelled := 0, 0
	for _, r := range p.srv.Requests()[before:] {
		if r.Path == "/token" {
			tokenRequests++
			if r.Cancelled {
				cancelled++
			}
		}
	}
	if tokenRequests == 0 || cancelled != tokenRequests {
		t.Errorf("%d refresh requests, %d of them cancelled; want every one cancelled by its abort", tokenRequests, cancelled)
	}

	// A refresh that holds the lock (stuck at the token endpoint), and a
	// second client of the same server whose refresh waits for it.
	got := eval[outcome](p, "waiting for a held lock", `(async () => {
		const holder = client.getAccessToken().catch(() => {});
		await new Promise((r) => setTimeout(r, 200));
		const waiter = api.createClient({ mcpUrl: client.mcpUrl, redirectUri: location.origin + '/callback.html', mode: `+followMode+`, lockTimeoutMs: 700 });
		const aborted = await abortAfter(300, (signal) => waiter.getAccessToken({ signal }));
		if (aborted.Code !== 'aborted' || aborted.Ms > 100) return aborted;
		const start = performance.now();
		try { await waiter.getAccessToken(); return { Code: 'settled', Ms: 0 }; } catch (e) { return { Code: e.code + ': ' + e.message, Ms: performance.now() - start }; }
	})()`)
	t.Logf("a refresh waiting for a held lock: %s after %.0f ms", got.Code, got.Ms)
	if !strings.HasPrefix(got.Code, "timeout: ") || !strings.Contains(got.Code, "lock") || got.Ms < 650 || got.Ms > 2000 {
		t.Errorf("waiting for a held lock: %+v; want aborted at the signal, then timeout after lockTimeoutMs (700 ms)", got)
	}
	p.srv.Opts.TokenDelay = 0

	got = eval[outcome](p, "checkIfAuthRequired on a server that never answers", `abortAfter(300, (signal) => api.checkIfAuthRequired(location.origin + '/slow/mcp', { signal }))`)
	if got.Code != "aborted" || got.Ms > 100 {
		t.Errorf("checkIfAuthRequired: %+v, want aborted within 100 ms", got)
	}

	got = eval[outcome](p, "a mode function that honours its signal", `(async () => {
		const c = api.createClient({ mcpUrl: location.origin + '/mcp', redirectUri: location.origin + '/callback.html', storage: 'memory',
			mode: (url, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('gone', 'AbortError')))) });
		return abortAfter(500, (signal) => c.authorize({ signal }));
	})()`)
	if got.Code != "aborted" || got.Ms > 100 {
		t.Errorf("mode function honouring the signal: %+v, want aborted", got)
	}
}
