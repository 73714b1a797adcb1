//go:build !js

package e2e

// Browser end-to-end tests: the demo page (web/demo/) in Debian's Chromium,
// driven with chromedp, against the demo server (cmd/demo) and the real peers
// it starts (oidc-provider with its login and consent forms, the TypeScript
// SDK MCP server, and with -go-mcp the Go SDK MCP server of peers/gomcp).
// They need the browser module built (./build.sh, which these tests run) and
// /usr/bin/chromium (apt-get install -y chromium).
//
// Chromium's popup blocker stays on. chromedp's clicks are user gestures;
// so is chromedp.Poll (it evaluates with userGesture), which is why the
// scenarios that must run without one wait with waitJS instead.
//
//	go test -run TestBrowser -v ./e2e
//	MCP_OAUTH_SCREENSHOT=docs/demo.png go test -run TestBrowserPopupFlow -v ./e2e
//
// On failure (or with MCP_OAUTH_E2E_LOGS=1) they print the console of every
// page and popup, the demo page's visible state, and the demo server's
// output with the peers' request logs.
//
// After every browser test the harness checks (checkNoLeaks) that no token
// a page stored in localStorage appears in a URL any watched page requested,
// a console line, a progress or warning event's detail, the progress list or
// the servers' output, and that no page ran script or parsed markup from the
// tests' injection payloads (probeJS). It names the place and the token's
// SHA-256 prefix, never the token, and the failure output is redacted.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/domstorage"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
)

const chromiumPath = browser.ChromiumPath

// browserTimeout bounds each browser test after the browser has started.
const browserTimeout = 3 * time.Minute

// syncBuffer collects a subprocess's output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	buildModuleOnce sync.Once
	buildModuleErr  error
)

// requireBrowserModule runs ./build.sh once per test binary, unless
// web/mcp-oauth.wasm is newer than every Go source it is built from (as
// right after ./build.sh test built it), and checks that the browser module
// is there.
func requireBrowserModule(t *testing.T) {
	t.Helper()
	buildModuleOnce.Do(func() {
		if wasmUpToDate() {
			return
		}
		cmd := exec.Command("./build.sh")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildModuleErr = fmt.Errorf("./build.sh failed: %v\n%s", err, out)
		}
	})
	if buildModuleErr != nil {
		t.Fatal(buildModuleErr)
	}
	for _, f := range []string{"web/mcp-oauth.wasm", "web/wasm_exec.js", "web/mcp-oauth.js", "web/callback.html", "web/demo/index.html"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is missing after ./build.sh: the browser module (wasm/, web/) is not built (%v)", f, err)
		}
	}
}

// wasmUpToDate reports whether web/mcp-oauth.wasm and web/wasm_exec.js
// exist and the wasm is newer than go.mod, go.sum and the Go files of the
// module root and wasm/.
func wasmUpToDate() bool {
	wasm, err := os.Stat("web/mcp-oauth.wasm")
	if err != nil {
		return false
	}
	if _, err := os.Stat("web/wasm_exec.js"); err != nil {
		return false
	}
	sources := []string{"go.mod", "go.sum"}
	for _, pattern := range []string{"*.go", "wasm/*.go"} {
		m, _ := filepath.Glob(pattern)
		sources = append(sources, m...)
	}
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		st, err := os.Stat(f)
		if err != nil || st.ModTime().After(wasm.ModTime()) {
			return false
		}
	}
	return true
}

// demoServer is cmd/demo running with its peers.
type demoServer struct {
	URL      string // the demo page, http://127.0.0.1:PORT/demo/
	Origin   string
	Issuer   string      // the authorization server
	MCPURL   string      // the TypeScript SDK MCP server
	GoMCPURL string      // the Go SDK MCP server (-go-mcp), else ""
	out      *syncBuffer // the server's output, peers' request logs included (-v)
}

// Prefixes of the peers' request-log lines in the demo server's output.
const (
	asLog    = "[authserver] [as] " // oidc-provider
	tsMCPLog = "[mcpserver] [mcp] " // the TypeScript SDK MCP server
	goMCPLog = "[gomcp] [mcp] "     // the Go SDK MCP server
)

