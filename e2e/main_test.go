//go:build !js

// Package e2e holds the end-to-end tests: the browser module in Debian's
// Chromium (driven with chromedp) against the demo server and its real
// peers, the engine against the real peers (oidc-provider, the TypeScript
// and Go SDK MCP servers), and the security regression tests. They need
// Node.js, Chromium and the built browser module; `./build.sh test` has
// them all. The engine's own tests at the repository root need none of it.
//
//	go test -run TestBrowserPopupFlow -v ./e2e
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestMain runs the tests from the repository root: they build and serve
// web/, run ./build.sh and go build ./cmd/demo.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := os.Stat(filepath.Join("web", "mcp-oauth.js")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: not in the repository root after chdir:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func newServer(t *testing.T, opts mcpoauthtest.Options) *mcpoauthtest.Server {
	t.Helper()
	s := mcpoauthtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// hasPath reports whether s saw a request for path.
func hasPath(s *mcpoauthtest.Server, path string) bool {
	for _, r := range s.Requests() {
		if r.Path == path {
			return true
		}
	}
	return false
}
