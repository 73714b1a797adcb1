//go:build !js

package e2e

// Popup-mode sign-ins: the flow, step-up, consent denied, a closed or
// blocked popup, COOP severing the popup, slow consent and the timeout.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

func TestBrowserPopupFlow(t *testing.T) {
	demo, b := openDemo(t, "popup")

	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	b.checkTokens()

	got := b.callTool("#call-echo", "Hello from the browser")
	if !strings.HasPrefix(got, "echo: ") {
		t.Errorf("echo result = %q", got)
	}

	// The inspector's view: the sign-in's requests as a timeline, and a
	// diagnosis of the server that passes.
	steps := b.waitJS(10*time.Second, "the requests timeline", `[...document.querySelectorAll('#trace .step')].map((e) => e.textContent).join(' ')`)
	for _, step := range []string{"registration", "token"} {
		if !strings.Contains(steps, step) {
			t.Errorf("the Requests card lists %q; want a %s exchange", steps, step)
		}
	}
	b.do("clicking Diagnose", chromedp.Click(chromedp.CSS("#diagnose")))
	summary := b.waitJS(15*time.Second, "the diagnosis", `(() => { const s = document.getElementById('diagnosis-summary').textContent; return s.startsWith('A sign-in') ? s : ''; })()`)
	if !strings.HasPrefix(summary, "A sign-in can work.") || strings.Contains(summary, "fail") {
		t.Errorf("diagnosis of the demo's server: %q", summary)
	}
	if n, _ := strconv.Atoi(b.waitJS(5*time.Second, "the checks", `String(document.querySelectorAll('#diagnosis li').length || '')`)); n < 12 {
		t.Errorf("the Diagnosis card lists %d checks, want every check (12 or more)", n)
	}
	if path := os.Getenv("MCP_OAUTH_SCREENSHOT"); path != "" {
		b.screenshot(path)
	}

	// Sign out: oidc-provider revokes the tokens, and they are gone here.
	b.do("clicking Sign out", chromedp.Click(chromedp.CSS("#sign-out")))
	b.waitStatus("Signed out: the authorization server revoked the tokens.", 15*time.Second)
	if r := b.tokenRecords(); len(r) != 0 {
		t.Errorf("after Sign out localStorage still holds %d tokens records", len(r))
	}
	demo.waitLog(t, 2, 5*time.Second, asLog, "POST /token/revocation", "-> 200") // logged after the answer
	if n := demo.countLog(asLog, "POST /token/revocation", "-> 200"); n != 2 {
		t.Errorf("the authorization server answered %d revocations, want 2 (refresh token, access token)", n)
	}
}

// TestBrowserPopupStepUp: admin_stats needs mcp:admin, which the first
// sign-in did not ask for; the 403 makes client.fetch open a popup again
// (consent only: the authorization server remembers the login) and retry.
func TestBrowserPopupStepUp(t *testing.T) {
	_, b := openDemo(t, "popup")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	before := b.checkTokens()
	if strings.Contains(before.Scope, "mcp:admin") {
		t.Fatalf("the first sign-in already holds mcp:admin (scope %q): nothing to step up", before.Scope)
	}

	b.clickAndSignInPopup("#call-admin", false)
	got := b.waitResult("mcp:admin")
	if !strings.HasPrefix(got, "admin_stats: ") {
		t.Errorf("admin_stats result = %q", got)
	}
	after := b.checkTokens()
	if !strings.Contains(" "+after.Scope+" ", " mcp:admin ") {
		t.Errorf("after the step-up the token's scope is %q, want mcp:admin in it", after.Scope)
	}
	scopes, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#token-scopes")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(scopes, "mcp:admin") {
		t.Errorf("the page shows scopes %q, want mcp:admin among them", scopes)
	}
}

// ---- helpers of the scenarios below ----

