//go:build !js

// Command bench measures mcp-oauth-wasm beside the official MCP TypeScript
// SDK's OAuth client, v1 (@modelcontextprotocol/sdk 1.32) and v2
// (@modelcontextprotocol/client 2.4), each as auth() with a minimal
// OAuthClientProvider, in headless Chromium, against the same real peers
// (oidc-provider with --interactions=auto, the TypeScript SDK MCP server),
// and prints one table (medians with min–max over the runs, ratios against
// each SDK, budgets) and writes it as JSON.
//
//	./build.sh                      # web/mcp-oauth.wasm
//	go run ./bench                  # 5 runs; bench/results.json
//	go run ./bench -runs 9 -json /tmp/bench.json
//
// Each run, for each side (the order rotates between runs), the numbered
// steps below; the numbers are the table's rows:
//
//  1. in a fresh, empty Chromium profile of its own: opens the side's page
//     (bench/pages/ours.html, sdk.html or sdk2.html) and clicks Connect (a
//     real mouse event, the popup blocker on) as soon as the page says it
//     is ready: click → tokens stored, the HTTP requests the browser made
//     meanwhile (the page, the popup, CORS preflights) from the recording
//     proxy (proxy.go), those to the authorization server and the MCP
//     server from the page load on (ours starts its engine and discovery in
//     the background before the click), the sequential round trips; the
//     longest main-thread task until tools/list;
//  2. in a second fresh profile: opens the page with a cold HTTP cache
//     (import → ready, row 6), waits 2 s, clicks Connect: the same
//     figures; the longest main-thread task from the page load to
//     tools/list after connecting (row 5);
//  3. in that page (no reload: the engine, the SDK's code and the MCP
//     session warm), marks the stored access token expired by editing
//     localStorage directly (bench.expireToken(), outside any lock the
//     client holds: this is also the case of tokens written outside the
//     refresh lock), then one tools/list through the client's fetch: call →
//     tools listed, and the requests (the refresh among them);
//  6. closes Chromium and starts it again on the same profile, as a
//     returning user (warm HTTP cache, stored tokens, AS cookies; nothing
//     left in memory such as the CORS preflight cache), opens a blank page
//     of the same origin (so the renderer has started), then the page:
//     page load → tools/list, and the requests made;
//  4. marks the stored access token expired, restarts, loads again: page
//     load → tools/list through a refresh;
//  6. in that warm page: the hot path (getAccessToken(), 10,000 awaited
//     calls per timing; client.fetch against a plain fetch, paired pings).
//
// Static assets are served precompressed (brotli when the browser accepts
// it), pages with Cache-Control: no-cache, scripts and the wasm with
// max-age=3600.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
)

const chromiumPath = browser.ChromiumPath

// idleBeforeClick is how long row 2 waits between the page's ready and the
// click: time for whatever a client does in the background at load.
const idleBeforeClick = 2 * time.Second

var verbose bool

func logf(format string, args ...any) { log.Printf(format, args...) }

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	runs := flag.Int("runs", 5, "runs per side (each in fresh browser profiles)")
	jsonOut := flag.String("json", "", "write the results as JSON to this file (default bench/results.json)")
	pairs := flag.Int("pairs", 300, "paired requests for the fetch overhead, per run")
	iterations := flag.Int("iterations", 10000, "getAccessToken() calls per timing")
	encoding := flag.String("encoding", "br", "how static files are served: br (gzip when not accepted), gzip, identity")
	flag.BoolVar(&verbose, "v", false, "print the peers' request logs and the browsers' consoles")
	flag.Parse()
	if flag.NArg() > 0 || *runs < 1 || (*encoding != "br" && *encoding != "gzip" && *encoding != "identity") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, config{runs: *runs, jsonOut: *jsonOut, pairs: *pairs, iterations: *iterations, encoding: *encoding}); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

type config struct {
	runs, pairs, iterations int
	jsonOut, encoding       string
}

