//go:build !js

package mcpoauth_test

// Browser end-to-end tests: the demo page (web/demo/) in Debian's Chromium,
// driven with chromedp, against the demo server (cmd/demo) and the real peers
// it starts (oidc-provider with its login and consent forms, the TypeScript
// SDK MCP server). They need the browser module built (./build.sh, which
// these tests run) and /usr/bin/chromium (apt-get install -y chromium).
//
//	go test -run TestBrowser -v .
//	MCP_OAUTH_SCREENSHOT=docs/demo.png go test -run TestBrowserPopupFlow -v .
//
// On failure they print the console of every page and popup, the demo
// page's visible state, and the demo server's output with both peers'
// request logs.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	URL    string // the demo page, http://127.0.0.1:PORT/demo/
	Origin string
	Issuer string // the authorization server
	MCPURL string
	out    *syncBuffer // the server's output, peers' request logs included (-v)
}

func startDemoServer(t *testing.T) *demoServer {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/demo").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/demo: %v\n%s", err, out)
	}
	ready := filepath.Join(dir, "ready")
	out := &syncBuffer{}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-ready-file", ready, "-v")
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
		MCPURL string `json:"mcpUrl"`
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil || cfg.MCPURL == "" || cfg.Issuer == "" {
		t.Fatalf("/demo/config.json: %v (mcpUrl %q, issuer %q)", err, cfg.MCPURL, cfg.Issuer)
	}
	d.MCPURL, d.Issuer = cfg.MCPURL, cfg.Issuer
	t.Logf("demo %s, authorization server %s, MCP server %s", d.URL, d.Issuer, d.MCPURL)
	return d
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

// browserRun is one Chromium with the demo page open in its first tab.
type browserRun struct {
	t       *testing.T
	demo    *demoServer
	root    context.Context // the page's chromedp context, no deadline
	ctx     context.Context // root with the test's deadline
	console *consoleLog
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
	b := &browserRun{t: t, demo: demo, root: root, console: &consoleLog{}}
	b.console.watch(root, "demo page")
	ctx, cancel := context.WithTimeout(root, browserTimeout)
	t.Cleanup(cancel)
	b.ctx = ctx

	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("demo page state:\n%s", b.pageState())
		t.Logf("browser console:\n%s", b.console)
		t.Logf("demo server output (peers' request logs included):\n%s", demo.out)
	})
	return b
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
	b.do("opening the demo page", chromedp.Navigate(b.demo.URL))
	b.within(30*time.Second, "waiting for the demo page to load mcp-oauth.js (Connect enabled)", chromedp.WaitEnabled(chromedp.CSS("#connect")))
	b.do("choosing mode "+mode, chromedp.Click(chromedp.CSS(`input[name=mode][value=`+mode+`]`)))
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#mcp-url")))
	if err != nil {
		b.t.Fatal(err)
	}
	if v != b.demo.MCPURL {
		b.t.Fatalf("the MCP URL input holds %q, want %q from /demo/config.json", v, b.demo.MCPURL)
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
	popups := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" })
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	var id target.ID
	select {
	case id = <-popups:
	case <-time.After(30 * time.Second):
		b.t.Fatalf("clicking %s opened no popup within 30 s", sel)
	}
	if id == "" {
		b.t.Fatalf("clicking %s: waiting for the popup failed", sel)
	}
	popup, cancel := chromedp.NewContext(b.root, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	defer cancel()
	if err := chromedp.Do(popup); err != nil {
		b.t.Fatalf("attaching to the popup: %v", err)
	}
	b.console.watch(popup, "popup")

	// Give up at once when the demo page reports an error (the popup then
	// closes and would only time out).
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
	if err := signIn(signInCtx, login); err != nil {
		if cause := context.Cause(signInCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		loc, _ := chromedp.Run(popup, chromedp.Location())
		b.t.Fatalf("signing in in the popup (at %s): %v", redactQuery(loc), err)
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
	Issuer       string `json:"issuer"`
}

// checkTokens checks the tokens record in localStorage and that the token
// appears nowhere on the page or in its console. It returns the record.
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
	var tok storedTokens
	for k, v := range records {
		if err := json.Unmarshal([]byte(v), &tok); err != nil {
			b.t.Fatalf("%s does not hold JSON: %v", k, err)
		}
	}
	now := time.Now().Unix()
	switch {
	case tok.AccessToken == "":
		b.t.Fatal("the tokens record has no access_token")
	case tok.Issuer != b.demo.Issuer:
		b.t.Errorf("tokens issuer = %q, want %q", tok.Issuer, b.demo.Issuer)
	case tok.ExpiresAt <= now:
		b.t.Errorf("tokens expires_at = %d, want > now (%d)", tok.ExpiresAt, now)
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
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const r = document.getElementById('result');
		const e = document.getElementById('error');
		if (!e.hidden && e.textContent) return 'ERROR ' + e.textContent;
		return !r.hidden && r.textContent.includes(`+jsString(want)+`) ? r.textContent : false;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
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