// startDemoServer starts cmd/demo with -v and args (e.g. -go-mcp,
// -access-token-ttl 4s, -test-hooks). MCP_OAUTH_WEB_DIR serves another copy
// of web/ (-web): to check that a test fails when a protection in
// mcp-oauth.js, callback.js or the demo is taken out of a copy.
func startDemoServer(t *testing.T, args ...string) *demoServer {
	t.Helper()
	if dir := os.Getenv("MCP_OAUTH_WEB_DIR"); dir != "" {
		args = append([]string{"-web", dir}, args...)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/demo").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/demo: %v\n%s", err, out)
	}
	ready := filepath.Join(dir, "ready")
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-ready-file", ready, "-v"}, args...)...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the demo server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // stops the peers too
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// The first run may npm-install and build the SDK bundle.
	deadline := time.Now().Add(3 * time.Minute)
	var demoURL string
	for {
		if b, err := os.ReadFile(ready); err == nil && len(bytes.TrimSpace(b)) > 0 {
			demoURL = strings.TrimSpace(string(b))
			break
		}
		select {
		case <-exited:
			t.Fatalf("the demo server exited before it was ready:\n%s", out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo server was not ready within 3 minutes:\n%s", out)
		}
	}
	d := &demoServer{URL: demoURL, Origin: strings.TrimSuffix(demoURL, "/demo/"), out: out}
	res, err := http.Get(d.Origin + "/demo/config.json")
	if err != nil {
		t.Fatalf("GET /demo/config.json: %v", err)
	}
	defer res.Body.Close()
	var cfg struct {
		MCPURL   string `json:"mcpUrl"`
		GoMCPURL string `json:"goMcpUrl"`
		Issuer   string `json:"issuer"`
	}
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil || cfg.MCPURL == "" || cfg.Issuer == "" {
		t.Fatalf("/demo/config.json: %v (mcpUrl %q, issuer %q)", err, cfg.MCPURL, cfg.Issuer)
	}
	d.MCPURL, d.GoMCPURL, d.Issuer = cfg.MCPURL, cfg.GoMCPURL, cfg.Issuer
	t.Logf("demo %s, authorization server %s, MCP server %s", d.URL, d.Issuer, d.MCPURL)
	if d.GoMCPURL != "" {
		t.Logf("Go SDK MCP server %s", d.GoMCPURL)
	}
	return d
}

