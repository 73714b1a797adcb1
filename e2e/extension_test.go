//go:build !js

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/browser"
)

// TestExtensionSignsIn: the MV3 example extension (examples/extension, with
// the packed package copied in) loaded into headless Chromium signs in
// with chrome.identity.launchWebAuthFlow through oidc-provider's login and
// consent forms, from its page and from its service worker (which imports
// the package's worker entry and keeps its records in chrome.storage.local),
// and then calls the MCP server with the token.
func TestExtensionSignsIn(t *testing.T) {
	installExamples(t)
	npmInExamples(t, "run", "build:extension")
	extDir, _ := filepath.Abs(filepath.Join("examples", "extension"))
	if _, err := os.Stat(filepath.Join(extDir, "lib", "worker.js")); err != nil {
		t.Fatalf("the package was not copied into the extension: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The extension's origin is chrome-extension://<id>: the authorization
	// server must allow it for CORS (README, "Browser extension").
	as, mcp := startFormsPeers(t, ctx, []string{"*"})

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, browser.Options(
		chromedp.Flag("disable-extensions", false),
		chromedp.Flag("disable-extensions-except", extDir),
		chromedp.Flag("load-extension", extDir),
	)...)
	defer cancelAlloc()
	root, cancelRoot := chromedp.NewContext(allocCtx)
	defer cancelRoot()
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	console := &browser.Console{}
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", console.String())
		}
	}()

	// The extension's id, from its service worker.
	var id string
	for deadline := time.Now().Add(20 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		infos, err := chromedp.Targets(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "service_worker" && strings.HasPrefix(info.URL, "chrome-extension://") {
				id = strings.TrimPrefix(info.URL, "chrome-extension://")
				id = id[:strings.IndexByte(id, '/')]
			}
		}
	}
	if id == "" {
		t.Fatal("the extension's service worker did not start")
	}
	pageCtx, cancelPage := chromedp.NewContext(root)
	defer cancelPage()
	console.Watch(pageCtx, "extension page")
	if _, err := chromedp.Run(pageCtx, chromedp.Navigate("chrome-extension://"+id+"/page.html?mcp="+mcp.URL)); err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		s, _ := chromedp.Run(pageCtx, chromedp.Text(chromedp.CSS(sel)))
		return s
	}
	waitText := func(sel, prefix string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if s := text(sel); strings.HasPrefix(s, prefix) || strings.Contains(s, "ailed") {
				return s
			}
		}
		return text(sel)
	}
	if s := waitText("#status", "Ready"); s != "Ready" {
		t.Fatalf("the extension page says %q", s)
	}

	for _, tc := range []struct{ name, button, status, want string }{
		{"page", "#connect", "#status", "Signed in; initialize answered 200"},
		{"service worker", "#connect-sw", "#sw-status", "Service worker signed in; initialize answered 200"},
	} {
		// launchWebAuthFlow's window has no opener, so it is found by its URL.
		seen := map[target.ID]bool{}
		if infos, err := chromedp.Targets(root); err == nil {
			for _, info := range infos {
				seen[info.TargetID] = true
			}
		}
		if _, err := chromedp.Run(pageCtx, chromedp.Click(chromedp.CSS(tc.button))); err != nil {
			t.Fatal(err)
		}
		var win target.ID
		for deadline := time.Now().Add(20 * time.Second); win == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			infos, _ := chromedp.Targets(root)
			for _, info := range infos {
				if !seen[info.TargetID] && info.Type == "page" && strings.HasPrefix(info.URL, as.URL) {
					win = info.TargetID
				}
			}
		}
		if win == "" {
			t.Logf("authorization server:\n%s", strings.Join(as.Logs(), "\n"))
			t.Fatalf("%s: launchWebAuthFlow opened no window (the page says %q / %q)", tc.name, text("#status"), text("#sw-status"))
		}
		// Cancelling a chromedp context closes its window, and a
		// launchWebAuthFlow window closed before Chrome has taken the final
		// redirect fails the flow ("Authorization page could not be
		// loaded"): the window's context ends only after the page has its
		// answer, when Chrome has closed the window itself.
		flowCtx, cancelFlow := chromedp.NewContext(root, chromedp.WithTargetID(win))
		if err := signIn(flowCtx, tc.name == "page"); err != nil {
			cancelFlow()
			t.Fatalf("%s: signing in in the launchWebAuthFlow window: %v", tc.name, err)
		}
		got := waitText(tc.status, tc.want)
		cancelFlow()
		if got != tc.want {
			t.Logf("authorization server:\n%s", strings.Join(as.Logs(), "\n"))
			t.Errorf("%s: the page says %q, want %q", tc.name, got, tc.want)
		}
	}
	// Both clients' records are in chrome.storage.local, under their own prefixes.
	keys, err := chromedp.Run(pageCtx, chromedp.Evaluate[[]string](`chrome.storage.local.get(null).then((all) => Object.keys(all).filter((k) => k.includes(':tokens:')))`, chromedp.EvalAwaitPromise))
	if err != nil || len(keys) != 2 {
		t.Errorf("token records in chrome.storage.local: %v (%v), want the page's and the worker's", keys, err)
	}
}
