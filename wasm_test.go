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

import (
	"bytes"
	"context"
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
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

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
// -access-token-ttl 4s, -test-hooks).
func startDemoServer(t *testing.T, args ...string) *demoServer {
	t.Helper()
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

// consoleLog keeps the console messages of every page the test watches.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *consoleLog) watch(ctx context.Context, name string) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			where := ""
			if m.URL != "" {
				where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			c.mu.Lock()
			c.lines = append(c.lines, fmt.Sprintf("[%s] %s%s", name, m, where))
			c.mu.Unlock()
		}
	}()
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(c.lines, "\n")
}

// browserRun is one Chromium with the demo page open in its first tab (or,
// from openTab, in another tab of the same browser).
type browserRun struct {
	t       *testing.T
	demo    *demoServer
	root    context.Context // the page's chromedp context, no deadline
	ctx     context.Context // root with the test's deadline
	console *consoleLog
	name    string        // "demo page", "tab 2"
	popups  *atomic.Int32 // windows opened by pages (popups), counted across tabs
}

func startBrowser(t *testing.T, demo *demoServer) *browserRun {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required at %s (%v): apt-get update && apt-get install -y chromium", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
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
	b := &browserRun{t: t, demo: demo, root: root, console: &consoleLog{}, name: "demo page", popups: &atomic.Int32{}}
	b.console.watch(root, "demo page")
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
		t.Logf("demo page state:\n%s", b.pageState())
		t.Logf("browser console:\n%s", b.console)
		t.Logf("demo server output (peers' request logs included):\n%s", demo.out)
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
	b.console.watch(tab, name)
	ctx, cancel := context.WithTimeout(tab, browserTimeout)
	b.t.Cleanup(cancel)
	nb := &browserRun{t: b.t, demo: b.demo, root: tab, ctx: ctx, console: b.console, name: name, popups: b.popups}
	b.t.Cleanup(func() {
		if b.t.Failed() {
			b.t.Logf("%s state:\n%s", name, nb.pageState())
		}
	})
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
// click opens. done detaches (the popup stays open).
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
	popup, cancel := chromedp.NewContext(b.root, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	if err := chromedp.Do(popup); err != nil {
		cancel()
		b.t.Fatalf("attaching to the popup: %v", err)
	}
	b.console.watch(popup, "popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")

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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("redirect")

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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t, "-access-token-ttl", "4s")
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t, "-test-hooks")
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t, "-access-token-ttl", "4s")
	b := startBrowser(t, demo)
	b.openDemo("popup")
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
	requireBrowserModule(t)
	demo := startDemoServer(t)
	b := startBrowser(t, demo)
	b.openDemo("popup")

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
