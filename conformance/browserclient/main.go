//go:build !js

// Command browserclient is the MCP conformance suite's client for the
// browser module: the engine compiled to WebAssembly, run by mcp-oauth.js in
// headless Chromium. `conformance/run.sh .cache/browserclient` (or
// `./build.sh conformance --browser`) starts it with the scenario's MCP
// server URL as its last argument.
//
// It serves web/ (mcp-oauth.js, mcp-oauth.wasm, wasm_exec.js,
// callback.html, demo/mcp-sdk.js) and the runner page (runner.html,
// runner.js, embedded) on 127.0.0.1 at a random port, and opens the runner
// page in a fresh headless Chromium. The page creates a popup-mode client
// with redirectUri <origin>/callback.html and speaks MCP through
// client.fetch with the official TypeScript SDK: connect, tools/list,
// tools/call of the first tool. Sign-ins start inside client.fetch (401 in
// the middle of a session, 403 step-up), without a click, so Chromium runs
// with its popup blocker off. The suite's servers send no CORS headers, so
// this Chromium also runs with web security off (and, as that requires, its
// own fresh profile): never browse with it.
//
// Exit status 0 when the page finished the MCP calls; 1 with the
// McpOAuthError code and message otherwise; 2 on usage and setup errors.
// The page's console goes to stderr.
//
// Not built for GOOS=js (chromedp starts a process), so that
// `GOOS=js GOARCH=wasm go build ./...` skips it.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
)

// cimdURL is the Client ID Metadata Document URL the suite expects
// (its reference client hard-wires the same one; the suite never fetches it).
const cimdURL = "https://conformance-test.local/client-metadata.json"

//go:embed runner.html runner.js
var runnerFiles embed.FS

// suiteContext is MCP_CONFORMANCE_CONTEXT.
type suiteContext struct {
	Name              string `json:"name"`
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	ClientMetadataURL string `json:"client_metadata_url"`
}

// runnerConfig is what the runner page reads from /runner-config.json.
type runnerConfig struct {
	Scenario          string `json:"scenario,omitempty"`
	MCPURL            string `json:"mcpUrl"`
	ClientID          string `json:"clientId,omitempty"`
	ClientSecret      string `json:"clientSecret,omitempty"`
	ClientMetadataURL string `json:"clientMetadataUrl,omitempty"`
	ClientName        string `json:"clientName"`
	PopupTimeoutMs    int64  `json:"popupTimeoutMs"`
}

// pageResult is window.__conformanceResult.
type pageResult struct {
	OK                    bool     `json:"ok"`
	Tools                 []string `json:"tools"`
	Name                  string   `json:"name"`
	Code                  string   `json:"code"`
	Message               string   `json:"message"`
	OAuthError            string   `json:"oauthError"`
	OAuthErrorDescription string   `json:"oauthErrorDescription"`
	Status                int      `json:"status"`
}

func main() {
	fs := flag.NewFlagSet("browserclient", flag.ContinueOnError)
	webDir := fs.String("web", "", "the web/ directory to serve (default: found from the executable's or the working directory's parents)")
	chromium := fs.String("chromium", "", "Chromium executable (default $CHROMIUM, else /usr/bin/chromium, else chromium on PATH)")
	timeout := fs.Duration("timeout", 25*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: browserclient [flags] <mcp server URL>")
		fs.PrintDefaults()
	}
	if len(os.Args) < 2 {
		fs.Usage()
		os.Exit(2)
	}
	// The suite appends the server URL; flags come before it.
	if err := fs.Parse(os.Args[1 : len(os.Args)-1]); err != nil {
		os.Exit(2)
	}
	serverURL := os.Args[len(os.Args)-1]
	if *chromium == "" {
		*chromium = findChromium()
	}
	res, err := run(serverURL, *webDir, *chromium, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browserclient:", err)
		os.Exit(2)
	}
	if !res.OK {
		fmt.Fprintf(os.Stderr, "browserclient: the page failed: %s: %s\n", res.Name, res.Message)
		if res.Code != "" {
			fmt.Fprintln(os.Stderr, "code:", res.Code)
		}
		if res.OAuthError != "" {
			fmt.Fprintf(os.Stderr, "oauth error: %s %s\n", res.OAuthError, res.OAuthErrorDescription)
		}
		if res.Status != 0 {
			fmt.Fprintln(os.Stderr, "status:", res.Status)
		}
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "browserclient: ok, tools %v\n", res.Tools)
}

