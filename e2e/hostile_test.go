//go:build !js

package e2e

// Hostile input in the browser: tampered and forged callbacks, HTML in
// callback URLs, blocked or full storage, and the leak check itself.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// callbackPattern is the Fetch.enable URL pattern of an authorization
// response at redirectURI (a URL without a query).
func callbackPattern(redirectURI string) string { return redirectURI + "?*code=*" }

// interceptCallback makes the navigation of the page of ctx (a popup or the
// demo page) to the redirect URI go to a tampered URL instead: the first
// document request matching pattern is answered, inside the browser, with a
// 302 to the same URL with tamper applied to its query; the request that
// follows is let through. The channel receives the original and the
// tampered callback URL.
func (b *browserRun) interceptCallback(ctx context.Context, pattern string, tamper func(url.Values)) <-chan [2]string {
	b.t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused) // subscribe before enabling
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: pattern, RequestStage: fetch.RequestStageRequest, ResourceType: "Document"},
	}}); err != nil {
		b.t.Fatalf("enabling request interception: %v", err)
	}
	seen := make(chan [2]string, 1)
	go func() {
		tampered := ""
		for ev, err := range paused {
			if err != nil {
				return
			}
			if tampered != "" || ev.Request == nil {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			orig := ev.Request.URL + ev.Request.URLFragment
			u, err := url.Parse(orig)
			if err != nil {
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: "Failed"})
				continue
			}
			q := u.Query()
			tamper(q)
			u.RawQuery = q.Encode()
			tampered = u.String()
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID:    ev.RequestID,
				ResponseCode: http.StatusFound,
				ResponseHeaders: []*fetch.HeaderEntry{
					{Name: "Location", Value: tampered},
					{Name: "Cache-Control", Value: "no-store"},
				},
			})
			seen <- [2]string{orig, tampered}
		}
	}()
	return seen
}