// TestBrowserConsentDenied: the user cancels on oidc-provider's consent
// page; the page shows access_denied and stores nothing.
func TestBrowserConsentDenied(t *testing.T) {
	demo, b := openDemo(t, "popup")
	popup, _, done := b.clickForPopup("#connect")
	defer done()
	ctx, cancel := context.WithTimeout(popup, 30*time.Second)
	defer cancel()
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
	code, text := b.waitError(15 * time.Second)
	if code != "access_denied" {
		t.Errorf("the page shows %q (code %q), want access_denied", text, code)
	}
	if len(b.tokenRecords()) != 0 {
		t.Error("a denied sign-in stored tokens")
	}
	if n := demo.countLog(asLog + "POST /token grant_type=authorization_code"); n != 0 {
		t.Errorf("a denied sign-in made %d code exchanges", n)
	}
	if s := b.text("#status"); !strings.HasPrefix(s, "Not connected") {
		t.Errorf("status reads %q, want Not connected", s)
	}
}

// TestBrowserPopupClosed: the user looks at the login page for a few
// seconds and closes the sign-in window; the page shows popup_closed within
// a few seconds, and a second Connect signs in. (A window that reads closed
// within 2 s of going to the authorization server may be one that COOP
// severed from the page, so the user is given those 2 s first.)
func TestBrowserPopupClosed(t *testing.T) {
	_, b := openDemo(t, "popup")
	popup, id, done := b.clickForPopup("#connect")
	ctx, cancel := context.WithTimeout(popup, 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`input[name=login]`))); err != nil {
		t.Fatalf("waiting for the login form in the popup: %v", err)
	}
	cancel()
	time.Sleep(2500 * time.Millisecond) // the user reads the page
	done()
	closed := time.Now()
	if _, err := chromedp.CallBrowser(b.ctx, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
		t.Fatalf("closing the popup: %v", err)
	}
	code, text := b.waitError(15 * time.Second)
	took := time.Since(closed)
	if code != "popup_closed" {
		t.Errorf("the page shows %q (code %q), want popup_closed", text, code)
	}
	if took > 5*time.Second {
		t.Errorf("popup_closed came %s after the popup closed, want within 5 s", took.Round(100*time.Millisecond))
	}
	t.Logf("popup_closed %s after the popup closed", took.Round(10*time.Millisecond))
	if len(b.tokenRecords()) != 0 {
		t.Error("a cancelled sign-in stored tokens")
	}

	// Nothing is left hanging: the next Connect signs in.
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	b.checkTokens()
}