func run(serverURL, webDir, chromiumPath string, timeout time.Duration) (*pageResult, error) {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var sc suiteContext
	if raw := os.Getenv("MCP_CONFORMANCE_CONTEXT"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &sc); err != nil {
			return nil, fmt.Errorf("MCP_CONFORMANCE_CONTEXT is not JSON: %v", err)
		}
	}
	if sc.ClientMetadataURL == "" {
		sc.ClientMetadataURL = cimdURL
	}
	cfg := runnerConfig{
		Scenario:          os.Getenv("MCP_CONFORMANCE_SCENARIO"),
		MCPURL:            serverURL,
		ClientID:          sc.ClientID,
		ClientSecret:      sc.ClientSecret,
		ClientMetadataURL: sc.ClientMetadataURL,
		ClientName:        "mcp-oauth-wasm browser conformance client",
		PopupTimeoutMs:    timeout.Milliseconds(),
	}

	if webDir == "" {
		var err error
		if webDir, err = findWebDir(); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"mcp-oauth.js", "mcp-oauth.wasm", "wasm_exec.js", "callback.html", "callback.js", "demo/mcp-sdk.js"} {
		if _, err := os.Stat(filepath.Join(webDir, f)); err != nil {
			return nil, fmt.Errorf("%s is missing (run ./build.sh, and for demo/mcp-sdk.js: cd web/demo && npm ci && npm run build): %v", filepath.Join(webDir, f), err)
		}
	}

	// The page's origin is the redirect URI's origin.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	origin := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: handler(webDir, cfg), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "[%5.2fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, a...)...)
	}

	profile, err := os.MkdirTemp("", "mcp-oauth-browserclient-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)

	opts := browser.Options(
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		// The suite's servers send no CORS headers. Only this runner does this.
		chromedp.Flag("disable-web-security", true),
		// Sign-ins start inside client.fetch, without a click.
		chromedp.Flag("disable-popup-blocking", true),
		chromedp.WindowSize(1000, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	pageCtx, cancelPage := chromedp.NewContext(allocCtx)
	defer cancelPage()
	if err := chromedp.Do(pageCtx); err != nil {
		return nil, fmt.Errorf("starting %s (install it: apt-get install chromium, or pass -chromium / set CHROMIUM): %v", chromiumPath, err)
	}
	logf("browserclient: %s started (fresh profile, web security off)", chromiumPath)

	var wg sync.WaitGroup
	defer wg.Wait()
	watchCtx, stopWatch := context.WithCancel(pageCtx)
	defer stopWatch()
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range chromedp.Console(watchCtx) {
			if err != nil {
				return
			}
			where := ""
			if m.URL != "" && m.Type != chromedp.ConsoleLog {
				where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			logf("console %s%s", m, where)
		}
	}()
	// Popups (the sign-in windows): where they go.
	go func() {
		defer wg.Done()
		for ev, err := range chromedp.BrowserEvents(watchCtx, target.TargetInfoChanged) {
			if err != nil {
				return
			}
			if ev.TargetInfo != nil && ev.TargetInfo.Type == "page" && ev.TargetInfo.OpenerID != "" {
				logf("popup %s at %s", ev.TargetInfo.TargetID, redactURL(ev.TargetInfo.URL))
			}
		}
	}()

	logf("browserclient: %s, page %s/runner.html, MCP server %s", cfg.Scenario, origin, serverURL)
	if err := chromedp.Do(pageCtx, chromedp.Navigate(origin+"/runner.html")); err != nil {
		return nil, fmt.Errorf("opening the runner page: %v", err)
	}
	res, err := chromedp.Run(pageCtx, chromedp.Poll[*pageResult](`window.__conformanceResult`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no result from the page after %s (%v)", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		}
		return nil, fmt.Errorf("waiting for the page: %v", err)
	}
	if res == nil {
		return nil, errors.New("the page reported no result")
	}
	// Let the console watcher print what is queued, then stop it.
	time.Sleep(50 * time.Millisecond)
	stopWatch()
	logf("browserclient: finished (ok=%v)", res.OK)
	return res, nil
}

// handler serves the runner page, its configuration, and web/.
func handler(webDir string, cfg runnerConfig) http.Handler {
	mux := http.NewServeMux()
	files := http.FileServerFS(runnerFiles)
	mux.Handle("GET /runner.html", files)
	mux.Handle("GET /runner.js", files)
	mux.HandleFunc("GET /runner-config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(cfg)
	})
	mux.Handle("GET /", http.FileServer(http.Dir(webDir)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// findWebDir looks for web/ (with mcp-oauth.js) beside or above the
// executable, then the working directory.
func findWebDir() (string, error) {
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, d := range starts {
		for {
			web := filepath.Join(d, "web")
			if _, err := os.Stat(filepath.Join(web, "mcp-oauth.js")); err == nil {
				return web, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", fmt.Errorf("cannot find web/mcp-oauth.js above %s; pass -web DIR", strings.Join(starts, " or "))
}

// findChromium is $CHROMIUM, else Debian's /usr/bin/chromium, else the
// first Chromium or Chrome on PATH.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	const debian = "/usr/bin/chromium"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return debian
}

// redactURL drops the query of a callback URL (code and state) from logs.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 && strings.Contains(u, "callback.html") {
		return u[:i] + "?…"
	}
	return u
}