// logLines returns the lines of the demo server's output (the peers'
// request logs included) that contain every one of substrs.
func (d *demoServer) logLines(substrs ...string) []string {
	var out []string
	for line := range strings.SplitSeq(d.out.String(), "\n") {
		ok := true
		for _, s := range substrs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func (d *demoServer) countLog(substrs ...string) int { return len(d.logLines(substrs...)) }

// waitLog waits until the output holds at least n lines that contain every
// one of substrs. The MCP servers log a request after its response is sent,
// so the page can see a response before its log line.
func (d *demoServer) waitLog(t *testing.T, n int, within time.Duration, substrs ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for d.countLog(substrs...) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the servers logged %d lines containing %q within %s, want at least %d", d.countLog(substrs...), substrs, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restartAuthServer restarts the authorization server on its port with
// empty storage (cmd/demo -test-hooks).
func (d *demoServer) restartAuthServer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.Origin+"/demo/test/restart-as", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /demo/test/restart-as: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST /demo/test/restart-as: HTTP %d, %v", res.StatusCode, err)
	}
	if body.Issuer != d.Issuer {
		t.Fatalf("the restarted authorization server is %s, want %s (the same port)", body.Issuer, d.Issuer)
	}
}

// ---- what the harness watches in every page: tokens, requests, probes ----

// browserWatch collects, for one browser (all its tabs and popups), the
// token values that pages stored, every URL they requested or put in the
// address bar, and what the probe script (probeJS) reported: progress and
// warning event details, script run from attacker-chosen text, and what a
// callback page says. At the end of every browser test checkNoLeaks asserts
// that no stored token appears in a URL, a console line, an event detail,
// the progress list or the servers' logs, and that no probe saw injected
// script run.
type browserWatch struct {
	mu      sync.Mutex
	tokens  map[string]string // token value → "access token" or "refresh token"
	urls    []watchedText     // every URL requested or navigated to within a document
	reports []probeReport     // from probeJS
	// injectionChecked is how many reports checkNoInjection has looked at.
	injectionChecked int
	texts            []watchedText // end-of-test snapshots (the progress list)
}

type watchedText struct{ where, text string }

// probeReport is one call of the probe binding.
type probeReport struct {
	Where  string `json:"-"` // the page that reported ("demo page", "popup", …)
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Href   string `json:"href"`
}

// probeBinding is the CDP binding (Runtime.addBinding) probeJS reports through.
const probeBinding = "__mcpTestProbe"

// probeJS runs in every document of every watched page, before the page's
// own scripts (Page.addScriptToEvaluateOnNewDocument). It reports:
//   - "xss": window.__xss was assigned (the canary every injection payload
//     in these tests sets);
//   - "element": an element whose attributes or inline script carry the
//     marker "__xss" was inserted or changed (HTML parsed from text);
//   - "progress", "warning", "trace": the detail of such an event any
//     client dispatched (leak check);
//   - "status": on callback.html, what #status says, as text, whenever it
//     changes, with the number of elements inside it.
const probeJS = `(() => {
  const report = (kind, detail) => { try { globalThis.` + probeBinding + `(JSON.stringify({ kind, detail: String(detail), href: location.href })); } catch {} };
  let canary;
  try {
    Object.defineProperty(window, '__xss', { configurable: false, get() { return canary; }, set(v) { canary = v; report('xss', v); } });
  } catch {}
  const MARK = '__xss';
  const check = (el) => {
    if (!el || el.nodeType !== 1) return;
    for (const e of [el, ...el.querySelectorAll('*')]) {
      const attr = [...e.attributes].some((a) => a.name.includes(MARK) || a.value.includes(MARK));
      if (attr || (e.tagName === 'SCRIPT' && e.textContent.includes(MARK))) report('element', e.outerHTML.slice(0, 300));
    }
  };
  const isCallback = location.pathname.endsWith('/callback.html');
  let lastStatus = null;
  const status = () => {
    const s = isCallback && document.getElementById('status');
    if (!s) return;
    const v = JSON.stringify({ text: s.textContent, elements: s.children.length });
    if (v !== lastStatus) report('status', lastStatus = v);
  };
  new MutationObserver((ms) => {
    for (const m of ms) {
      if (m.type === 'attributes') check(m.target);
      else m.addedNodes.forEach(check);
    }
    status();
  }).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
  const dispatch = EventTarget.prototype.dispatchEvent;
  EventTarget.prototype.dispatchEvent = function (ev) {
    try {
      if (ev instanceof CustomEvent && (ev.type === 'progress' || ev.type === 'warning' || ev.type === 'trace')) report(ev.type, JSON.stringify(ev.detail));
    } catch {}
    return dispatch.call(this, ev);
  };
})();`

// watchPage captures, for the page of ctx (tab, popup or other window): its
// console, the URLs it requests or moves to, the tokens records it writes to
// localStorage, and probeJS's reports for every document it loads from now
// on.
func (b *browserRun) watchPage(ctx context.Context, name string) {
	b.t.Helper()
	b.console.Watch(ctx, name)
	w := b.watch
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request != nil {
				w.addURL(name+" requested", ev.Request.URL+ev.Request.URLFragment)
			}
		case *page.EventNavigatedWithinDocument:
			w.addURL(name+" address bar", ev.URL)
		case *domstorage.EventDomStorageItemAdded:
			w.addStored(ev.Key, ev.NewValue)
		case *domstorage.EventDomStorageItemUpdated:
			w.addStored(ev.Key, ev.NewValue)
		case *runtime.EventBindingCalled:
			if ev.Name == probeBinding {
				var r probeReport
				if json.Unmarshal([]byte(ev.Payload), &r) == nil {
					r.Where = name
					w.mu.Lock()
					w.reports = append(w.reports, r)
					w.mu.Unlock()
				}
			}
		}
	}); err != nil {
		b.t.Fatalf("watching %s: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, domstorage.Enable, cdp.Empty{}); err != nil {
		b.t.Fatalf("watching %s's storage: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, runtime.AddBinding, runtime.AddBindingParams{Name: probeBinding}); err != nil {
		b.t.Fatalf("adding the probe binding to %s: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probeJS}); err != nil {
		b.t.Fatalf("adding the probe script to %s: %v", name, err)
	}
}

func (w *browserWatch) addURL(where, u string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.urls = append(w.urls, watchedText{where, u})
}

// addStored notes the token values of a tokens record (whatever its key
// prefix) written to Web Storage.
func (w *browserWatch) addStored(key, value string) {
	if !strings.Contains(key, ":v1:tokens:") && !strings.Contains(key, ":v1:client:") && !strings.Contains(key, ":v1:pending:") {
		return
	}
	var rec struct {
		AccessToken  any `json:"access_token"`
		RefreshToken any `json:"refresh_token"`
		ClientSecret any `json:"client_secret"` // a registration
		CodeVerifier any `json:"code_verifier"` // a started sign-in
	}
	if json.Unmarshal([]byte(value), &rec) != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tokens == nil {
		w.tokens = map[string]string{}
	}
	for kind, v := range map[string]any{"access token": rec.AccessToken, "refresh token": rec.RefreshToken, "client secret": rec.ClientSecret, "PKCE verifier": rec.CodeVerifier} {
		// Shorter values are test garbage, and would match by chance.
		if s, ok := v.(string); ok && len(s) >= 16 {
			w.tokens[s] = kind
		}
	}
}

// probeReports returns the probe's reports of kind (all kinds for "").
func (w *browserWatch) probeReports(kind string) []probeReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []probeReport
	for _, r := range w.reports {
		if kind == "" || r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// requested returns every URL the watched pages requested or moved to.
func (w *browserWatch) requested() []watchedText {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]watchedText(nil), w.urls...)
}

// fingerprint names a token without showing it.
func fingerprint(kind, token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("<%s sha256:%s, %d chars>", kind, hex.EncodeToString(sum[:6]), len(token))
}

// redact replaces every token seen with its fingerprint.
func (w *browserWatch) redact(s string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for tok, kind := range w.tokens {
		s = strings.ReplaceAll(s, tok, fingerprint(kind, tok))
	}
	return s
}

// snapshotPage records, before the page goes away, the tokens records in
// its localStorage (in case an event was missed) and its progress list.
func (b *browserRun) snapshotPage(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snap, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Records  map[string]string `json:"records"`
		Progress string            `json:"progress"`
	}](`(() => {
		const records = {};
		try {
			for (let i = 0; i < localStorage.length; i++) {
				const k = localStorage.key(i);
				if (k.includes(':v1:tokens:')) records[k] = localStorage.getItem(k);
			}
		} catch {}
		const p = document.getElementById('progress');
		return { records, progress: p ? p.textContent : '' };
	})()`))
	if err != nil {
		return // the page is gone or elsewhere: the events are what count
	}
	for k, v := range snap.Records {
		b.watch.addStored(k, v)
	}
	if snap.Progress != "" {
		b.watch.mu.Lock()
		b.watch.texts = append(b.watch.texts, watchedText{name + " progress list", snap.Progress})
		b.watch.mu.Unlock()
	}
}

