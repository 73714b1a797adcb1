//go:build !js

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
)

// TestAppsUseThePackage: the packed tarball (./build.sh pack), installed
// into the sample apps of examples/ (one app built with Vite, webpack 5 and
// esbuild, and a plain static page with an import map) with no Go on the
// PATH, signs in in popup and in redirect mode through oidc-provider's
// login and consent forms, and lists the TypeScript SDK MCP server's
// tools with the SDK.
func TestAppsUseThePackage(t *testing.T) {
	installExamples(t)
	npmInExamples(t, "run", "build")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, mcp := startFormsPeers(t, ctx, nil)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browser.Options(
		chromedp.Flag("disable-popup-blocking", false), // the popup opens inside the click, or not at all
	)...)
	defer cancelAlloc()
	root, cancelRoot := chromedp.NewContext(allocCtx)
	defer cancelRoot()
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}

	for _, app := range []struct{ name, dir, page string }{
		{"vite", "examples/vite/dist", "/index.html"},
		{"webpack", "examples/webpack/dist", "/index.html"},
		{"esbuild", "examples/esbuild/dist", "/index.html"},
		{"static", "examples", "/static/index.html"},
	} {
		srv := httptest.NewServer(http.FileServer(http.Dir(app.dir)))
		defer srv.Close()
		for _, mode := range []string{"popup", "redirect"} {
			t.Run(app.name+"/"+mode, func(t *testing.T) {
				signInToApp(t, root, srv.URL+app.page+"?mode="+mode+"&mcp="+mcp.URL, mode)
			})
		}
	}
}

// startFormsPeers starts oidc-provider with its login and consent forms
// (CORS for corsOrigins; nil: any loopback origin) and the TypeScript SDK
// MCP server it protects, both stopped when the test ends.
func startFormsPeers(t *testing.T, ctx context.Context, corsOrigins []string) (as, mcp *peers.Process) {
	t.Helper()
	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "forms", CORSOrigins: corsOrigins})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Stop)
	mcp, err = peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mcp.Stop)
	return as, mcp
}

var (
	examplesOnce sync.Once
	examplesErr  error
)

// installExamples packs the tarball (./build.sh pack) and installs it, with
// the examples' own packages, into examples/ as a web developer would:
// with Node and npm, and no Go on the PATH. Once per test binary.
func installExamples(t *testing.T) {
	t.Helper()
	requireBrowserModule(t)
	examplesOnce.Do(func() {
		if out, err := exec.Command("./build.sh", "pack").CombinedOutput(); err != nil {
			examplesErr = fmt.Errorf("./build.sh pack: %v\n%s", err, out)
			return
		}
		tarball, _ := filepath.Abs(filepath.Join("dist", "mcp-oauth-wasm-"+mcpoauth.Version+".tgz"))
		if _, err := os.Stat(tarball); err != nil {
			examplesErr = fmt.Errorf("./build.sh pack wrote no %s: %v", tarball, err)
			return
		}
		if _, err := os.Stat("examples/node_modules/.package-lock.json"); err != nil {
			if examplesErr = npm("ci"); examplesErr != nil {
				return
			}
		}
		examplesErr = npm("install", "--no-save", tarball)
	})
	if examplesErr != nil {
		t.Fatal(examplesErr)
	}
}

// npm runs npm in examples/ without Go on the PATH.
func npm(args ...string) error {
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "go")); err != nil {
			path = append(path, dir)
		}
	}
	cmd := exec.Command("npm", append(args, "--no-audit", "--no-fund")...)
	cmd.Dir = "examples"
	cmd.Env = append(os.Environ(), "PATH="+strings.Join(path, string(filepath.ListSeparator)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm %s in examples/: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func npmInExamples(t *testing.T, args ...string) {
	t.Helper()
	if err := npm(args...); err != nil {
		t.Fatal(err)
	}
}

// signInToApp opens the app in a browser context of its own (no cookies,
// no storage), signs in and waits for the tools.
func signInToApp(t *testing.T, root context.Context, appURL, mode string) {
	bctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()
	console := &browser.Console{}
	console.Watch(ctx, "app")
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", console.String())
		}
	}()
	status := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
		return s
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(appURL)); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if s := status(); ok(s) {
				return s
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the app says %q", what, status())
		return ""
	}
	waitFor("waiting for the app", func(s string) bool { return s == "Not signed in" })
	if mode == "popup" {
		popups := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#connect"))); err != nil {
			t.Fatal(err)
		}
		var id target.ID
		select {
		case id = <-popups:
		case <-time.After(20 * time.Second):
			t.Fatalf("Connect opened no popup: the app says %q", status())
		}
		popup, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		defer cancelPopup()
		_, _ = chromedp.Call(popup, page.BringToFront, cdp.Empty{})
		if err := signIn(popup, true); err != nil {
			t.Fatalf("signing in in the popup: %v (the app says %q)", err, status())
		}
	} else {
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#connect"))); err != nil {
			t.Fatal(err)
		}
		if err := signIn(ctx, true); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("signing in (at %s): %v", redactQuery(loc), err)
		}
	}
	got := waitFor("waiting for the tools", func(s string) bool { return strings.HasPrefix(s, "Connected") || strings.HasPrefix(s, "Failed") })
	tools, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#tools")))
	if !strings.HasPrefix(got, "Connected ("+mode+")") || !strings.Contains(tools, "echo") {
		t.Fatalf("after signing in the app says %q and lists %q", got, tools)
	}
	// The engine ran in its Worker: the page itself never fetched the wasm.
	if wasm, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\.wasm($|\?)/.test(n))`)); len(wasm) > 0 {
		t.Errorf("the page fetched the wasm itself (%v): the bundle lost engine-worker.js, so the engine ran on the page", wasm)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		t.Errorf("the address bar still holds the authorization response: %s", redactQuery(loc))
	}
}