// side is one of the clients measured.
type side struct {
	key, name string
	page      string   // under /bench/
	authCode  []string // URL paths of the code the page downloads for auth
}

// The SDK bundles: pages/<bundle>, built by npm run build from <entry>.
var sdkBundles = []struct{ bundle, entry, pkg string }{
	{"sdk-auth.bundle.js", "sdk-entry.js", "@modelcontextprotocol/sdk"},
	{"sdk2-auth.bundle.js", "sdk2-entry.js", "@modelcontextprotocol/client"},
}

var sides = []side{
	{key: "ours", name: "mcp-oauth-wasm", page: "ours.html"}, // authCode: ourCode
	{key: "sdk", name: "TS SDK v1 1.32", page: "sdk.html", authCode: []string{"/bench/sdk-auth.bundle.js"}},
	{key: "sdk2", name: "TS SDK v2 2.4", page: "sdk2.html", authCode: []string{"/bench/sdk2-auth.bundle.js"}},
}

type env struct {
	cfg    config
	root   string
	pages  *pageServer
	proxy  *recordingProxy
	as     *peers.Process
	mcp    *peers.Process
	mcpURL *url.URL
	asURL  *url.URL
	// dpopMCP is the same MCP server behind its DPoP-verifying front, on
	// the same authorization server (oidc-provider issues DPoP-bound tokens
	// to a client that sends a proof): ours alone, for client.fetch with
	// DPoP beside Bearer.
	dpopMCP *peers.Process
}