// checkNoLeaks fails the test for each of leakProblems.
func (b *browserRun) checkNoLeaks() {
	for _, p := range b.leakProblems() {
		b.t.Error(p)
	}
}

// leakProblems lists where a stored token appears where it must never be
// (naming the place and the token's fingerprint, never the token), and
// where a probe saw injected script run or injected markup parsed.
func (b *browserRun) leakProblems() []string {
	w := b.watch
	var problems []string
	for _, r := range w.probeReports("xss") {
		problems = append(problems, fmt.Sprintf("script from attacker-chosen text ran in the %s at %s", r.Where, redactQuery(r.Href)))
	}
	for _, r := range w.probeReports("element") {
		problems = append(problems, fmt.Sprintf("markup from attacker-chosen text became an element in the %s at %s: %s", r.Where, redactQuery(r.Href), r.Detail))
	}

	var places, eventPlaces []watchedText
	for _, r := range w.probeReports("") {
		if r.Kind == "progress" || r.Kind == "warning" || r.Kind == "trace" {
			eventPlaces = append(eventPlaces, watchedText{fmt.Sprintf("a %s event's detail in the %s", r.Kind, r.Where), r.Detail})
		}
	}
	for _, l := range b.console.Lines() {
		eventPlaces = append(eventPlaces, watchedText{"the browser console", l})
	}
	places = append(places, eventPlaces...)
	// Authorization codes travel in the callback URL, so they are looked
	// for in events and the console only.
	for _, u := range w.requested() {
		if parsed, err := url.Parse(u.text); err == nil {
			for _, q := range []url.Values{parsed.Query(), parseFragment(parsed.Fragment)} {
				if code := q.Get("code"); len(code) >= 16 {
					for _, p := range eventPlaces {
						if strings.Contains(p.text, code) {
							problems = append(problems, fmt.Sprintf("secret leak: an authorization code %s appears in %s", fingerprint("code", code), p.where))
						}
					}
				}
			}
		}
	}
	for _, u := range w.requested() {
		places = append(places, watchedText{"a URL (" + u.where + ")", u.text})
	}
	for l := range strings.SplitSeq(b.demo.out.String(), "\n") {
		places = append(places, watchedText{"the servers' output", l})
	}
	w.mu.Lock()
	places = append(places, w.texts...)
	tokens := make(map[string]string, len(w.tokens))
	for k, v := range w.tokens {
		tokens[k] = v
	}
	w.mu.Unlock()

	leaks := 0
	for tok, kind := range tokens {
		seen := map[watchedText]bool{}
		for _, p := range places {
			if !strings.Contains(p.text, tok) || seen[p] {
				continue
			}
			seen[p] = true
			leaks++
			if leaks <= 10 {
				text := w.redact(p.text)
				if len(text) > 400 {
					text = text[:400] + "…"
				}
				problems = append(problems, fmt.Sprintf("token leak: the %s %s appears in %s: %s", kind, fingerprint(kind, tok), p.where, text))
			}
		}
	}
	if leaks > 10 {
		problems = append(problems, fmt.Sprintf("token leak: %d places in all", leaks))
	}
	if os.Getenv("MCP_OAUTH_E2E_LOGS") != "" {
		b.t.Logf("leak check: %d tokens against %d places", len(tokens), len(places))
	}
	return problems
}

// forget drops a token from the leak check (a test that planted it).
func (w *browserWatch) forget(tok string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.tokens, tok)
}

// browserRun is one Chromium with the demo page open in its first tab (or,
// from openTab, in another tab of the same browser).
type browserRun struct {
	t       *testing.T
	demo    *demoServer
	root    context.Context // the page's chromedp context, no deadline
	ctx     context.Context // root with the test's deadline
	console *browser.Console
	name    string        // "demo page", "tab 2"
	popups  *atomic.Int32 // windows opened by pages (popups), counted across tabs
	watch   *browserWatch // what every watched page requested, stored and reported, shared across tabs
}

// openDemo starts the demo server (with extra cmd/demo flags) and a
// browser on its page in the given mode: the start of most browser tests.
func openDemo(t *testing.T, mode string, demoFlags ...string) (*demoServer, *browserRun) {
	t.Helper()
	requireBrowserModule(t)
	demo := startDemoServer(t, demoFlags...)
	b := startBrowser(t, demo)
	b.openDemo(mode)
	return demo, b
}

func startBrowser(t *testing.T, demo *demoServer) *browserRun {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required at %s (%v): apt-get update && apt-get install -y chromium", chromiumPath, err)
	}
	opts := browser.Options(
		// Keep Chromium's popup blocker on: Connect must open the popup
		// inside the click.
		chromedp.Flag("disable-popup-blocking", false),
		chromedp.WindowSize(1200, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
	})
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	b := &browserRun{t: t, demo: demo, root: root, console: &browser.Console{}, name: "demo page", popups: &atomic.Int32{}, watch: &browserWatch{}}
	b.watchPage(root, "demo page")
	// Count the windows that pages open (TargetCreated with an opener): a
	// scenario asserts that no sign-in window appeared.
	created := chromedp.Events(root, target.TargetCreated)
	go func() {
		for ev, err := range created {
			if err != nil {
				return
			}
			if info := ev.TargetInfo; info != nil && info.Type == "page" && info.OpenerID != "" {
				b.popups.Add(1)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(root, browserTimeout)
	t.Cleanup(cancel)
	b.ctx = ctx

	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("MCP_OAUTH_E2E_LOGS") == "" {
			return
		}
		// A token that leaked into these is shown as its fingerprint.
		t.Logf("demo page state:\n%s", b.watch.redact(b.pageState()))
		t.Logf("browser console:\n%s", b.watch.redact(b.console.String()))
		t.Logf("demo server output (peers' request logs included):\n%s", b.watch.redact(demo.out.String()))
	})
	// Registered last, so it runs first: while the browser still runs, and
	// before the failure report above.
	t.Cleanup(func() {
		b.snapshotPage(b.root, b.name)
		b.checkNoLeaks()
	})
	return b
}

