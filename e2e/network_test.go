//go:build !js

package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// TestBrowserNetworkErrorsSayWhy: in Chromium a fetch that fails says only
// "Failed to fetch"; the module's network_error says why. A server on
// another origin that answers without CORS headers gives reason 'cors' and
// a message naming Access-Control-Allow-Origin; an address where nothing
// listens gives 'unreachable'. Each error carries the URL.
func TestBrowserNetworkErrorsSayWhy(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	noCORS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+r.Host+`/prm"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer noCORS.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	type failure struct{ Code, Reason, URL, Message string }
	got := eval[map[string]failure](p, "calling servers that do not answer this page", `(async () => {
		`+moduleJS+`
		const out = {};
		const record = async (name, fn) => { try { await fn(); out[name] = { Code: 'none' }; } catch (e) { out[name] = { Code: e.code, Reason: e.reason || '', URL: e.url || '', Message: e.message }; } };
		await record('cors', () => api.checkIfAuthRequired(`+jsString(noCORS.URL+"/mcp")+`));
		await record('unreachable', () => api.checkIfAuthRequired(`+jsString(closed+"/mcp")+`));
		const client = api.createClient({ mcpUrl: `+jsString(noCORS.URL+"/mcp")+`, redirectUri: location.origin + '/callback.html', storage: 'memory', mode: async () => '' });
		await record('discovery', () => client.authorize());
		return out;
	})()`)
	for name, want := range map[string]failure{
		"cors":        {Code: "network_error", Reason: "cors", URL: noCORS.URL + "/mcp", Message: "Access-Control-Allow-Origin"},
		"unreachable": {Code: "network_error", Reason: "unreachable", URL: closed + "/mcp", Message: "nothing answered"},
		"discovery":   {Code: "network_error", Reason: "cors", URL: noCORS.URL + "/mcp", Message: "Access-Control-Allow-Origin"},
	} {
		g := got[name]
		if g.Code != want.Code || g.Reason != want.Reason || g.URL != want.URL || !strings.Contains(g.Message, want.Message) {
			t.Errorf("%s: got %+v, want %s, reason %s, url %s, a message naming %q", name, g, want.Code, want.Reason, want.URL, want.Message)
		}
	}
}