func run(ctx context.Context, cfg config) error {
	started := time.Now()
	peersDir, err := peers.Dir()
	if err != nil {
		return err
	}
	root := filepath.Dir(peersDir)
	benchDir := filepath.Join(root, "bench")
	if cfg.jsonOut == "" {
		cfg.jsonOut = filepath.Join(benchDir, "results.json")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("Chromium is required at %s (%v): apt-get install -y chromium", chromiumPath, err)
	}
	for _, f := range []string{"mcp-oauth.wasm", "wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, "web", f)); err != nil {
			return fmt.Errorf("web/%s is missing: build the browser module first (./build.sh)", f)
		}
	}
	sides[0].authCode = ourCode(root)
	if err := ensureSDKBundles(benchDir); err != nil {
		return err
	}
	if err := peers.EnsureInstalled(); err != nil {
		return err
	}
	node, err := peers.NodePath()
	if err != nil {
		return err
	}
	assets, err := loadAssets(filepath.Join(root, "web"), filepath.Join(benchDir, "pages"), filepath.Join(root, ".cache", "bench"), node)
	if err != nil {
		return err
	}

	var peerOut io.Writer
	if verbose {
		peerOut = os.Stderr
	}
	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "auto", Common: peers.Common{Output: peerOut}})
	if err != nil {
		return err
	}
	defer as.Stop()
	mcp, err := peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{Common: peers.Common{Output: peerOut}})
	if err != nil {
		return err
	}
	defer mcp.Stop()
	dpopMCP, err := peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{DPoP: true, Common: peers.Common{Output: peerOut}})
	if err != nil {
		return err
	}
	defer dpopMCP.Stop()
	mcpURL, err := url.Parse(mcp.URL)
	if err != nil {
		return err
	}
	asURL, err := url.Parse(as.URL)
	if err != nil {
		return err
	}
	pages, err := startPageServer(assets, cfg.encoding)
	if err != nil {
		return err
	}
	defer pages.close()
	px, err := startProxy()
	if err != nil {
		return err
	}
	defer px.close()
	e := &env{cfg: cfg, root: root, pages: pages, proxy: px, as: as, mcp: mcp, mcpURL: mcpURL, asURL: asURL, dpopMCP: dpopMCP}
	logf("pages %s, authorization server %s, MCP server %s, proxy %s", pages.URL, as.URL, mcp.URL, px.URL)

	results := map[string][]*runResult{}
	for i := 0; i < cfg.runs; i++ {
		for k := range sides {
			s := sides[(i+k)%len(sides)] // each side goes first, second, third in turn
			t := time.Now()
			r, err := e.runSide(ctx, s)
			if err != nil {
				return fmt.Errorf("run %d, %s: %w", i+1, s.name, err)
			}
			results[s.key] = append(results[s.key], r)
			logf("run %d/%d %-14s %4.1fs  connect now %.0f ms (%d req), after 2 s %.0f ms (%d req); expired warm %.1f ms, reload %.1f ms; returning %.1f ms; longest task %.0f ms",
				i+1, cfg.runs, s.name, time.Since(t).Seconds(), r.ConnectNow.ClickToTokenMs, r.ConnectNowRequests,
				r.Connect.ClickToTokenMs, r.ConnectRequests, r.ExpiredWarm.CallToToolsMs, r.Expired.ToolsDoneMs,
				r.Returning.ToolsDoneMs, r.LongestTaskMs)
		}
	}

	rep := buildReport(e, assets, results)
	rep.DurationS = time.Since(started).Seconds()
	fmt.Println(rep.table())
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(cfg.jsonOut, append(b, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s (%.0f s in all)", cfg.jsonOut, rep.DurationS)
	return nil
}

// What the pages report (see bench/pages/*.js).
type readyResult struct {
	ImportToReadyMs float64 `json:"importToReadyMs"`
}

// engineInfo is ours' engine as the page saw it: from web/engine.js's
// engineStats() when it has one (source "engineStats"), else from the
// page's WebAssembly wrappers.
type engineInfo struct {
	Source      string   `json:"source"`
	Where       string   `json:"where"` // worker or page
	LoadStart   *float64 `json:"loadStart"`
	Ready       *float64 `json:"ready"`
	MemoryBytes float64  `json:"memoryBytes"`
}

type connectResult struct {
	ClickToTokenMs      float64     `json:"clickToTokenMs"`
	ReadyToClickMs      float64     `json:"readyToClickMs"` // the page's ready → the click event
	ClickToSaveTokensMs *float64    `json:"clickToSaveTokensMs,omitempty"`
	WasmStartMs         *float64    `json:"wasmStartMs,omitempty"` // ours: engine load → ready
	ClickToWasmReadyMs  *float64    `json:"clickToWasmReadyMs,omitempty"`
	WasmMemoryBytes     float64     `json:"wasmMemoryBytes"`
	Engine              *engineInfo `json:"engine,omitempty"`
}

type doneResult struct {
	Tools                     []string    `json:"tools"`
	ToolsDoneMs               float64     `json:"toolsDoneMs"`
	FirstAuthorizedResponseMs float64     `json:"firstAuthorizedResponseMs"`
	WasmStartedBeforeTools    bool        `json:"wasmStartedBeforeTools"`
	WasmMemoryBytes           float64     `json:"wasmMemoryBytes"`
	Engine                    *engineInfo `json:"engine,omitempty"`
}

type warmResult struct {
	Tools         []string `json:"tools"`
	CallToToolsMs float64  `json:"callToToolsMs"`
}

type hotResult struct {
	GetTokenUs        float64   `json:"getTokenUs"`
	DPoPProofJsMs     float64   `json:"dpopProofJsMs"`
	DPoPProofEngineMs float64   `json:"dpopProofEngineMs"`
	GetTokenBatchesUs []float64 `json:"getTokenBatchesUs"`
	FetchOverheadMs   float64   `json:"fetchOverheadMs"`
	PlainFetchMs      float64   `json:"plainFetchMs"`
	WrappedFetchMs    float64   `json:"wrappedFetchMs"`
	Pairs             int       `json:"pairs"`
}

// dpopFetchResult is client.fetch with DPoP beside Bearer: MCP pings in
// one session each, on the bench's MCP server and on the same server
// behind its DPoP front, in alternating runs (pairedRuns in common.js).
type dpopFetchResult struct {
	BearerFetchMs  float64  `json:"bearerFetchMs"`
	DPoPFetchMs    float64  `json:"dpopFetchMs"`
	DPoPOverheadMs float64  `json:"dpopOverheadMs"`
	Pairs          int      `json:"pairs"`
	Tools          []string `json:"tools"`
}

// reqCounts are the figures of one phase's (or phases') requests.
type reqCounts struct {
	All        int `json:"all"`
	ASAndMCP   int `json:"toASandMCP"`
	Tokens     int `json:"tokenRequests"` // POST to the token endpoint
	RoundTrips int `json:"roundTrips"`
}

// runResult is one side's run.
type runResult struct {
	Ready readyResult `json:"ready"`

	// Row 1: click as soon as the page is ready, in a profile of its own.
	ConnectNow                 connectResult `json:"connectNow"`
	ConnectNowRequests         int           `json:"connectNowRequests"`
	ConnectNowRoundTrips       int           `json:"connectNowRoundTrips"`
	ConnectNowFromLoadASAndMCP int           `json:"connectNowFromLoadRequestsToASandMCP"`
	LongestTaskNowMs           float64       `json:"longestTaskNowMs"`

	// Row 2: click after idleBeforeClick.
	Connect                 connectResult `json:"connect"`
	ConnectRequests         int           `json:"connectRequests"`
	ConnectRoundTrips       int           `json:"connectRoundTrips"`
	ConnectOAuthMCP         int           `json:"connectRequestsToASandMCP"`
	ConnectFromLoadASAndMCP int           `json:"connectFromLoadRequestsToASandMCP"`

	// LongestTaskMs is the longest main-thread task (0: none of 50 ms or
	// more) from the page's load until the tools were listed after the
	// first connect (row 2's page).
	LongestTaskMs float64 `json:"longestTaskMs"`

	// Row 3: expired token in the warm page.
	ExpiredWarm         warmResult `json:"expiredWarm"`
	ExpiredWarmRequests reqCounts  `json:"expiredWarmRequests"`

	Returning           doneResult `json:"returning"`
	ReturningRequests   int        `json:"returningRequests"`
	ReturningExtra      int        `json:"returningRequestsBesidesMCPAndPage"`
	ReturningRoundTrips int        `json:"returningRoundTrips"`

	// Row 4: expired token after a reload.
	Expired           doneResult `json:"expired"`
	ExpiredRequests   int        `json:"expiredRequests"`
	ExpiredRoundTrips int        `json:"expiredRoundTrips"`
	ExpiredTokenReqs  int        `json:"expiredTokenRequests"`

	Hot                 hotResult `json:"hot"`
	WasmBytesAfterHot   float64   `json:"wasmMemoryBytesAfterHot"`
	AuthCodeBytesServed int64     `json:"authCodeBytesServed"` // as the proxy saw them (compressed)
	HotRequests         int       `json:"hotRequests"`
	HotPreflights       int       `json:"hotPreflights"`

	// DPoPFetch: ours alone (nil for the SDKs, whose auth() has no DPoP).
	DPoPFetch *dpopFetchResult `json:"dpopFetch,omitempty"`

	Requests map[string][]request `json:"requests"` // per phase
}

// browserOptions are the flags of every Chromium the bench starts.
func (e *env) browserOptions(profile string) []chromedp.ExecAllocatorOption {
	return browser.Options(
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-popup-blocking", false), // Connect must open the popup inside the click
		chromedp.ProxyServer(e.proxy.URL),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"), // loopback through the proxy too
		chromedp.WindowSize(1200, 900),
	)
}

// chromium is one Chromium process on one profile, and its first tab.
type chromium struct {
	ctx   context.Context
	close func()
}

// openChromium starts Chromium on profile; label names its console lines.
func (e *env) openChromium(ctx context.Context, profile, label string, console *browser.Console) (*chromium, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, e.browserOptions(profile)...)
	b, cancelBrowser := chromedp.NewContext(allocCtx)
	c := &chromium{ctx: b}
	c.close = func() {
		// Gracefully, so that Chromium writes localStorage and its cache to
		// the profile before the next one starts on it.
		t, cancel := context.WithTimeout(b, 10*time.Second)
		_ = chromedp.Cancel(t)
		cancel()
		cancelBrowser()
		cancelAlloc()
		c.close = func() {}
	}
	if err := chromedp.Do(b); err != nil {
		c.close()
		return nil, fmt.Errorf("starting %s: %w", chromiumPath, err)
	}
	console.Watch(b, label)
	return c, nil
}