// TestBrowserPopupBlocked: Connect started by the page's own timer, without
// a user gesture: Chromium blocks the popup and the page shows
// popup_blocked at once, without any request to the authorization server.
func TestBrowserPopupBlocked(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemoAt(demo.URL, demo.MCPURL) // no click, no chromedp.Poll: no user activation
	popupMode, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=mode][value=popup]').checked`))
	if err != nil || !popupMode {
		t.Fatalf("the demo page is not in popup mode (%v)", err)
	}
	// Rule out the module's own background work first: a client created
	// without a token runs discovery (it registers nothing), which ends
	// with the discovery record stored.
	b.waitJS(15*time.Second, "waiting for the background discovery to finish",
		`Object.keys(localStorage).some((k) => k.includes(':resource:')) ? 'done' : ''`)
	popups := b.popups.Load()
	asRequests := demo.countLog(asLog)
	started := time.Now()
	b.evaluate("starting Connect from a timer", `setTimeout(() => document.getElementById('connect-form').requestSubmit(), 0)`)
	code, text := b.waitError(10 * time.Second)
	took := time.Since(started)
	if code != "popup_blocked" {
		t.Errorf("the page shows %q (code %q), want popup_blocked", text, code)
	}
	if took > 2*time.Second {
		t.Errorf("popup_blocked came after %s, want at once", took.Round(100*time.Millisecond))
	}
	if n := b.popups.Load(); n != popups {
		t.Errorf("%d windows opened, want none (is Chromium's popup blocker on?)", n-popups)
	}
	if lines := demo.logLines(asLog)[asRequests:]; len(lines) != 0 {
		t.Errorf("the authorization server saw %d requests, want none:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// TestBrowserPopupBlockedDespiteGesture: with the engine running and a
// user's gesture, authorize() hands the sign-in to the engine before it
// opens the popup (client.js). A popup blocked all the same (here
// window.open returns null, as a site setting would make it) rejects with
// popup_blocked at once and calls the engine's sign-in off: it never gets
// a window (with a registration stored the engine asks before the call-off
// reaches it, and the page refuses), leaves no pending sign-in behind, and
// a sign-in after it works.
func TestBrowserPopupBlockedDespiteGesture(t *testing.T) {
	demo, b := openDemo(t, "popup")
	b.newClientInPage("__gestureClient", `{ mcpUrl: `+jsString(demo.MCPURL)+`, redirectUri: location.origin + '/callback.html' }`)
	// Its engine is running once a call through it has settled.
	b.settle(20*time.Second, "waiting for the client's engine", `window.__gestureClient.storage.getClientInfo()`)
	b.evaluate("making window.open return null", `(() => {
		window.__opens = 0;
		window.__realOpen = window.open;
		window.open = () => { window.__opens++; return null; };
	})()`)
	started := time.Now()
	b.evaluateWithGesture("authorize() in a click", `window.__blocked = window.__gestureClient.authorize()`)
	out := b.settle(10*time.Second, "authorize() with the popup blocked", `window.__blocked`)
	if out.OK || out.Code != "popup_blocked" {
		t.Errorf("authorize() %s, want popup_blocked", out)
	}
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("popup_blocked came after %s, want at once", took.Round(100*time.Millisecond))
	}
	// Long enough for the engine's registration and its call for a window,
	// had the sign-in not been called off.
	time.Sleep(time.Second)
	state, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.__opens + ' ' + Object.keys(localStorage).filter((k) => k.includes(':pending:')).length`))
	if err != nil || state != "1 0" {
		t.Errorf("window.open calls and pending sign-ins left: %q (%v), want %q", state, err, "1 0")
	}
	b.evaluate("restoring window.open", `window.open = window.__realOpen`)
	popup, _, done := b.openWindow("sign-in window", `(window.__again = window.__gestureClient.authorize(), 0)`)
	defer done()
	b.signInTolerant(popup, true)
	if out := b.settle(30*time.Second, "the next sign-in", `window.__again`); !out.OK {
		t.Errorf("the sign-in after the blocked one: %s", out)
	}

	// Again with the registration stored: the engine has nothing to fetch
	// and asks for the window at once, before the call-off reaches it; the
	// page refuses.
	b.removeTokensRecord(demo.MCPURL)
	b.evaluate("making window.open return null", `(() => { window.__opens = 0; window.open = () => { window.__opens++; return null; }; })()`)
	b.evaluateWithGesture("authorize() in a click, registration stored", `window.__blocked2 = window.__gestureClient.authorize()`)
	if out := b.settle(10*time.Second, "authorize() with the popup blocked", `window.__blocked2`); out.OK || out.Code != "popup_blocked" {
		t.Errorf("authorize() with the registration stored: %s, want popup_blocked", out)
	}
	time.Sleep(time.Second)
	state, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.__opens + ' ' + Object.keys(localStorage).filter((k) => k.includes(':pending:')).length`))
	if err != nil || state != "1 0" {
		t.Errorf("with the registration stored, window.open calls and pending sign-ins left: %q (%v), want %q", state, err, "1 0")
	}
	b.evaluate("restoring window.open", `window.open = window.__realOpen`)
}

// coopScenario is an authorization server whose pages send
// Cross-Origin-Opener-Policy: same-origin, simulated inside the browser by
// request interception in the popup (oidc-provider sends no COOP).
type coopScenario struct {
	// holdAuth delays the answer to /auth, as a server on the internet
	// takes a moment (TLS, redirects, SSO).
	holdAuth time.Duration
	// coopFrom is the first oidc-provider page (0: the login page, 1: the
	// consent page) whose response gets the header: a later one is a
	// federated login, whose identity provider sends COOP while the
	// authorization server's own first page does not.
	coopFrom int
	// lateCompletion: the page may report popup_closed when a COOP page
	// severs the popup, and the sign-in must still complete when the user
	// finishes (mcp-oauth.js keeps listening). The page tells a severed
	// popup from a closed one by document.hasFocus(), which a real browser
	// keeps on the popup; headless Chromium hands the focus back to the page
	// when COOP swaps the popup's browsing context group, so here the page
	// may see what looks like a close (and a COOP switch also has a moment
	// in which the popup reads open at a cross-origin page).
	lateCompletion bool
}

