//go:build !js

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestJSUnit runs the unit tests of web/'s modules (e2e/jsunit/*.test.js,
// mocha and chai) in Chromium, with web/ served at / as an app serves it,
// and reports each failing test by its title.
func TestJSUnit(t *testing.T) {
	if _, err := os.Stat(filepath.Join("e2e", "jsunit", "node_modules", "mocha", "mocha.js")); err != nil {
		t.Fatalf("mocha is not installed (%v): cd e2e/jsunit && npm ci (./build.sh test does it)", err)
	}
	p := openAppPage(t, mcpoauthtest.Options{}, func(mux *http.ServeMux) {
		mux.Handle("/jsunit/", http.StripPrefix("/jsunit/", http.FileServer(http.Dir(filepath.Join("e2e", "jsunit")))))
	})
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.srv.URL+"/jsunit/index.html")); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Done     bool
		Passes   []string
		Failures []struct{ Title, Error string }
	}
	var r result
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var err error
		r, err = chromedp.Run(p.ctx, chromedp.Evaluate[result](`window.__jsunit || { Done: false }`))
		if err == nil && (r.Done || len(r.Failures) > 0 && len(r.Passes) == 0 && strings.Contains(r.Failures[0].Title, "loading")) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, f := range r.Failures {
		t.Errorf("%s\n%s", f.Title, f.Error)
	}
	if !r.Done {
		t.Fatalf("the unit tests did not finish within 2 minutes (%d passed so far)", len(r.Passes))
	}
	if len(r.Passes) < 20 {
		t.Errorf("only %d unit tests passed: were they loaded?", len(r.Passes))
	}
	t.Logf("%d unit tests passed, %d failed", len(r.Passes), len(r.Failures))
}