// openTab opens another tab in the same browser (and browser context: the
// same localStorage and Web Locks) and loads the demo page there.
func (b *browserRun) openTab(name string) *browserRun {
	b.t.Helper()
	tab, cancelTab := chromedp.NewContext(b.root)
	b.t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil {
		b.t.Fatalf("opening %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(tab, browserTimeout)
	b.t.Cleanup(cancel)
	nb := &browserRun{t: b.t, demo: b.demo, root: tab, ctx: ctx, console: b.console, name: name, popups: b.popups, watch: b.watch}
	nb.watchPage(tab, name)
	b.t.Cleanup(func() {
		if b.t.Failed() {
			b.t.Logf("%s state:\n%s", name, b.watch.redact(nb.pageState()))
		}
	})
	// Before the tab closes: what it shows and stores, for the leak check.
	b.t.Cleanup(func() { nb.snapshotPage(tab, name) })
	return nb
}

// pageState is what the demo page shows, for failure reports.
func (b *browserRun) pageState() string {
	ctx, cancel := context.WithTimeout(b.root, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const text = (id) => { const e = document.getElementById(id); return e ? (e.hidden ? '(hidden) ' : '') + e.innerText.trim() : '(no #' + id + ')'; };
		return ['location: ' + location.href, 'status: ' + text('status'), 'error: ' + text('error'),
			'progress:\n' + text('progress'), 'tools: ' + text('tools'), 'result: ' + text('result')].join('\n');
	})()`))
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	return s
}

func (b *browserRun) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// within runs actions with their own time limit.
func (b *browserRun) within(d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s (within %s): %v", what, d, err)
	}
}

func (b *browserRun) openDemo(mode string) {
	b.t.Helper()
	b.openDemoAt(b.demo.URL, b.demo.MCPURL)
	b.do("choosing mode "+mode, chromedp.Click(chromedp.CSS(`input[name=mode][value=`+mode+`]`)))
}

// openDemoAt loads the demo page from pageURL (e.g. with ?mcp=go), waits
// until mcp-oauth.js is loaded and checks that the page chose mcpURL. It
// neither clicks nor polls (no user gesture).
func (b *browserRun) openDemoAt(pageURL, mcpURL string) {
	b.t.Helper()
	b.do("opening the demo page "+pageURL, chromedp.Navigate(pageURL))
	b.within(30*time.Second, "waiting for the demo page to load mcp-oauth.js (Connect enabled)", chromedp.WaitEnabled(chromedp.CSS("#connect")))
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#mcp-url")))
	if err != nil {
		b.t.Fatal(err)
	}
	if v != mcpURL {
		b.t.Fatalf("the MCP URL input holds %q, want %q from /demo/config.json", v, mcpURL)
	}
}

// signIn completes oidc-provider's devInteractions login and consent forms
// in the page of ctx.
func signIn(ctx context.Context, login bool) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if login {
		if err := chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-user"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any password"),
			chromedp.Submit(chromedp.CSS(`input[name=login]`)),
		); err != nil {
			return fmt.Errorf("login form: %w", err)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS(`form input[name=prompt][value=consent]`)),
		chromedp.Submit(chromedp.CSS(`form input[name=prompt][value=consent]`)),
	); err != nil && !errors.Is(err, chromedp.ErrTargetDetached) {
		return fmt.Errorf("consent form: %w", err)
	}
	return nil
}

// clickAndSignInPopup clicks sel in the demo page, waits for the popup it
// opens and signs in there.
func (b *browserRun) clickAndSignInPopup(sel string, login bool) {
	b.t.Helper()
	popup, _, cancel := b.clickForPopup(sel)
	defer cancel()
	b.inPopup(popup, "signing in in the popup", func(ctx context.Context) error { return signIn(ctx, login) })
}

// clickForPopup clicks sel in the demo page and attaches to the popup the
// click opens (see attachWindow: it stays watched until the test ends).
func (b *browserRun) clickForPopup(sel string) (popup context.Context, id target.ID, done func()) {
	b.t.Helper()
	popups := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" })
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	select {
	case id = <-popups:
	case <-time.After(30 * time.Second):
		b.t.Fatalf("clicking %s opened no popup within 30 s", sel)
	}
	if id == "" {
		b.t.Fatalf("clicking %s: waiting for the popup failed", sel)
	}
	popup, cancel := b.attachWindow(id, "popup")
	// A real browser gives a new popup the focus; headless Chromium does not
	// move it by itself. The page reads document.hasFocus() to tell a user
	// who closed the popup (back on the page) from a COOP-severed popup.
	if _, err := chromedp.Call(popup, page.BringToFront, cdp.Empty{}); err != nil {
		b.t.Logf("bringing the popup to the front: %v", err)
	}
	return popup, id, cancel
}

// inPopup runs fn with the popup's context and fails the test when fn fails.
// It gives up at once when the demo page reports an error (the popup then
// closes and fn would only time out).
func (b *browserRun) inPopup(popup context.Context, what string, fn func(context.Context) error) {
	b.t.Helper()
	signInCtx, cancelSignIn := context.WithCancelCause(popup)
	defer cancelSignIn(nil)
	watchDone := make(chan struct{})
	defer func() { cancelSignIn(nil); <-watchDone }()
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-signInCtx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			if msg := b.pageError(signInCtx); msg != "" {
				cancelSignIn(fmt.Errorf("the demo page shows an error: %s", msg))
				return
			}
		}
	}()
	if err := fn(signInCtx); err != nil {
		if cause := context.Cause(signInCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		loc, _ := chromedp.Run(popup, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, redactQuery(loc), err)
	}
}

// pageError is the demo page's error text, "" when it shows none. It uses
// the page's own context (the caller's ctx only bounds the wait).
func (b *browserRun) pageError(ctx context.Context) string {
	ctx2, cancel := context.WithTimeout(b.root, 2*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	msg, err := chromedp.Run(ctx2, chromedp.Evaluate[string](`(() => { const e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''; })()`))
	if err != nil {
		return ""
	}
	return msg
}

// waitConnected waits until the demo page lists the server's tools.
func (b *browserRun) waitConnected() {
	b.t.Helper()
	b.within(60*time.Second, "waiting for the tools list (echo, admin_stats)",
		chromedp.WaitVisible(chromedp.CSS(`#tools li[data-tool="echo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tools li[data-tool="admin_stats"]`)),
	)
	status, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#status")))
	if err != nil {
		b.t.Fatal(err)
	}
	if !strings.HasPrefix(status, "Connected") {
		b.t.Errorf("status reads %q, want Connected…", status)
	}
}

type storedTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ExpiresAt    int64  `json:"expires_at"`
	IssuedAt     int64  `json:"issued_at"`
	Issuer       string `json:"issuer"`
	Resource     string `json:"resource"`
	ClientID     string `json:"client_id"`
}

// checkTokens checks that localStorage holds one tokens record, for the
// demo's MCP server, and what checkTokensFor checks. It returns the record.
func (b *browserRun) checkTokens() storedTokens {
	b.t.Helper()
	records := b.tokenRecords()
	if len(records) != 1 {
		keys := make([]string, 0, len(records))
		for k := range records {
			keys = append(keys, k)
		}
		b.t.Fatalf("localStorage holds %d tokens records (%q), want 1", len(records), keys)
	}
	return b.checkTokensFor(b.demo.MCPURL)
}

// checkTokensFor checks the tokens record of mcpURL in localStorage and that
// the token appears nowhere on the page or in its console. It returns the
// record.
func (b *browserRun) checkTokensFor(mcpURL string) storedTokens {
	b.t.Helper()
	tok, ok := b.storedTokensFor(mcpURL)
	if !ok {
		b.t.Fatalf("localStorage holds no tokens record for %s", mcpURL)
	}
	now := time.Now().Unix()
	switch {
	case tok.AccessToken == "":
		b.t.Fatal("the tokens record has no access_token")
	case tok.Issuer != b.demo.Issuer:
		b.t.Errorf("tokens issuer = %q, want %q", tok.Issuer, b.demo.Issuer)
	case tok.ExpiresAt <= now:
		b.t.Errorf("tokens expires_at = %d, want > now (%d)", tok.ExpiresAt, now)
	case tok.Resource != mcpURL:
		b.t.Errorf("tokens resource = %q, want the MCP URL %q", tok.Resource, mcpURL)
	}

	// The page shows the token's metadata, never the token.
	page, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML + '\n' + document.body.innerText + '\n' +
		[...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\n')`))
	if err != nil {
		b.t.Fatalf("reading the page: %v", err)
	}
	if strings.Contains(page, tok.AccessToken) {
		b.t.Error("the page's text or markup contains the access token")
	}
	if tok.RefreshToken != "" && strings.Contains(page, tok.RefreshToken) {
		b.t.Error("the page's text or markup contains the refresh token")
	}
	if c := b.console.String(); strings.Contains(c, tok.AccessToken) || (tok.RefreshToken != "" && strings.Contains(c, tok.RefreshToken)) {
		b.t.Error("the browser console shows a token")
	}
	issuer, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#token-issuer")))
	if err != nil {
		b.t.Fatal(err)
	}
	if issuer != b.demo.Issuer {
		b.t.Errorf("the page shows issuer %q, want %q", issuer, b.demo.Issuer)
	}
	refresh, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#token-refresh")))
	if err != nil {
		b.t.Fatal(err)
	}
	if want := map[bool]string{true: "yes", false: "no"}[tok.RefreshToken != ""]; refresh != want {
		b.t.Errorf("the page shows refresh token %q, want %q", refresh, want)
	}
	return tok
}

// storedTokensFor returns the tokens record of mcpURL in localStorage.
func (b *browserRun) storedTokensFor(mcpURL string) (storedTokens, bool) {
	b.t.Helper()
	raw, ok := b.tokenRecords()["mcp-oauth:v1:tokens:"+mcpURL]
	if !ok {
		return storedTokens{}, false
	}
	var tok storedTokens
	if err := json.Unmarshal([]byte(raw), &tok); err != nil {
		b.t.Fatalf("the tokens record of %s does not hold JSON: %v", mcpURL, err)
	}
	return tok, true
}

// tokenRecords returns the tokens records in the page's localStorage.
func (b *browserRun) tokenRecords() map[string]string {
	b.t.Helper()
	records, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]string](`(() => {
		const out = {};
		for (let i = 0; i < localStorage.length; i++) {
			const k = localStorage.key(i);
			if (k.startsWith('mcp-oauth:v1:tokens:')) out[k] = localStorage.getItem(k);
		}
		return out;
	})()`))
	if err != nil {
		b.t.Fatalf("reading localStorage: %v", err)
	}
	return records
}

