//go:build !js

package e2e

// Redirect-mode sign-ins: the flow, and return URLs on this origin only.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

func TestBrowserRedirectFlow(t *testing.T) {
	demo, b := openDemo(t, "redirect")

	b.do("clicking Connect", chromedp.Click(chromedp.CSS("#connect")))
	if err := signIn(b.ctx, true); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("signing in (at %s): %v", redactQuery(loc), err)
	}
	b.waitConnected()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		t.Errorf("the address bar still holds the authorization response: %s", redactQuery(loc))
	}
	if !strings.HasPrefix(loc, demo.URL) {
		t.Errorf("back at %s, want the demo page %s", redactQuery(loc), demo.URL)
	}
	b.checkTokens()
	b.callTool("#call-echo", "Hello from the browser")

	// A reload connects again with the stored token, without signing in.
	b.do("reloading the demo page", chromedp.Reload())
	b.waitConnected()
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); loc != demo.URL {
		t.Errorf("after the reload the page is at %s, want %s", redactQuery(loc), demo.URL)
	}

	// Forget this server: the tokens are gone.
	b.do("clicking Forget this server", chromedp.Click(chromedp.CSS("#forget")))
	b.within(10*time.Second, "waiting for the page to show no token", chromedp.WaitVisible(chromedp.CSS("#token-none")))
	if r := b.tokenRecords(); len(r) != 0 {
		t.Errorf("after Forget localStorage still holds %d tokens records", len(r))
	}
}

// TestBrowserRedirectReturnToSameOriginOnly: a redirect-mode sign-in whose
// stored pending record is rewritten while the user is at the
// authorization server (as script on another tab of the origin could) so
// that return_to points elsewhere. (a) http://evil.example/ through
// callback.html, which navigates to the result's returnTo: the browser
// never goes there and ends on the app's origin, signed in; (b) a
// javascript: URL: handleRedirectCallback, called by the test, returns a
// same-origin returnTo, and no script ran.
func TestBrowserRedirectReturnToSameOriginOnly(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	callback := demo.Origin + "/callback.html"
	options := `{ mcpUrl: ` + jsString(demo.MCPURL) + `, redirectUri: ` + jsString(callback) + `, mode: 'redirect' }`
	var tab *browserRun

	// rewrite starts a redirect sign-in from the demo page with returnTo
	// and, once the page is at the authorization server, rewrites its
	// pending record's return_to from another tab.
	rewrite := func(returnTo, evil string) {
		t.Helper()
		b.openDemo("popup")
		b.newClientInPage("__redirectClient", options)
		b.evaluate("starting a redirect sign-in", `window.__redirectClient.authorize({ returnTo: `+jsString(returnTo)+` }).catch((e) => console.error('authorize failed: ' + e.code))`)
		b.waitJS(30*time.Second, "waiting for the authorization server's page", `location.origin === `+jsString(demo.Issuer)+` && document.readyState === 'complete' ? 'yes' : ''`)
		if tab == nil {
			tab = b.openTab("tab 2")
			tab.do("opening the app's origin in tab 2", chromedp.Navigate(callback))
		}
		got := tab.waitJS(5*time.Second, "rewriting the pending sign-in's return_to", `(() => {
			const keys = Object.keys(localStorage).filter((k) => k.startsWith('mcp-oauth:v1:pending:'));
			if (keys.length !== 1) return 'pending records: ' + keys.length;
			const p = JSON.parse(localStorage.getItem(keys[0]));
			const was = p.return_to;
			p.return_to = `+jsString(evil)+`;
			localStorage.setItem(keys[0], JSON.stringify(p));
			return 'was ' + was;
		})()`)
		if got != "was "+returnTo {
			t.Fatalf("the pending record: %s, want one with return_to %s", got, returnTo)
		}
	}

	// (a) Through callback.html.
	rewrite(demo.URL+"?back=1", "http://evil.example/")
	if err := signIn(b.ctx, true); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	wentEvil := func() bool {
		for _, u := range b.watch.requested() {
			if strings.Contains(u.text, "evil.example") {
				t.Errorf("the browser went to the tampered return_to: %s %s", u.where, u.text)
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if wentEvil() {
			t.FailNow()
		}
		loc, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.href : ''`))
		if strings.HasPrefix(loc, demo.URL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not come back to the demo page from callback.html within 30 s (at %s)", redactQuery(loc))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.waitConnected() // the page finds the tokens the sign-in stored
	b.checkTokens()
	if wentEvil() {
		t.FailNow()
	}

	// (b) handleRedirectCallback itself: the response is held back from
	// callback.html (its navigation is answered with a redirect to
	// callback.html without a query, which then does nothing) and the test
	// hands it to handleRedirectCallback in that page.
	rewrite(demo.URL+"?back=2", "javascript:window.__xss=1//")
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: callbackPattern(callback), RequestStage: fetch.RequestStageRequest, ResourceType: "Document"},
	}}); err != nil {
		t.Fatal(err)
	}
	held := make(chan string, 1)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusFound,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Location", Value: callback}, {Name: "Cache-Control", Value: "no-store"}},
			})
			select {
			case held <- ev.Request.URL + ev.Request.URLFragment:
			default:
			}
		}
	}()
	if err := signIn(b.ctx, false); err != nil {
		t.Fatalf("signing in again: %v", err)
	}
	var response string
	select {
	case response = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the sign-in never came back to callback.html")
	}
	if _, err := chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.waitJS(10*time.Second, "waiting for callback.html without a response", `location.href === `+jsString(callback)+` && document.readyState === 'complete' ? 'yes' : ''`)
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[struct {
		ReturnTo  string `json:"returnTo"`
		HasTokens bool   `json:"hasTokens"`
	}](`import('/mcp-oauth.js').then((m) => m.load()).then((api) => api.handleRedirectCallback(`+jsString(response)+`))
		.then((r) => ({ returnTo: r.returnTo, hasTokens: !!r.tokens?.access_token }))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("handleRedirectCallback: %v", err)
	}
	if !res.HasTokens {
		t.Error("handleRedirectCallback returned no tokens")
	}
	if u, err := url.Parse(res.ReturnTo); err != nil || u.Scheme+"://"+u.Host != demo.Origin {
		t.Errorf("handleRedirectCallback returned returnTo %q, want a URL on %s", res.ReturnTo, demo.Origin)
	}
	b.checkNoInjection("after handleRedirectCallback")
}