// within runs actions in the tab, for at most d.
func (c *chromium) within(d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) error {
	t, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	if err := chromedp.Do(t, actions...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// await evaluates expr (awaited) in the page once window.bench exists, and
// decodes its value into v.
func (c *chromium) await(d time.Duration, what, expr string, v any) error {
	t, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	js := `(async () => { for (let i = 0; !window.bench && i < 1000; i++) await new Promise((r) => setTimeout(r, 10)); return await (` + expr + `); })()`
	raw, err := chromedp.Run(t, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w (%s)", what, err, raw)
	}
	return nil
}

// connect clicks Connect (a real mouse event at the button's center) once
// the page is ready and, when idle > 0, idle after that; returns when the
// tokens are stored (phase: the proxy's phase for the click → tokens
// window) and the tools listed (phase after). The page's ready → click is
// in the result.
func (e *env) connect(c *chromium, idle time.Duration, phase, after string, into *connectResult) error {
	var at struct{ X, Y float64 }
	if err := c.await(30*time.Second, "waiting for the page to be ready", "window.bench.clickPoint()", &at); err != nil {
		return err
	}
	time.Sleep(idle)
	e.proxy.setPhase(phase)
	if err := c.within(10*time.Second, "clicking Connect", chromedp.MouseClickXY(at.X, at.Y)); err != nil {
		return err
	}
	if err := c.await(60*time.Second, "waiting for the sign-in (click → tokens stored)", "window.bench.tokenStored", into); err != nil {
		return err
	}
	e.proxy.setPhase(after)
	var done doneResult
	if err := c.await(30*time.Second, "listing the tools after connecting", "window.bench.done", &done); err != nil {
		return err
	}
	if err := checkTools(done.Tools); err != nil {
		return fmt.Errorf("after connecting: %w", err)
	}
	return nil
}

// dpopFetch signs in to the DPoP MCP server in the warm page (a click on
// #connect-dpop, dpop: 'require') and times client.fetch there beside the
// Bearer client's (bench.dpopFetch in ours.js).
func (e *env) dpopFetch(c *chromium) (*dpopFetchResult, error) {
	e.proxy.setPhase("dpop")
	var at struct{ X, Y float64 }
	if err := c.await(10*time.Second, "creating the DPoP client", fmt.Sprintf("window.bench.dpopClickPoint(%q)", e.dpopMCP.URL), &at); err != nil {
		return nil, err
	}
	if err := c.within(10*time.Second, "clicking Connect (DPoP)", chromedp.MouseClickXY(at.X, at.Y)); err != nil {
		return nil, err
	}
	var signedIn struct{ TokenType string }
	if err := c.await(60*time.Second, "waiting for the DPoP sign-in", "window.bench.dpopSignedIn", &signedIn); err != nil {
		return nil, err
	}
	if signedIn.TokenType != "DPoP" {
		return nil, fmt.Errorf("DPoP sign-in: token_type %q, want DPoP", signedIn.TokenType)
	}
	r := &dpopFetchResult{}
	if err := c.await(120*time.Second, "client.fetch with DPoP beside Bearer", fmt.Sprintf("window.bench.dpopFetch(%d)", e.cfg.pairs), r); err != nil {
		return nil, err
	}
	if err := checkTools(r.Tools); err != nil {
		return nil, fmt.Errorf("DPoP client: %w", err)
	}
	return r, nil
}

// runSide does one side's run (see the package comment): row 1 in a
// profile of its own; rows 2, 3, 5 and the cold load in a second one, on
// which the returning user's Chromium (rows 6, 4, hot path) starts again.
func (e *env) runSide(ctx context.Context, s side) (r *runResult, err error) {
	console := &browser.Console{}
	if verbose {
		console.Echo = func(l string) { log.Printf("console %s", l) }
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\nbrowser console:\n%s", err, console)
		}
	}()
	newProfile := func() (string, error) { return os.MkdirTemp("", "mcp-oauth-bench-profile-") }
	var current *chromium
	closeChromium := func() {
		if current != nil {
			current.close()
			current = nil
		}
	}
	defer closeChromium()
	open := func(profile, label string) (*chromium, error) {
		closeChromium()
		c, err := e.openChromium(ctx, profile, s.page+" "+label, console)
		current = c
		return c, err
	}
	pageURL := func(mode string) string {
		return e.pages.URL + "/bench/" + s.page + "?mode=" + mode + "&mcp=" + url.QueryEscape(e.mcp.URL)
	}
	quiet := func() { time.Sleep(250 * time.Millisecond) }
	e.proxy.reset()
	r = &runResult{Requests: map[string][]request{}}

	// 1. First connect, the click as soon as the page is ready; a profile
	// of its own.
	nowProfile, err := newProfile()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(nowProfile)
	c, err := open(nowProfile, "click-now")
	if err != nil {
		return nil, err
	}
	e.proxy.setPhase("now-load")
	if err := c.within(30*time.Second, "opening "+s.page, chromedp.Navigate(pageURL("new"))); err != nil {
		return nil, err
	}
	if err := e.connect(c, 0, "now-connect", "now-after-connect", &r.ConnectNow); err != nil {
		return nil, fmt.Errorf("click as soon as ready: %w", err)
	}
	if err := c.await(5*time.Second, "reading the longest main-thread task", "window.bench.longestTaskMs()", &r.LongestTaskNowMs); err != nil {
		return nil, err
	}
	quiet()
	e.proxy.setPhase("restart")
	closeChromium()

	// Cold load, 2. first connect after 2 s idle, 5. the longest task, in
	// a second fresh profile.
	profile, err := newProfile()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	if c, err = open(profile, "cold"); err != nil {
		return nil, err
	}
	e.proxy.setPhase("load")
	if err := c.within(30*time.Second, "opening "+s.page, chromedp.Navigate(pageURL("new"))); err != nil {
		return nil, err
	}
	if err := c.await(30*time.Second, "waiting for the page to be ready", "window.bench.ready", &r.Ready); err != nil {
		return nil, err
	}
	if err := e.connect(c, idleBeforeClick, "connect", "after-connect", &r.Connect); err != nil {
		return nil, fmt.Errorf("click after %s: %w", idleBeforeClick, err)
	}
	if err := c.await(5*time.Second, "reading the longest main-thread task", "window.bench.longestTaskMs()", &r.LongestTaskMs); err != nil {
		return nil, err
	}
	quiet()

	// 3. Expired token in the same, warm page.
	e.proxy.setPhase("expired-warm")
	if err := c.await(30*time.Second, "expired token in the warm page: call → tools/list", "window.bench.expiredWarm()", &r.ExpiredWarm); err != nil {
		return nil, err
	}
	if err := checkTools(r.ExpiredWarm.Tools); err != nil {
		return nil, fmt.Errorf("expired token in the warm page: %w", err)
	}
	e.proxy.setPhase("idle")
	quiet()

	// 6. Returning user with a valid stored token (the one row 3 got).
	e.proxy.setPhase("restart")
	if c, err = open(profile, "returning"); err != nil {
		return nil, err
	}
	if err := c.within(30*time.Second, "opening blank.html", chromedp.Navigate(e.pages.URL+"/bench/blank.html")); err != nil {
		return nil, err
	}
	e.proxy.setPhase("returning")
	if err := c.within(30*time.Second, "reopening the page (returning user)", chromedp.Navigate(pageURL("returning"))); err != nil {
		return nil, err
	}
	if err := c.await(30*time.Second, "returning user: page load → tools/list", "window.bench.done", &r.Returning); err != nil {
		return nil, err
	}
	if err := checkTools(r.Returning.Tools); err != nil {
		return nil, fmt.Errorf("returning user: %w", err)
	}
	e.proxy.setPhase("idle")
	quiet()

	// 4. Returning user whose access token has expired (refresh).
	var ok bool
	if err := c.await(10*time.Second, "marking the stored token expired", "window.bench.expireToken()", &ok); err != nil {
		return nil, err
	}
	e.proxy.setPhase("restart")
	if c, err = open(profile, "expired"); err != nil {
		return nil, err
	}
	if err := c.within(30*time.Second, "opening blank.html", chromedp.Navigate(e.pages.URL+"/bench/blank.html")); err != nil {
		return nil, err
	}
	e.proxy.setPhase("expired")
	if err := c.within(30*time.Second, "reopening the page (expired token)", chromedp.Navigate(pageURL("returning"))); err != nil {
		return nil, err
	}
	if err := c.await(30*time.Second, "expired token: page load → tools/list", "window.bench.done", &r.Expired); err != nil {
		return nil, err
	}
	if err := checkTools(r.Expired.Tools); err != nil {
		return nil, fmt.Errorf("expired token: %w", err)
	}
	e.proxy.setPhase("hot")
	quiet()

	// 6. Hot path, same warm page.
	hot := fmt.Sprintf("window.bench.hot({ iterations: %d, batches: 5, pairs: %d })", e.cfg.iterations, e.cfg.pairs)
	if err := c.await(120*time.Second, "hot path", hot, &r.Hot); err != nil {
		return nil, err
	}
	if s.key == "ours" {
		_ = c.await(5*time.Second, "wasm memory", "window.bench.wasmMemoryBytes()", &r.WasmBytesAfterHot)
		// 7. client.fetch with DPoP beside Bearer, same warm page.
		if r.DPoPFetch, err = e.dpopFetch(c); err != nil {
			return nil, err
		}
	}
	e.proxy.setPhase("")

	for _, phase := range []string{"now-load", "now-connect", "now-after-connect", "load", "connect", "after-connect", "expired-warm", "returning", "idle", "expired"} {
		// Chromium asks for /favicon.ico for pages without an icon link
		// (callback.html), whenever it gets to it: not part of any flow.
		for _, q := range e.proxy.take(phase) {
			if q.Path != "/favicon.ico" {
				r.Requests[phase] = append(r.Requests[phase], q)
			}
		}
	}
	for _, q := range e.proxy.take("hot") { // hundreds of pings: counted, not kept
		r.HotRequests++
		if q.Method == "OPTIONS" {
			r.HotPreflights++
		}
	}
	e.proxy.take("restart")
	e.proxy.take("dpop")

	now := r.Requests["now-connect"]
	r.ConnectNowRequests = len(now)
	r.ConnectNowRoundTrips = criticalPath(now)
	r.ConnectNowFromLoadASAndMCP = e.countFor(r.Requests["now-load"], now).ASAndMCP
	conn := r.Requests["connect"]
	r.ConnectRequests = len(conn)
	r.ConnectRoundTrips = criticalPath(conn)
	r.ConnectOAuthMCP = e.countFor(conn).ASAndMCP
	r.ConnectFromLoadASAndMCP = e.countFor(r.Requests["load"], conn).ASAndMCP
	r.ExpiredWarmRequests = e.countFor(r.Requests["expired-warm"])
	ret := r.Requests["returning"]
	r.ReturningRequests = len(ret)
	r.ReturningRoundTrips = criticalPath(ret)
	for _, q := range ret {
		if !e.isMCPEndpoint(q) && !e.isPageRequest(q, s) {
			r.ReturningExtra++
		}
	}
	exp := e.countFor(r.Requests["expired"])
	r.ExpiredRequests, r.ExpiredRoundTrips, r.ExpiredTokenReqs = exp.All, exp.RoundTrips, exp.Tokens
	for _, phase := range []string{"load", "connect"} {
		for _, q := range r.Requests[phase] {
			if q.Host == e.pages.host() && contains(s.authCode, q.Path) {
				r.AuthCodeBytesServed += q.Bytes
			}
		}
	}
	return r, nil
}

// countFor counts the requests of the given phases.
func (e *env) countFor(phases ...[]request) reqCounts {
	var all []request
	for _, p := range phases {
		all = append(all, p...)
	}
	c := reqCounts{All: len(all), RoundTrips: criticalPath(all)}
	for _, q := range all {
		if q.Host != e.pages.host() {
			c.ASAndMCP++
		}
		if q.Host == e.asURL.Host && q.Method == "POST" && q.Path == "/token" {
			c.Tokens++
		}
	}
	return c
}

func checkTools(tools []string) error {
	if !contains(tools, "echo") {
		return fmt.Errorf("tools/list gave %q, want echo among them", tools)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *pageServer) host() string { return strings.TrimPrefix(s.URL, "http://") }

// isMCPEndpoint: a request to the MCP endpoint itself (its preflights
// included).
func (e *env) isMCPEndpoint(q request) bool {
	return q.Host == e.mcpURL.Host && q.Path == e.mcpURL.Path
}

// isPageRequest: the page's own document and scripts (not the wasm and
// the Go runtime's wasm_exec.js).
func (e *env) isPageRequest(q request, s side) bool {
	if q.Host != e.pages.host() {
		return false
	}
	return strings.HasPrefix(q.Path, "/bench/") || (s.key == "ours" && contains(s.authCode, q.Path) && q.Path != "/wasm_exec.js" && q.Path != "/mcp-oauth.wasm")
}

// ourCode lists the URL paths of what a page that signs in with this
// module downloads: its ES modules (web/*.js but the callback page's
// script, the service worker entry and the test helper), wasm_exec.js and
// the wasm.
func ourCode(root string) []string {
	files, _ := filepath.Glob(filepath.Join(root, "web", "*.js"))
	var out []string
	for _, f := range files {
		if b := filepath.Base(f); b != "callback.js" && b != "wasm_exec.js" && b != "worker.js" && b != "testing.js" {
			out = append(out, "/"+b)
		}
	}
	return append(out, "/wasm_exec.js", "/mcp-oauth.wasm")
}

// ensureSDKBundles builds the SDK bundles in bench/pages (npm ci, npm run
// build) when one is missing or older than its inputs.
func ensureSDKBundles(benchDir string) error {
	fresh, installed := true, true
	for _, b := range sdkBundles {
		bst, err := os.Stat(filepath.Join(benchDir, "pages", b.bundle))
		if err != nil {
			fresh = false
		}
		for _, in := range []string{"package-lock.json", "package.json", b.entry} {
			if st, err := os.Stat(filepath.Join(benchDir, in)); err == nil && fresh && st.ModTime().After(bst.ModTime()) {
				fresh = false
			}
		}
		if _, err := os.Stat(filepath.Join(benchDir, "node_modules", filepath.FromSlash(b.pkg), "package.json")); err != nil {
			installed = false
		}
	}
	if fresh && installed {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("the TypeScript SDK bundles need building and npm is not on PATH (npm ci && npm run build in %s)", benchDir)
	}
	steps := [][]string{{"run", "build"}}
	if !installed {
		steps = append([][]string{{"ci", "--no-audit", "--no-fund"}}, steps...)
	}
	for _, args := range steps {
		logf("building the TypeScript SDK auth bundles: npm %s (in %s)", strings.Join(args, " "), benchDir)
		cmd := exec.Command(npm, args...)
		cmd.Dir = benchDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm %s in %s failed: %w\n%s", strings.Join(args, " "), benchDir, err, out)
		}
	}
	for _, b := range sdkBundles {
		if _, err := os.Stat(filepath.Join(benchDir, "pages", b.bundle)); err != nil {
			return errors.New("npm run build did not produce pages/" + b.bundle)
		}
	}
	return nil
}