// callTool clicks a tool button and waits for its result.
func (b *browserRun) callTool(button, wantInResult string) string {
	b.t.Helper()
	b.do("clicking "+button, chromedp.Click(chromedp.CSS(button)))
	return b.waitResult(wantInResult)
}

func (b *browserRun) waitResult(want string) string {
	b.t.Helper()
	return b.waitResultWithin(want, 60*time.Second)
}

func (b *browserRun) waitResultWithin(want string, within time.Duration) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const r = document.getElementById('result');
		const e = document.getElementById('error');
		if (!e.hidden && e.textContent) return 'ERROR ' + e.textContent;
		return !r.hidden && r.textContent.includes(`+jsString(want)+`) ? r.textContent : false;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(within)))
	if err != nil {
		b.t.Fatalf("waiting for a result containing %q: %v", want, err)
	}
	if strings.HasPrefix(got, "ERROR ") {
		b.t.Fatalf("the page shows an error instead of a result containing %q: %s", want, got)
	}
	return got
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// redactQuery drops a URL's query (it may hold a code or state).
func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func (b *browserRun) screenshot(path string) {
	b.t.Helper()
	b.do("sizing the viewport", chromedp.EmulateViewport(1200, 900))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil && filepath.Dir(path) != "" {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// waitJS evaluates expr (which returns a string) every 50 ms until it
// returns a non-empty string, and returns that. Unlike chromedp.Poll it
// evaluates without a user gesture, so waiting never lets the page open a
// window it could not open on its own.
func (b *browserRun) waitJS(within time.Duration, what, expr string) string {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && v != "" {
			return v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: nothing within %s (last evaluation error: %v)", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitError waits until the demo page shows an error and returns the
// McpOAuthError's code (the page puts it in data-code) and the text shown.
func (b *browserRun) waitError(within time.Duration) (code, text string) {
	b.t.Helper()
	v := b.waitJS(within, "waiting for the demo page to show an error", `(() => {
		const e = document.getElementById('error');
		return e && !e.hidden && e.textContent ? JSON.stringify([e.dataset.code || '', e.textContent]) : '';
	})()`)
	var pair [2]string
	if err := json.Unmarshal([]byte(v), &pair); err != nil {
		b.t.Fatalf("reading the page's error: %v", err)
	}
	return pair[0], pair[1]
}

// waitStatus waits until the page's status line starts with prefix (after
// loading, the page reads the stored tokens before it says whether it is
// connected).
func (b *browserRun) waitStatus(prefix string, within time.Duration) {
	b.t.Helper()
	b.waitJS(within, "waiting for the status "+prefix, `(() => {
		const s = document.getElementById('status').textContent;
		return s.startsWith(`+jsString(prefix)+`) ? s : '';
	})()`)
}

// text returns the visible text of sel.
func (b *browserRun) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// evaluate runs a script in the page (without a user gesture).
func (b *browserRun) evaluate(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Evaluate[chromedp.Void](expr))
}

// removeTokensRecord removes only the tokens record of mcpURL from
// localStorage (Forget would remove the registration too).
func (b *browserRun) removeTokensRecord(mcpURL string) {
	b.t.Helper()
	b.evaluate("removing the tokens record", `localStorage.removeItem(`+jsString("mcp-oauth:v1:tokens:"+mcpURL)+`)`)
}

// hasStorageKey reports whether the page's localStorage holds key.
func (b *browserRun) hasStorageKey(key string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`localStorage.getItem(`+jsString(key)+`) !== null`))
	if err != nil {
		b.t.Fatalf("reading localStorage: %v", err)
	}
	return ok
}

// signInTolerant is signIn for a sign-in that ends in an error on the demo
// page: when the page already shows an error, a failing step in the popup
// (which the page closes) is not the test's failure.
func (b *browserRun) signInTolerant(popup context.Context, login bool) {
	b.t.Helper()
	if err := signIn(popup, login); err != nil && b.pageError(b.ctx) == "" {
		loc, _ := chromedp.Run(popup, chromedp.Location())
		b.t.Fatalf("signing in in the popup (at %s): %v", redactQuery(loc), err)
	}
}

// attachWindow attaches to a window that a page opened and watches it
// (console, requests, storage, probes) until the test ends, so that its
// last page (callback.html in a popup) is watched too; the window is never
// closed by detaching. done ends what was started with ctx (its actions
// and event subscriptions) without detaching.
func (b *browserRun) attachWindow(id target.ID, name string) (ctx context.Context, done func()) {
	b.t.Helper()
	watched, detach := chromedp.NewContext(b.root, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	if err := chromedp.Do(watched); err != nil {
		detach()
		b.t.Fatalf("attaching to the %s: %v", name, err)
	}
	b.watchPage(watched, name)
	b.t.Cleanup(detach)
	ctx, done = context.WithCancel(watched)
	return ctx, done
}

// withUserGesture makes an evaluation count as a user's click (the popup
// blocker lets it open windows).
func withUserGesture(p *runtime.EvaluateParams) {
	yes := true
	p.UserGesture = &yes
}

// evaluateWithGesture runs expr in the page as if inside a click.
func (b *browserRun) evaluateWithGesture(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Evaluate[chromedp.Void](expr, withUserGesture))
}

// openWindow evaluates expr, which calls window.open, in the page as if
// inside a click, and attaches to the window it opens.
func (b *browserRun) openWindow(name, expr string) (ctx context.Context, id target.ID, done func()) {
	b.t.Helper()
	id = b.openWindowID(name, expr)
	ctx, done = b.attachWindow(id, name)
	return ctx, id, done
}

// openWindowID is openWindow without attaching (the window may be gone at
// once).
func (b *browserRun) openWindowID(name, expr string) (id target.ID) {
	b.t.Helper()
	// Only a target that did not exist before: WaitNewTarget also reports
	// changes of known windows that are no longer attached.
	known := map[target.ID]bool{}
	targets, err := chromedp.Targets(b.ctx)
	if err != nil {
		b.t.Fatalf("listing the browser's windows: %v", err)
	}
	for _, info := range targets {
		known[info.TargetID] = true
	}
	opened := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" && !known[info.TargetID] })
	b.evaluateWithGesture("opening the "+name, expr)
	select {
	case id = <-opened:
	case <-time.After(10 * time.Second):
		b.t.Fatalf("opening the %s: no window within 10 s", name)
	}
	if id == "" {
		b.t.Fatalf("opening the %s: waiting for the window failed", name)
	}
	return id
}

// waitTargetClosed waits until the window id no longer exists.
func (b *browserRun) waitTargetClosed(id target.ID, within time.Duration) bool {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatalf("listing the browser's windows: %v", err)
		}
		open := false
		for _, info := range targets {
			open = open || info.TargetID == id
		}
		if !open {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// newClientInPage creates, in the page, a client of mcp-oauth.js (the
// module instance the demo page uses) as window[name], with the options
// object optionsJS (a JavaScript expression).
func (b *browserRun) newClientInPage(name, optionsJS string) {
	b.t.Helper()
	b.within(20*time.Second, "creating the client "+name+" in the page", chromedp.Evaluate[chromedp.Void](`(async () => {
		const { load } = await import('/mcp-oauth.js');
		const mcpOAuth = await load();
		window[`+jsString(name)+`] = mcpOAuth.createClient(`+optionsJS+`);
	})()`, chromedp.EvalAwaitPromise))
}

// jsOutcome is how a promise settled; a resolved value is described by its
// type only (it may be a token).
type jsOutcome struct {
	OK      bool   `json:"ok"`
	Type    string `json:"type"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

func (o jsOutcome) String() string {
	if o.OK {
		return "resolved with a " + o.Type
	}
	return fmt.Sprintf("rejected with %s [%s]: %s", o.Name, o.Code, o.Message)
}

// settle evaluates expr (a value or a promise) in the page and waits until
// it settles.
func (b *browserRun) settle(within time.Duration, what, expr string) jsOutcome {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[jsOutcome](`Promise.resolve().then(() => (`+expr+`)).then(
		(v) => ({ ok: true, type: v === null ? 'null' : typeof v }),
		(e) => ({ ok: false, code: String(e?.code ?? ''), name: String(e?.name ?? ''), message: String(e?.message ?? e) }))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: not settled within %s: %v", what, within, err)
	}
	return out
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return hex.EncodeToString(buf)
}

// waitProbe waits until the probe reported, from the page where, after
// the first `since` reports, a report of kind for which match is true.
func (b *browserRun) waitProbe(within time.Duration, what, where, kind string, since int, match func(probeReport) bool) probeReport {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		all := b.watch.probeReports("")
		for _, r := range all[min(since, len(all)):] {
			if r.Where == where && r.Kind == kind && match(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: nothing within %s", what, within)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// xssImg and xssScript are the injection payloads: each sets window.__xss
// when it runs, which probeJS reports from any page or frame.
const (
	xssImg    = `<img src=x onerror="window.__xss=1">`
	xssScript = `<script>window.__xss=1</script>`
)

// parseFragment reads a URL fragment as a query (a response_mode=fragment
// callback).
func parseFragment(f string) url.Values {
	v, _ := url.ParseQuery(f)
	return v
}
