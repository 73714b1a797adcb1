package mcpoauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

const redirectURI = "http://127.0.0.1:9/callback"

// testFetch carries the engine's requests in tests: nil (the default
// transport) natively; under js/wasm, wasm_test.go sets one that reaches
// the tests' servers.
var testFetch mcpoauth.RoundTripFunc

// send carries req the way the engine's requests go in this build (see
// testFetch), for a test that plays another party.
func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	do := testFetch
	if do == nil {
		do = http.DefaultTransport.RoundTrip
	}
	resp, err := do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// countingUA wraps the headless user agent, counts authorizations, and lets
// a test tamper with the callback URL.
type countingUA struct {
	n      int
	urls   []string
	tamper func(callback string) string
}

func (u *countingUA) OpenAuthorizationURL(ctx context.Context, req *mcpoauth.AuthorizationRequest) (string, error) {
	u.n++
	u.urls = append(u.urls, req.URL)
	cb, err := (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx, req)
	if err == nil && u.tamper != nil {
		cb = u.tamper(cb)
	}
	return cb, err
}

// lastAuthParams returns the query of the last authorization URL opened.
func (u *countingUA) lastAuthParams(t *testing.T) url.Values {
	t.Helper()
	if len(u.urls) == 0 {
		t.Fatal("no authorization URL was opened")
	}
	p, err := url.Parse(u.urls[len(u.urls)-1])
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func newServer(t *testing.T, opts mcpoauthtest.Options) *mcpoauthtest.Server {
	t.Helper()
	s := mcpoauthtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, s *mcpoauthtest.Server, mutate func(*mcpoauth.Config)) (*mcpoauth.Client, *countingUA) {
	t.Helper()
	ua := &countingUA{}
	cfg := mcpoauth.Config{MCPURL: s.MCPURL(), RedirectURI: redirectURI, UserAgent: ua, Fetch: testFetch}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := mcpoauth.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, ua
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// call sends a JSON-RPC request through the client's Transport.
func call(t *testing.T, c *mcpoauth.Client, mcpURL, method string) (int, map[string]any, error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method})
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, mcpURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, nil
}

func mustCall(t *testing.T, c *mcpoauth.Client, mcpURL, method string) map[string]any {
	t.Helper()
	status, out, err := call(t, c, mcpURL, method)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if status != 200 {
		t.Fatalf("%s: HTTP %d", method, status)
	}
	return out
}

func wantCode(t *testing.T, err error, code mcpoauth.Code) {
	t.Helper()
	if got := mcpoauth.CodeOf(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// pathsOf filters "METHOD /path" entries by path substring.
func countPaths(s *mcpoauthtest.Server, path string) int {
	n := 0
	for _, p := range s.Paths() {
		if strings.HasSuffix(p, " "+path) {
			n++
		}
	}
	return n
}

func formsTo(s *mcpoauthtest.Server, path string) []url.Values {
	var out []url.Values
	for _, r := range s.Requests() {
		if r.Path == path && r.Method == http.MethodPost {
			out = append(out, r.Form)
		}
	}
	return out
}

func hasPath(s *mcpoauthtest.Server, path string) bool { return countPaths(s, path) > 0 }