// TestBrowserTamperedCallback: the authorization response on its way to
// the redirect URI is changed in the browser (request interception answers
// with a redirect to the altered URL). A different state gives
// state_mismatch, a different iss issuer_mismatch, in popup mode (through
// callback.html) and, for state, in redirect mode (the demo page itself);
// no code is exchanged and nothing is stored.
func TestBrowserTamperedCallback(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	for i, tc := range []struct {
		mode, param, want string
		tamper            func(url.Values)
	}{
		{"popup", "state", "state_mismatch", func(q url.Values) { q.Set("state", "tampered-"+q.Get("state")) }},
		{"popup", "iss", "issuer_mismatch", func(q url.Values) { q.Set("iss", "http://127.0.0.1:1") }},
		{"redirect", "state", "state_mismatch", func(q url.Values) { q.Set("state", "tampered-"+q.Get("state")) }},
	} {
		name := fmt.Sprintf("%s mode, different %s", tc.mode, tc.param)
		b.openDemo(tc.mode)
		exchanges := demo.countLog(asLog + "POST /token grant_type=authorization_code")
		var seen <-chan [2]string
		if tc.mode == "popup" {
			popup, _, done := b.clickForPopup("#connect")
			defer done()
			seen = b.interceptCallback(popup, callbackPattern(demo.Origin+"/callback.html"), tc.tamper)
			b.signInTolerant(popup, i == 0)
		} else {
			seen = b.interceptCallback(b.ctx, callbackPattern(demo.URL), tc.tamper)
			b.do("clicking Connect", chromedp.Click(chromedp.CSS("#connect")))
			if err := signIn(b.ctx, i == 0); err != nil {
				t.Fatalf("%s: signing in: %v", name, err)
			}
		}
		select {
		case urls := <-seen:
			o, _ := url.Parse(urls[0])
			m, _ := url.Parse(urls[1])
			if o.Query().Get("code") == "" || o.Query().Get(tc.param) == m.Query().Get(tc.param) {
				t.Fatalf("%s: the callback was not tampered with as intended (%s → %s)", name, redactQuery(urls[0]), redactQuery(urls[1]))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the sign-in never came back to the redirect URI", name)
		}
		code, text := b.waitError(15 * time.Second)
		if code != tc.want {
			t.Errorf("%s: the page shows %q (code %q), want %s", name, text, code, tc.want)
		}
		if n := demo.countLog(asLog + "POST /token grant_type=authorization_code"); n != exchanges {
			t.Errorf("%s: the code was exchanged (%d token requests)", name, n-exchanges)
		}
		if len(b.tokenRecords()) != 0 {
			t.Errorf("%s: tokens were stored", name)
		}
		if tc.mode == "redirect" {
			if _, err := chromedp.Call(b.ctx, fetch.Disable, struct{}{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// callbackStatus is what probeJS reports of callback.html's #status.
type callbackStatus struct {
	Text     string `json:"text"`
	Elements int    `json:"elements"`
}

func parseStatus(r probeReport) callbackStatus {
	var s callbackStatus
	_ = json.Unmarshal([]byte(r.Detail), &s)
	return s
}

// ---- hardening scenarios ----

// checkNoInjection fails when a probe saw, since the last such check,
// injected script run or injected markup become an element, or the page of
// b (and its frames) holds the canary or an <img> (no page of the demo,
// the callback or oidc-provider has one).
func (b *browserRun) checkNoInjection(what string) {
	b.t.Helper()
	w := b.watch
	w.mu.Lock()
	reports := w.reports[w.injectionChecked:]
	w.injectionChecked = len(w.reports)
	w.mu.Unlock()
	for _, r := range reports {
		switch r.Kind {
		case "xss":
			b.t.Errorf("%s: script from attacker-chosen text ran in the %s at %s", what, r.Where, redactQuery(r.Href))
		case "element":
			b.t.Errorf("%s: markup from attacker-chosen text became an element in the %s: %s", what, r.Where, r.Detail)
		}
	}
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[window, ...Array.from({ length: frames.length }, (_, i) => frames[i])]
		.map((w) => { try { return (w.__xss !== undefined ? 'canary set; ' : '') + (w.document.querySelector('img') ? 'an <img>; ' : ''); } catch { return ''; } }).join('')`))
	if err != nil {
		b.t.Fatalf("%s: reading %s: %v", what, b.name, err)
	}
	if got != "" {
		b.t.Errorf("%s: the %s holds %s", what, b.name, got)
	}
}

// TestBrowserCallbackNeverRendersHTML: error_description (and every other
// response parameter) is text whoever built the link chose. callback.html,
// opened as a popup (window.opener set) and as a plain page, and the demo
// page, which shows the server's error, must show it as text: no script
// runs (probeJS's window.__xss canary, in every page and frame), no element
// is made from it, and where it is shown it reads literally.
func TestBrowserCallbackNeverRendersHTML(t *testing.T) {
	demo, b := openDemo(t, "popup")
	callback := demo.Origin + "/callback.html"

	// 1. The demo page: the user denies consent and the authorization
	// server's error_description is HTML (oidc-provider's own is fixed, so
	// the response is rewritten in the popup on its way to callback.html;
	// state and iss are kept, so the response is genuine to the client).
	popup, _, done := b.clickForPopup("#connect")
	seen := b.interceptCallback(popup, callback+"?*error=*", func(q url.Values) { q.Set("error_description", xssImg) })
	ctx, cancel := context.WithTimeout(popup, 30*time.Second)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-user"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any password"),
		chromedp.Submit(chromedp.CSS(`input[name=login]`)),
		chromedp.WaitReady(chromedp.CSS(`form input[name=prompt][value=consent]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/abort"]`)),
	); err != nil && !errors.Is(err, chromedp.ErrTargetDetached) {
		t.Fatalf("denying consent in the popup: %v", err)
	}
	cancel()
	select {
	case urls := <-seen:
		o, _ := url.Parse(urls[0])
		m, _ := url.Parse(urls[1])
		if o.Query().Get("error") != "access_denied" || m.Query().Get("error_description") != xssImg ||
			m.Query().Get("state") != o.Query().Get("state") || m.Query().Get("iss") != demo.Issuer {
			t.Fatalf("the error response was not rewritten as intended (%s → %s)", redactQuery(urls[0]), redactQuery(urls[1]))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the denied sign-in never came back to callback.html")
	}
	code, text := b.waitError(15 * time.Second)
	done()
	if code != "access_denied" {
		t.Errorf("the demo page shows %q (code %q), want access_denied", text, code)
	}
	if !strings.Contains(text, xssImg) {
		t.Errorf("the demo page's error does not show the server's description literally: %q", text)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.getElementById('error').children.length`)); err != nil || n != 0 {
		t.Errorf("the demo page's error holds %d elements (%v), want text only", n, err)
	}
	b.checkNoInjection("the demo page's error display")

	// 2. callback.html with attacker-built URLs, as a popup of the demo page
	// (window.opener set: it relays and says what happened) and as a plain
	// page (no opener: it hands the URL to handleRedirectCallback, which
	// finds no sign-in waiting, and says so).
	random := randomHex(16)
	cases := []struct {
		name, query string
		popupSays   string // what the popup's #status reads
		plainPrefix string // how the plain page's #status starts
	}{
		{"HTML in error_description", url.Values{"error": {"access_denied"}, "error_description": {xssImg}, "state": {random}}.Encode(),
			"Sign-in did not complete (access_denied). You can close this window.", "Sign-in failed (state_mismatch): "},
		{"a code, and a script in state", url.Values{"code": {"x"}, "state": {xssScript + random}}.Encode(),
			"Signed in. You can close this window.", "Sign-in failed (state_mismatch): "},
		{"HTML in error", url.Values{"error": {xssImg}, "error_description": {xssScript}, "state": {random}}.Encode(),
			"Sign-in did not complete (" + xssImg + "). You can close this window.", "Sign-in failed (state_mismatch): "},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("callback window %d", i+1)
		since := len(b.watch.probeReports(""))
		_, _, done := b.openWindow(name, `(window.__cb = window.open('about:blank', '_blank', 'popup,width=500,height=300')) && 0`)
		b.evaluate("sending the callback window to the attacker's URL", `window.__cb.location.href = `+jsString(callback+"?"+tc.query))
		r := b.waitProbe(10*time.Second, name+": waiting for callback.html to say what happened", name, "status", since,
			func(r probeReport) bool { return parseStatus(r).Text != "Signing in…" })
		if s := parseStatus(r); s.Text != tc.popupSays || s.Elements != 0 {
			t.Errorf("%s, %s: callback.html says %q with %d elements, want %q as text", name, tc.name, s.Text, s.Elements, tc.popupSays)
		}
		done()
		b.checkNoInjection(fmt.Sprintf("%s (a popup of the demo page) with %s", name, tc.name))
	}
	plain := b.openTab("plain tab")
	for _, tc := range cases {
		since := len(b.watch.probeReports(""))
		plain.do("opening callback.html with "+tc.name, chromedp.Navigate(callback+"?"+tc.query))
		r := b.waitProbe(15*time.Second, "plain tab: waiting for callback.html to say what happened", "plain tab", "status", since,
			func(r probeReport) bool { return parseStatus(r).Text != "Signing in…" })
		if s := parseStatus(r); !strings.HasPrefix(s.Text, tc.plainPrefix) || s.Elements != 0 {
			t.Errorf("plain callback.html with %s says %q with %d elements, want text starting %q", tc.name, s.Text, s.Elements, tc.plainPrefix)
		}
		plain.checkNoInjection("plain callback.html with " + tc.name)
	}

	// 3. A plain callback.html that completes a real redirect-mode sign-in
	// (its pending record is in storage) with an HTML error_description:
	// the engine's message carries the description, and the page shows it.
	plain.do("opening the demo origin in the plain tab", chromedp.Navigate(callback))
	plain.newClientInPage("__redirectClient", `{ mcpUrl: `+jsString(demo.MCPURL)+`, redirectUri: `+jsString(callback)+`, mode: 'redirect' }`)
	plain.evaluate("starting a redirect sign-in", `window.__redirectClient.authorize().catch((e) => console.error('authorize failed: ' + e.code))`)
	plain.waitJS(30*time.Second, "waiting for the authorization server's page", `location.origin === `+jsString(demo.Issuer)+` && document.readyState === 'complete' ? 'yes' : ''`)
	state := b.waitJS(5*time.Second, "reading the pending sign-in's state", `Object.keys(localStorage).filter((k) => k.startsWith('mcp-oauth:v1:pending:')).map((k) => k.slice('mcp-oauth:v1:pending:'.length)).join(' ')`)
	if strings.Contains(state, " ") {
		t.Fatalf("localStorage holds several pending sign-ins")
	}
	since := len(b.watch.probeReports(""))
	plain.do("sending the denied response with an HTML description", chromedp.Navigate(callback+"?"+url.Values{
		"error": {"access_denied"}, "error_description": {xssImg}, "state": {state}, "iss": {demo.Issuer}}.Encode()))
	r := b.waitProbe(15*time.Second, "plain tab: waiting for callback.html to report the denial", "plain tab", "status", since,
		func(r probeReport) bool { return strings.HasPrefix(parseStatus(r).Text, "Sign-in failed") })
	if s := parseStatus(r); !strings.HasPrefix(s.Text, "Sign-in failed (access_denied): ") || !strings.Contains(s.Text, xssImg) || s.Elements != 0 {
		t.Errorf("callback.html says %q with %d elements, want access_denied with the description as text", s.Text, s.Elements)
	}
	plain.checkNoInjection("plain callback.html completing a denied sign-in")
	b.checkNoInjection("the demo page, the opener of the callback windows")
	if n := demo.countLog(asLog + "POST /token grant_type=authorization_code"); n != 0 {
		t.Errorf("%d codes were exchanged, want none", n)
	}
}

// evilServer is a page on another origin (another port of 127.0.0.1) that
// forges the callback message to its opener.
type evilServer struct {
	*httptest.Server
	posted chan string // the n= of each /posted beacon
}

func startEvilServer(t *testing.T) *evilServer {
	t.Helper()
	e := &evilServer{posted: make(chan string, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /forge.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>another origin</title><script>
const url = new URLSearchParams(location.hash.slice(1)).get('url');
const message = { type: 'mcp-oauth-callback', url };
let n = 0;
try { window.opener.postMessage(message, '*'); n++; } catch (e) { console.error('postMessage failed: ' + e); }
try { const bc = new BroadcastChannel('mcp-oauth-callback'); bc.postMessage(message); bc.close(); } catch {}
fetch('/posted?n=' + n);
</script>`)
	})
	mux.HandleFunc("GET /posted", func(w http.ResponseWriter, r *http.Request) {
		select {
		case e.posted <- r.URL.Query().Get("n"):
		default:
		}
	})
	e.Server = httptest.NewServer(mux)
	t.Cleanup(e.Close)
	return e
}

// TestBrowserForgedCallbackMessagesIgnored: while the user is on the login
// form of a popup sign-in, forged authorization responses arrive over
// every channel the callback page uses: postMessage from a page on another
// origin (with the real state and iss), BroadcastChannel and same-origin
// postMessage with another state, and a localStorage relay key for another
// state. The sign-in keeps waiting (no error, no token request), and then
// completes with the real code.
func TestBrowserForgedCallbackMessagesIgnored(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t)
	evil := startEvilServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")

	popup, _, done := b.clickForPopup("#connect")
	defer done()
	loginCtx, cancelLogin := context.WithTimeout(popup, 30*time.Second)
	if err := chromedp.Do(loginCtx, chromedp.WaitVisible(chromedp.CSS(`input[name=login]`))); err != nil {
		t.Fatalf("waiting for the login form in the popup: %v", err)
	}
	cancelLogin()
	states := b.waitJS(5*time.Second, "reading the sign-in's state", `Object.keys(localStorage).filter((k) => k.startsWith('mcp-oauth-popup:')).map((k) => k.slice('mcp-oauth-popup:'.length)).join(' ')`)
	if strings.Contains(states, " ") {
		t.Fatalf("localStorage marks several popup sign-ins: %d", len(strings.Fields(states)))
	}
	state, other := states, randomHex(32)
	redirectURI := demo.Origin + "/callback.html"
	forged := func(st string) string {
		return redirectURI + "?" + url.Values{"code": {"forged-" + randomHex(8)}, "state": {st}, "iss": {demo.Issuer}}.Encode()
	}
	tokenRequests := demo.countLog(asLog + "POST /token")

	// (a) Another origin, holding the real state, posts to the page.
	_, evilID, doneEvil := b.openWindow("other-origin window",
		`window.open(`+jsString(evil.URL+"/forge.html#"+url.Values{"url": {forged(state)}}.Encode())+`, '_blank', 'popup,width=300,height=200') && 0`)
	select {
	case n := <-evil.posted:
		if n != "1" {
			t.Fatalf("the other-origin page could not post to the demo page (opener missing?)")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other-origin page did not post within 10 s")
	}
	doneEvil()
	// (b) Same origin, another state: BroadcastChannel and postMessage.
	b.evaluate("forging messages for another state", `(() => {
		const message = { type: 'mcp-oauth-callback', url: `+jsString(forged(other))+` };
		const bc = new BroadcastChannel('mcp-oauth-callback');
		bc.postMessage(message);
		bc.close();
		window.postMessage(message, location.origin);
	})()`)
	// (c) A relay key for another state, written from another document of
	// the origin (so that the page also gets a storage event).
	relayKey := "mcp-oauth-callback:" + other
	b.evaluate("writing a relay key for another state", `(() => {
		const f = document.createElement('iframe');
		document.body.append(f);
		f.contentWindow.localStorage.setItem(`+jsString(relayKey)+`, JSON.stringify({ url: `+jsString(forged(other))+`, at: Date.now() }));
		f.remove();
	})()`)

	time.Sleep(1500 * time.Millisecond) // past the page's 250 ms and 1 s polls
	if msg := b.pageError(b.ctx); msg != "" {
		t.Fatalf("a forged message ended the sign-in: %s", msg)
	}
	if s := b.text("#status"); !strings.HasPrefix(s, "Signing in") {
		t.Errorf("the status reads %q, want the sign-in still waiting", s)
	}
	if lines := demo.logLines(asLog + "POST /token")[tokenRequests:]; len(lines) != 0 {
		t.Fatalf("a forged response reached the token endpoint:\n%s", strings.Join(lines, "\n"))
	}
	if !b.hasStorageKey("mcp-oauth-popup:" + state) {
		t.Error("the sign-in no longer marks itself as waiting")
	}
	if _, err := chromedp.CallBrowser(b.ctx, target.CloseTarget, target.CloseTargetParams{TargetID: evilID}); err != nil {
		t.Logf("closing the other-origin window: %v", err)
	}

	b.inPopup(popup, "signing in in the popup", func(ctx context.Context) error { return signIn(ctx, true) })
	b.waitConnected()
	b.checkTokens()
	exchanges := demo.logLines(asLog + "POST /token grant_type=authorization_code")
	if len(exchanges) != 1 || !strings.Contains(exchanges[0], "-> 200") {
		t.Errorf("want exactly one successful code exchange, got:\n%s", strings.Join(exchanges, "\n"))
	}
	b.evaluate("removing the forged relay key", `localStorage.removeItem(`+jsString(relayKey)+`)`)
}

// refuseSetItemJS makes localStorage.setItem throw the browser's
// QuotaExceededError for keys that start with prefix (the store is full for
// them), until window.__restoreSetItem() is called.
func refuseSetItemJS(prefix string) string {
	return `(() => {
		const setItem = Storage.prototype.setItem;
		window.__restoreSetItem = () => { Storage.prototype.setItem = setItem; };
		Storage.prototype.setItem = function (k, v) {
			if (String(k).startsWith(` + jsString(prefix) + `)) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return setItem.call(this, k, v);
		};
	})()`
}

// TestBrowserStorageFailures: with clients the test creates in the demo
// page: (a) localStorage full for the module's keys: authorize() rejects
// with storage_error saying storage is full, closes its window and leaves
// other keys alone; (a2) only the pending sign-in's record cannot be
// stored: the authorization page is never shown (the engine wrote it
// without waiting; the page refuses to open after the lost write);
// (b) localStorage access throws (blocked storage): createClient works,
// every operation rejects with storage_error, and with
// storageFallbackToMemory they work (auth_required: not signed in);
// (c) garbage under the module's keys, for this MCP server and another:
// the client treats its own as absent (auth_required, a warning), a full
// sign-in then works, and the other server's record is left byte for byte.
func TestBrowserStorageFailures(t *testing.T) {
	demo, b := openDemo(t, "popup")
	options := `{ mcpUrl: ` + jsString(demo.MCPURL) + `, redirectUri: location.origin + '/callback.html' }`

	// (a) Full.
	b.evaluate("storing another app's key", `localStorage.setItem('other-app:settings', '{"theme":"dark"}')`)
	b.evaluate("making localStorage full for the module's keys", refuseSetItemJS("mcp-oauth:"))
	b.newClientInPage("__fullClient", options)
	id := b.openWindowID("sign-in window", `(window.__full = window.__fullClient.authorize(), 0)`)
	out := b.settle(20*time.Second, "authorize() with full storage", `window.__full`)
	if out.OK || out.Code != "storage_error" || !strings.Contains(out.Message, "storage is full") {
		t.Errorf("authorize() %s, want storage_error saying storage is full", out)
	}
	if !b.waitTargetClosed(id, 2*time.Second) {
		t.Error("the failed sign-in left its window open")
	}
	other, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		localStorage.setItem('other-app:written', 'still works');
		return localStorage.getItem('other-app:settings') + ' ' + localStorage.getItem('other-app:written');
	})()`))
	if err != nil || other != `{"theme":"dark"} still works` {
		t.Errorf("other keys while the module's storage is full: %q (%v)", other, err)
	}
	b.evaluate("making room again", `window.__restoreSetItem()`)

	// (a2) Only the pending sign-in's record cannot be stored. The engine
	// does not wait for that write (snapshot.js, write-behind), so it is
	// the page that must refuse to show the authorization page after it:
	// the mode function is never called, and authorize() says why.
	b.evaluate("making localStorage refuse the pending sign-in's record", refuseSetItemJS("mcp-oauth:v1:pending:"))
	b.newClientInPage("__pendingClient", `{ mcpUrl: `+jsString(demo.MCPURL)+`, redirectUri: location.origin + '/callback.html',
		mode: async (url) => { window.__shown = url; return undefined; } }`)
	out = b.settle(20*time.Second, "authorize() when the pending record cannot be stored", `window.__pendingClient.authorize()`)
	if out.OK || out.Code != "storage_error" || !strings.Contains(out.Message, "storage is full") {
		t.Errorf("authorize() %s, want storage_error saying storage is full", out)
	}
	shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__shown !== undefined`))
	if err != nil || shown {
		t.Errorf("the authorization page was shown although the pending sign-in was not stored (%v)", err)
	}
	b.evaluate("making room again", `window.__restoreSetItem()`)

	// (b) Blocked.
	b.evaluate("blocking localStorage", `(() => {
		window.__localStorage = Object.getOwnPropertyDescriptor(window, 'localStorage');
		Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });
	})()`)
	b.newClientInPage("__blockedClient", options)
	for _, op := range []string{"getAccessToken()", "storage.getTokens()", "clear()", "fetch(" + jsString(demo.MCPURL) + ")"} {
		if out := b.settle(20*time.Second, op, "window.__blockedClient."+op); out.OK || out.Code != "storage_error" || !strings.Contains(out.Message, "localStorage") {
			t.Errorf("with localStorage blocked, %s %s, want storage_error naming localStorage", op, out)
		}
	}
	b.newClientInPage("__memoryClient", `{ ...`+options+`, storageFallbackToMemory: true }`)
	if out := b.settle(20*time.Second, "getAccessToken()", "window.__memoryClient.getAccessToken()"); out.OK || out.Code != "auth_required" {
		t.Errorf("with storageFallbackToMemory, getAccessToken() %s, want auth_required", out)
	}
	if out := b.settle(20*time.Second, "storage.getTokens()", "window.__memoryClient.storage.getTokens()"); !out.OK || out.Type != "null" {
		t.Errorf("with storageFallbackToMemory, storage.getTokens() %s, want null", out)
	}
	b.evaluate("unblocking localStorage", `(() => {
		if (window.__localStorage) Object.defineProperty(window, 'localStorage', window.__localStorage); else delete window.localStorage;
		localStorage.length;
	})()`)

	// (c) Garbage.
	otherKey := "mcp-oauth:v1:tokens:http://127.0.0.1:9/other-mcp"
	garbage := map[string]string{
		"mcp-oauth:v1:tokens:" + demo.MCPURL:   `{"access_token": 42, "expires_at": "soon"`,
		"mcp-oauth:v1:resource:" + demo.MCPURL: `<not json>`,
		"mcp-oauth:v1:client:" + demo.Issuer:   `{"client_id": {"nested": true}}`,
		otherKey:                               "\x00garbage \u2603 {\"access_token\":",
	}
	garbageJSON, _ := json.Marshal(garbage)
	b.evaluate("writing garbage under the module's keys", `for (const [k, v] of Object.entries(`+string(garbageJSON)+`)) localStorage.setItem(k, v)`)
	warnings := len(b.watch.probeReports("warning"))
	b.newClientInPage("__garbageClient", options)
	if out := b.settle(20*time.Second, "getAccessToken()", "window.__garbageClient.getAccessToken()"); out.OK || out.Code != "auth_required" {
		t.Errorf("with garbage stored, getAccessToken() %s, want auth_required", out)
	}
	warned := false
	for _, r := range b.watch.probeReports("warning")[warnings:] {
		warned = warned || (strings.Contains(r.Detail, "storage_error") && strings.Contains(r.Detail, "tokens:"+demo.MCPURL))
	}
	if !warned {
		t.Error("the garbage tokens record was not reported as a storage_error warning")
	}
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	b.checkTokensFor(demo.MCPURL)
	if raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`localStorage.getItem(`+jsString(otherKey)+`)`)); err != nil || raw != garbage[otherKey] {
		t.Errorf("the other server's record changed: %q (%v)", raw, err)
	}
	b.callTool("#call-echo", "Hello from the browser")
}