// runPopupCOOP signs in through a COOP-severed popup: popup.closed reads
// true in the page while the user is still signing in, and window.opener is
// null on the callback page. The page must keep waiting (PRODUCT.md §3: the
// app does not treat popup.closed alone as a cancel while a COOP-severed
// popup may still be alive) and complete through the callback page's other
// channels. The user spends 3 s on the login page and 2 s on the consent page.
func runPopupCOOP(t *testing.T, sc coopScenario) {
	demo, b := openDemo(t, "popup")

	// Hold the page's registration request until the popup's interception
	// is in place (the popup navigates to /auth right after it).
	popupReady := make(chan struct{})
	regPaused := chromedp.Events(b.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: demo.Issuer + "/reg", RequestStage: fetch.RequestStageRequest},
	}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range regPaused {
			if err != nil {
				return
			}
			select {
			case <-popupReady:
			case <-time.After(20 * time.Second):
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()

	popup, _, done := b.clickForPopup("#connect")
	defer done()
	paused := chromedp.Events(popup, fetch.RequestPaused)
	if _, err := chromedp.Call(popup, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: demo.Issuer + "/auth?*", RequestStage: fetch.RequestStageRequest},
		{URLPattern: demo.Issuer + "/interaction/*", RequestStage: fetch.RequestStageResponse},
	}}); err != nil {
		t.Fatal(err)
	}
	var pages atomic.Int32 // oidc-provider HTML pages seen
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			go func() {
				if ev.ResponseStatusCode == 0 { // request stage: /auth
					time.Sleep(sc.holdAuth)
					_, _ = chromedp.Call(popup, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
					return
				}
				if ev.ResponseStatusCode != http.StatusOK || ev.Request == nil || ev.Request.Method != http.MethodGet {
					_, _ = chromedp.Call(popup, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
					return
				}
				page := int(pages.Add(1)) - 1
				body, err := chromedp.Call(popup, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
				if err != nil || page < sc.coopFrom {
					_, _ = chromedp.Call(popup, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
					return
				}
				headers := append(ev.ResponseHeaders, &fetch.HeaderEntry{Name: "Cross-Origin-Opener-Policy", Value: "same-origin"})
				_, _ = chromedp.Call(popup, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID: ev.RequestID, ResponseCode: ev.ResponseStatusCode, ResponseHeaders: headers, Body: body.Body,
				})
			}()
		}
	}()
	close(popupReady)

	ctx, cancel := context.WithTimeout(popup, 30*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`input[name=login]`))); err != nil {
		t.Fatalf("waiting for the login form: %v", err)
	}
	time.Sleep(3 * time.Second) // the user reads the login page
	if msg := b.pageError(b.ctx); msg != "" && !sc.lateCompletion {
		t.Fatalf("while the user was on the login page, the page gave up: %s", msg)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-user"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any password"),
		chromedp.Submit(chromedp.CSS(`input[name=login]`)),
		chromedp.WaitReady(chromedp.CSS(`form input[name=prompt][value=consent]`)),
	); err != nil {
		t.Fatalf("logging in: %v", err)
	}
	// A real browser window keeps the focus across its navigations; headless
	// Chromium loses it when COOP swaps the popup's browsing context group.
	if _, err := chromedp.Call(popup, page.BringToFront, cdp.Empty{}); err != nil {
		t.Logf("bringing the popup to the front again: %v", err)
	}
	time.Sleep(2 * time.Second) // the user reads the consent page
	if msg := b.pageError(b.ctx); msg != "" && !sc.lateCompletion {
		t.Fatalf("while the user was on the consent page, the page gave up: %s", msg)
	}
	if pages.Load() < 2 {
		t.Fatalf("the interception saw %d oidc-provider pages, want the login and the consent page", pages.Load())
	}
	if sc.lateCompletion {
		if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS(`form input[name=prompt][value=consent]`))); err != nil {
			t.Fatalf("approving in the popup: %v", err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for len(b.tokenRecords()) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the sign-in the user finished after the page reported popup_closed never completed")
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.checkTokens()
		return
	}
	b.inPopup(popup, "approving in the popup", func(ctx context.Context) error { return signIn(ctx, false) })
	b.waitConnected()
	b.checkTokens()
}

