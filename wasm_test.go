//go:build !js

package mcpoauth_test

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
//	go test -run TestBrowser -v .
//	MCP_OAUTH_SCREENSHOT=docs/demo.png go test -run TestBrowserPopupFlow -v .
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
	"net/http/httptest"
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
	"github.com/chromedp/cdproto/fetch"
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
//   - "progress", "warning": the detail of such an event any client
//     dispatched (leak check);
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
      if (ev instanceof CustomEvent && (ev.type === 'progress' || ev.type === 'warning')) report(ev.type, JSON.stringify(ev.detail));
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
	if !strings.Contains(key, ":v1:tokens:") {
		return
	}
	var rec struct {
		AccessToken  any `json:"access_token"`
		RefreshToken any `json:"refresh_token"`
	}
	if json.Unmarshal([]byte(value), &rec) != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tokens == nil {
		w.tokens = map[string]string{}
	}
	for kind, v := range map[string]any{"access token": rec.AccessToken, "refresh token": rec.RefreshToken} {
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

	var places []watchedText
	for _, r := range w.probeReports("") {
		if r.Kind == "progress" || r.Kind == "warning" {
			places = append(places, watchedText{fmt.Sprintf("a %s event's detail in the %s", r.Kind, r.Where), r.Detail})
		}
	}
	for _, u := range w.requested() {
		places = append(places, watchedText{"a URL (" + u.where + ")", u.text})
	}
	for _, l := range b.console.Lines() {
		places = append(places, watchedText{"the browser console", l})
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

func TestBrowserPopupFlow(t *testing.T) {
	_, b := openDemo(t, "popup")

	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	b.checkTokens()

	got := b.callTool("#call-echo", "Hello from the browser")
	if !strings.HasPrefix(got, "echo: ") {
		t.Errorf("echo result = %q", got)
	}
	if path := os.Getenv("MCP_OAUTH_SCREENSHOT"); path != "" {
		b.screenshot(path)
	}
}

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

// traceRefreshLock makes the page log (console, "[trace]") when it asks
// for, gets and releases a Web Lock, and which refresh token (its last 4
// characters) each read and write of a tokens record carries.
func (b *browserRun) traceRefreshLock() {
	b.t.Helper()
	b.evaluate("tracing Web Locks and tokens records", `(() => {
		const tag = `+jsString(b.name)+`;
		const now = () => (performance.timeOrigin + performance.now()).toFixed(1);
		const log = (what) => console.log('[trace] ' + tag + ' ' + now() + ' ' + what);
		const request = navigator.locks.request.bind(navigator.locks);
		navigator.locks.request = (name, ...args) => {
			const fn = args[args.length - 1];
			log('lock requested: ' + name);
			args[args.length - 1] = async (lock) => {
				log('lock granted');
				try { return await fn(lock); } finally { log('lock released'); }
			};
			return request(name, ...args);
		};
		const rt = (v) => { try { const r = JSON.parse(v).refresh_token; return r ? '…' + r.slice(-4) : 'none'; } catch { return 'unreadable'; } };
		const get = Storage.prototype.getItem, set = Storage.prototype.setItem;
		Storage.prototype.getItem = function (k) { const v = get.call(this, k); if (k.includes(':tokens:')) log('read tokens: refresh token ' + (v === null ? 'none (no record)' : rt(v))); return v; };
		Storage.prototype.setItem = function (k, v) { if (k.includes(':tokens:')) log('wrote tokens: refresh token ' + rt(v)); return set.call(this, k, v); };
	})()`)
}

// waitTokensExpired waits until tok's access token has expired, plus a
// second: the authorization server's clock counts from its own issue time.
func waitTokensExpired(t *testing.T, tok storedTokens) {
	t.Helper()
	if tok.ExpiresAt == 0 {
		t.Fatal("the token has no expires_at")
	}
	if life := tok.ExpiresAt - tok.IssuedAt; life > 10 {
		t.Fatalf("the token lives %d s: the demo's -access-token-ttl did not reach the authorization server", life)
	}
	time.Sleep(time.Until(time.Unix(tok.ExpiresAt+1, 0)))
}

// ---- scenarios ----

// TestBrowserBothMCPServers: the popup sign-in against the MCP server on the
// official TypeScript SDK and then the one on the official Go SDK
// (peers/gomcp) behind the same authorization server; the TypeScript SDK
// client in the page lists the tools of each and calls echo; on the Go
// server admin_stats steps up through the SDK's auth middleware and the
// server's 403.
func TestBrowserBothMCPServers(t *testing.T) {
	requireBrowserModule(t)
	demo := startDemoServer(t, "-go-mcp")
	if demo.GoMCPURL == "" || demo.GoMCPURL == demo.MCPURL {
		t.Fatalf("/demo/config.json's goMcpUrl is %q with -go-mcp", demo.GoMCPURL)
	}
	b := startBrowser(t, demo)

	b.openDemo("popup")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	if s := b.text("#status"); !strings.Contains(s, "mcp-oauth-wasm-test-server") {
		t.Errorf("status reads %q, want the TypeScript SDK server's name", s)
	}
	tsTok := b.checkTokensFor(demo.MCPURL)
	b.callTool("#call-echo", "Hello from the browser")
	demo.waitLog(t, 1, 5*time.Second, tsMCPLog+"POST /mcp rpc=tools/list", "auth=bearer", "-> 200")

	// The Go SDK server: the same authorization server, so the registration
	// is reused and the login remembered; the new resource needs consent.
	regs := demo.countLog(asLog+"POST /reg ", "-> 201")
	b.openDemoAt(demo.URL+"?mcp=go", demo.GoMCPURL)
	b.waitStatus("Not connected", 10*time.Second) // no token for it yet
	b.clickAndSignInPopup("#connect", false)
	b.waitConnected()
	if s := b.text("#status"); !strings.Contains(s, "mcp-oauth-wasm-go-test-server") {
		t.Errorf("status reads %q, want the Go SDK server's name", s)
	}
	goTok := b.checkTokensFor(demo.GoMCPURL)
	if goTok.AccessToken == tsTok.AccessToken {
		t.Error("the Go server got the TypeScript server's token (tokens are per resource)")
	}
	if n := demo.countLog(asLog+"POST /reg ", "-> 201"); n != regs {
		t.Errorf("signing in to the second server registered %d more clients, want the registration of the same issuer reused", n-regs)
	}
	got := b.callTool("#call-echo", "Hello from the browser")
	if got != "echo: Hello from the browser" {
		t.Errorf("echo on the Go server = %q", got)
	}
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/list", "auth=bearer", "-> 200")
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(echo)", "auth=bearer", "-> 200")
	for _, l := range demo.logLines(goMCPLog) {
		if goTok.AccessToken != "" && strings.Contains(l, goTok.AccessToken) {
			t.Error("the Go server's log shows the access token")
		}
	}

	// Step-up on the Go server.
	b.clickAndSignInPopup("#call-admin", false)
	got = b.waitResult("mcp:admin")
	if !strings.HasPrefix(got, "admin_stats: ") {
		t.Errorf("admin_stats result = %q", got)
	}
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(admin_stats)", "-> 403", "error=insufficient_scope")
	demo.waitLog(t, 1, 5*time.Second, goMCPLog+"POST /mcp rpc=tools/call(admin_stats)", "mcp:admin", "-> 200")
	if after := b.checkTokensFor(demo.GoMCPURL); !strings.Contains(" "+after.Scope+" ", " mcp:admin ") {
		t.Errorf("after the step-up the Go server's token has scope %q, want mcp:admin in it", after.Scope)
	}
	if tok, ok := b.storedTokensFor(demo.MCPURL); !ok || tok.AccessToken != tsTok.AccessToken {
		t.Error("signing in to the Go server changed or removed the TypeScript server's tokens")
	}
}

// TestBrowserReloadReusesTokens: after a popup sign-in a reload connects
// with the stored tokens: no authorization request, no token request, no
// popup, the same tokens.
func TestBrowserReloadReusesTokens(t *testing.T) {
	demo, b := openDemo(t, "popup")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	before := b.checkTokens()
	auths := demo.countLog(asLog + "GET /auth ")
	tokenRequests := demo.countLog(asLog + "POST /token ")
	inits := demo.countLog(tsMCPLog+"POST /mcp rpc=initialize", "auth=bearer", "-> 200")
	popups := b.popups.Load()
	if auths != 1 {
		t.Fatalf("the sign-in made %d authorization requests, want 1", auths)
	}

	b.do("reloading the demo page", chromedp.Reload())
	b.waitConnected()
	demo.waitLog(t, inits+1, 10*time.Second, tsMCPLog+"POST /mcp rpc=initialize", "auth=bearer", "-> 200")
	b.callTool("#call-echo", "Hello from the browser")
	after := b.checkTokens()
	if after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken {
		t.Error("the reload changed the stored tokens, want them reused")
	}
	if n := demo.countLog(asLog + "GET /auth "); n != auths {
		t.Errorf("the reload made %d authorization requests, want none", n-auths)
	}
	if n := demo.countLog(asLog + "POST /token "); n != tokenRequests {
		t.Errorf("the reload made %d token requests, want none", n-tokenRequests)
	}
	if n := b.popups.Load(); n != popups {
		t.Errorf("the reload opened %d windows, want none", n-popups)
	}
}

// TestBrowserRefreshAfterExpiry: with 4 s access tokens, a tool call after
// the token expired refreshes it (with resource, as RFC 8707 and the MCP spec
// ask), stores the rotated refresh token and succeeds without a popup.
func TestBrowserRefreshAfterExpiry(t *testing.T) {
	demo, b := openDemo(t, "popup", "-access-token-ttl", "4s")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	before := b.checkTokens()
	if before.RefreshToken == "" {
		t.Fatal("the sign-in stored no refresh token")
	}
	waitTokensExpired(t, before)

	const refreshGrant = asLog + "POST /token grant_type=refresh_token"
	refreshes := demo.countLog(refreshGrant)
	auths := demo.countLog(asLog + "GET /auth ")
	popups := b.popups.Load()
	b.callTool("#call-echo", "Hello from the browser")

	lines := demo.logLines(refreshGrant)[refreshes:]
	if len(lines) != 1 {
		t.Fatalf("the call after expiry made %d refresh requests, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "resource=yes") || !strings.Contains(lines[0], "-> 200") {
		t.Errorf("the refresh request was not a successful one with resource: %s", lines[0])
	}
	after := b.checkTokens()
	if after.RefreshToken == "" || after.RefreshToken == before.RefreshToken {
		t.Error("the stored refresh token did not change: the rotated one was not stored")
	}
	if after.AccessToken == before.AccessToken || after.ExpiresAt <= before.ExpiresAt {
		t.Error("the stored access token was not replaced by a newer one")
	}
	if n := demo.countLog(asLog + "GET /auth "); n != auths {
		t.Errorf("the refresh made %d authorization requests, want none", n-auths)
	}
	if n := b.popups.Load(); n != popups {
		t.Errorf("the refresh opened %d windows, want none", n-popups)
	}
	if !strings.Contains(b.text("#progress"), "Token refresh") {
		t.Errorf("the progress list does not show the refresh:\n%s", b.text("#progress"))
	}
}

// TestBrowserStaleRegistration: the authorization server restarts and
// forgets every client. With its tokens gone, Connect finds the stored
// registration stale (invalid_client at the token endpoint), registers once
// more and signs in, without the user clearing anything.
func TestBrowserStaleRegistration(t *testing.T) {
	demo, b := openDemo(t, "popup", "-test-hooks")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()
	first := b.checkTokens()
	const registration = asLog + "POST /reg "
	if n := demo.countLog(registration, "-> 201"); n != 1 {
		t.Fatalf("the first sign-in registered %d clients, want 1", n)
	}

	demo.restartAuthServer(t)
	b.removeTokensRecord(demo.MCPURL)
	if !b.hasStorageKey("mcp-oauth:v1:client:" + demo.Issuer) {
		t.Fatal("the registration is no longer stored: the scenario needs the stale one")
	}
	b.openDemoAt(demo.URL, demo.MCPURL) // the page reads storage again: no token
	b.waitStatus("Not connected", 10*time.Second)
	b.clickAndSignInPopup("#connect", true) // the new server knows no session either
	b.waitConnected()
	second := b.checkTokens()

	if n := demo.countLog(registration, "-> 201"); n != 2 {
		t.Errorf("POST /reg succeeded %d times in all, want 2 (exactly one new registration)", n)
	}
	if n := demo.countLog(registration); n != 2 {
		t.Errorf("POST /reg was sent %d times in all, want 2", n)
	}
	if second.ClientID == "" || second.ClientID == first.ClientID {
		t.Errorf("the new tokens are for client %q, want a new registration (the old one was %q)", second.ClientID, first.ClientID)
	}
	if n := demo.countLog(asLog+"POST /token grant_type=refresh_token", "error=invalid_client"); n < 1 {
		t.Error("the token endpoint was never asked about the stored registration (no invalid_client answer logged)")
	}
	b.callTool("#call-echo", "Hello from the browser")
}

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
	popups := b.popups.Load()
	asRequests := demo.countLog(asLog) // the MCP server read the metadata at startup
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

// TestBrowserTwoTabsOneRefresh: two tabs of one browser share localStorage.
// When the stored access token has expired and both call a tool at the same
// moment, the Web Lock lets exactly one refresh reach the authorization
// server (oidc-provider rotates refresh tokens and revokes the grant when
// one is spent twice); both calls succeed and both tabs end with the new
// token.
func TestBrowserTwoTabsOneRefresh(t *testing.T) {
	demo, b := openDemo(t, "popup", "-access-token-ttl", "4s")
	b.clickAndSignInPopup("#connect", true)
	b.waitConnected()

	tab2 := b.openTab("tab 2")
	tab2.openDemoAt(demo.URL, demo.MCPURL)
	tab2.waitConnected() // with the stored token, without signing in
	before := b.checkTokens()
	waitTokensExpired(t, before)

	const refreshGrant = asLog + "POST /token grant_type=refresh_token"
	refreshes := demo.countLog(refreshGrant)
	echoes := demo.countLog(tsMCPLog+"POST /mcp rpc=tools/call(echo)", "-> 200")
	popups := b.popups.Load()
	// On failure the console shows each tab's Web Lock and tokens-record
	// timeline.
	b.traceRefreshLock()
	tab2.traceRefreshLock()
	// Both tabs click Call echo on the same millisecond, from their own timers.
	at := time.Now().Add(500 * time.Millisecond).UnixMilli()
	for _, tab := range []*browserRun{b, tab2} {
		tab.evaluate("scheduling the echo call", fmt.Sprintf(`document.getElementById('result').hidden = true,
			setTimeout(() => document.getElementById('call-echo').click(), Math.max(0, %d - Date.now()))`, at))
	}
	for _, tab := range []*browserRun{b, tab2} {
		if got := tab.waitResultWithin("Hello from the browser", 20*time.Second); got != "echo: Hello from the browser" {
			t.Errorf("%s: echo result %q", tab.name, got)
		}
	}

	lines := demo.logLines(refreshGrant)[refreshes:]
	if len(lines) != 1 {
		t.Errorf("the two tabs made %d refresh requests, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if bad := demo.logLines(asLog, "error=invalid_grant"); len(bad) > 0 {
		t.Errorf("the authorization server refused a grant (a refresh token spent twice?):\n%s", strings.Join(bad, "\n"))
	}
	demo.waitLog(t, echoes+2, 5*time.Second, tsMCPLog+"POST /mcp rpc=tools/call(echo)", "-> 200")
	if n := b.popups.Load(); n != popups {
		t.Errorf("%d windows opened, want none", n-popups)
	}
	after := b.checkTokens()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("the stored tokens were not replaced by the refreshed ones")
	}
	if tok2, _ := tab2.storedTokensFor(demo.MCPURL); tok2 != after {
		t.Error("the two tabs read different tokens records")
	}
	// What each page shows: the same expiry, the new one.
	exp1 := b.waitJS(5*time.Second, "reading tab 1's token expiry", `document.getElementById('token-expiry').textContent`)
	if exp2 := tab2.waitJS(5*time.Second, "reading tab 2's token expiry", `document.getElementById('token-expiry').textContent`); exp1 != exp2 {
		t.Errorf("tab 1 shows the token expiring %q, tab 2 %q: want the same, new token", exp1, exp2)
	}
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

// xssImg and xssScript are the injection payloads: each sets window.__xss
// when it runs, which probeJS reports from any page or frame.
const (
	xssImg    = `<img src=x onerror="window.__xss=1">`
	xssScript = `<script>window.__xss=1</script>`
)

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

// TestBrowserStorageFailures: with clients the test creates in the demo
// page: (a) localStorage full for the module's keys: authorize() rejects
// with storage_error saying storage is full, closes its window and leaves
// other keys alone; (b) localStorage access throws (blocked storage):
// createClient works, every operation rejects with storage_error, and with
// storageFallbackToMemory they work (auth_required: not signed in);
// (c) garbage under the module's keys, for this MCP server and another:
// the client treats its own as absent (auth_required, a warning), a full
// sign-in then works, and the other server's record is left byte for byte.
func TestBrowserStorageFailures(t *testing.T) {
	demo, b := openDemo(t, "popup")
	options := `{ mcpUrl: ` + jsString(demo.MCPURL) + `, redirectUri: location.origin + '/callback.html' }`

	// (a) Full.
	b.evaluate("making localStorage full for the module's keys", `(() => {
		localStorage.setItem('other-app:settings', '{"theme":"dark"}');
		const setItem = Storage.prototype.setItem;
		window.__restoreSetItem = () => { Storage.prototype.setItem = setItem; };
		Storage.prototype.setItem = function (k, v) {
			if (String(k).startsWith('mcp-oauth:')) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return setItem.call(this, k, v);
		};
	})()`)
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
		const li = document.createElement('li');
		li.textContent = tok;
		document.getElementById('progress').append(li);
	})()`)
	b.waitJS(5*time.Second, "waiting for the request", `performance.getEntriesByType('resource').some((e) => e.name.includes('/nothing-here')) ? 'yes' : ''`)
	time.Sleep(200 * time.Millisecond) // the events reach the harness
	b.snapshotPage(b.root, b.name)
	problems := b.leakProblems()
	for _, want := range []string{"the browser console", "a URL (demo page requested)", "a progress event's detail", "demo page progress list"} {
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
	b.evaluate("removing the planted token", `localStorage.removeItem(`+jsString(key)+`); document.getElementById('progress').replaceChildren()`)
	b.watch.forget(tok)
}