// TestBrowserLeakCheckCatchesLeaks: the harness's leak check (run after
// every browser test) finds a stored token in a console line, a requested
// URL, a progress event's detail and the progress list, names the place,
// and does not print the token.
func TestBrowserLeakCheckCatchesLeaks(t *testing.T) {
	_, b := openDemo(t, "popup")
	tok := "leak-check-" + randomHex(16)
	key := "mcp-oauth:v1:tokens:http://127.0.0.1:9/leak-check"
	b.evaluate("leaking a stored token", `(() => {
		const tok = `+jsString(tok)+`;
		localStorage.setItem(`+jsString(key)+`, JSON.stringify({ access_token: tok, token_type: 'Bearer' }));
		console.log('the token is ' + tok);
		fetch('/nothing-here?t=' + tok).catch(() => {});
		const c = new EventTarget();
		c.dispatchEvent(new CustomEvent('progress', { detail: { step: 'token', detail: tok } }));
		c.dispatchEvent(new CustomEvent('trace', { detail: { step: 'token', method: 'POST', url: 'https://as/token', status: 200, ms: 1, body: tok } }));
		// A PKCE verifier and a client secret, stored as the engine stores them, then leaked.
		localStorage.setItem('mcp-oauth:v1:pending:leak-check', JSON.stringify({ state: 's', code_verifier: tok + '-verifier' }));
		localStorage.setItem('mcp-oauth:v1:client:leak-check', JSON.stringify({ client_id: 'c', client_secret: tok + '-secret' }));
		c.dispatchEvent(new CustomEvent('warning', { detail: { code: 'x', message: tok + '-verifier' } }));
		console.log('secret ' + tok + '-secret');
		const li = document.createElement('li');
		li.textContent = tok;
		document.getElementById('progress').append(li);
	})()`)
	b.waitJS(5*time.Second, "waiting for the request", `performance.getEntriesByType('resource').some((e) => e.name.includes('/nothing-here')) ? 'yes' : ''`)
	time.Sleep(200 * time.Millisecond) // the events reach the harness
	b.snapshotPage(b.root, b.name)
	problems := b.leakProblems()
	for _, want := range []string{"the browser console", "a URL (demo page requested)", "a progress event's detail", "a trace event's detail", "demo page progress list",
		"the PKCE verifier", "the client secret"} {
		found := false
		for _, p := range problems {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("the leak check missed the token in %s; it found:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	for _, p := range problems {
		if strings.Contains(p, tok) {
			t.Errorf("the leak check prints the token: %s", p)
		}
	}
	// Clean up, so that the check after the test passes.
	b.evaluate("removing the planted token", `localStorage.removeItem(`+jsString(key)+`); localStorage.removeItem('mcp-oauth:v1:pending:leak-check'); localStorage.removeItem('mcp-oauth:v1:client:leak-check'); document.getElementById('progress').replaceChildren()`)
	for _, planted := range []string{tok, tok + "-verifier", tok + "-secret"} {
		b.watch.forget(planted)
	}
}