// TestBrowserPopupCOOP: COOP on every page of an authorization server whose
// /auth takes 700 ms, so that the page sees the popup open for a while
// before the first COOP page severs it.
func TestBrowserPopupCOOP(t *testing.T) {
	runPopupCOOP(t, coopScenario{holdAuth: 700 * time.Millisecond, coopFrom: 0, lateCompletion: true})
}

// TestBrowserPopupCOOPAfterLogin: the authorization server's login page
// sends no COOP, the next page does (as when it hands over to a federated
// identity provider that sends COOP): the popup is severed after the page
// saw it at a cross-origin page.
func TestBrowserPopupCOOPAfterLogin(t *testing.T) {
	runPopupCOOP(t, coopScenario{coopFrom: 1, lateCompletion: true})
}

// ---- helpers of the hardening scenarios ----

// TestBrowserSlowConsentAndTimeout: (a) a sign-in that sits on the login
// form longer than popup.timeoutMs ends as timeout, naming the option,
// about when it says, and closes its window (a client the test creates in
// the demo page with popup.timeoutMs 3000); (b) a user who reads the
// consent page for 6 s, longer than every poll interval of mcp-oauth.js
// (250 ms, 1 s), still completes the sign-in.
func TestBrowserSlowConsentAndTimeout(t *testing.T) {
	demo, b := openDemo(t, "popup")

	// (a) The timeout.
	const timeoutMs = 3000
	b.newClientInPage("__slowClient", fmt.Sprintf(`{ mcpUrl: %s, redirectUri: location.origin + '/callback.html', popup: { timeoutMs: %d }, storageKeyPrefix: 'timeout-test' }`,
		jsString(demo.MCPURL), timeoutMs))
	started := time.Now()
	popup, id, done := b.openWindow("timeout popup", `(window.__slow = window.__slowClient.authorize(), window.__slow.catch(() => {}), 0)`)
	ctx, cancel := context.WithTimeout(popup, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`input[name=login]`))); err != nil {
		t.Fatalf("waiting for the login form in the popup: %v", err)
	}
	cancel()
	loginShown := time.Now() // the timer started before the popup left about:blank
	out := b.settle(15*time.Second, "waiting for authorize() to give up", `window.__slow`)
	took, afterLogin := time.Since(started), time.Since(loginShown)
	done()
	if out.OK || out.Code != "timeout" || !strings.Contains(out.Message, "popup.timeoutMs") {
		t.Errorf("authorize() %s, want a timeout naming popup.timeoutMs", out)
	}
	if took < timeoutMs*time.Millisecond || afterLogin > timeoutMs*time.Millisecond+time.Second {
		t.Errorf("authorize() gave up %s after the click and %s after the login form showed, want %d ms after the popup was sent to the authorization server",
			took.Round(10*time.Millisecond), afterLogin.Round(10*time.Millisecond), timeoutMs)
	}
	t.Logf("timeout %s after the click (%s after the login form showed)", took.Round(10*time.Millisecond), afterLogin.Round(10*time.Millisecond))
	if !b.waitTargetClosed(id, 2*time.Second) {
		t.Error("the timed-out sign-in left its window open")
	}
	if msg := b.pageError(b.ctx); msg != "" {
		t.Errorf("the demo page shows an error for the other client's sign-in: %s", msg)
	}

	// (b) Slow consent.
	popup, _, done = b.clickForPopup("#connect")
	defer done()
	ctx, cancel = context.WithTimeout(popup, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-user"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any password"),
		chromedp.Submit(chromedp.CSS(`input[name=login]`)),
		chromedp.WaitReady(chromedp.CSS(`form input[name=prompt][value=consent]`)),
	); err != nil {
		t.Fatalf("logging in in the popup: %v", err)
	}
	time.Sleep(6 * time.Second) // the user reads the consent page
	if msg := b.pageError(b.ctx); msg != "" {
		t.Fatalf("while the user read the consent page, the page gave up: %s", msg)
	}
	b.inPopup(popup, "approving in the popup", func(ctx context.Context) error { return signIn(ctx, false) })
	b.waitConnected()
	b.checkTokens()
}
