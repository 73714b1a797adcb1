package mcpoauth_test

import (
	"encoding/json"
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// A sign-in traces each of its exchanges in order, with the metadata
// documents' bodies and the allowed headers, and no secret anywhere.
func TestTraceOfASignIn(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{StaticClients: map[string]string{"conf": "s3cret-client-secret"}})
	var traces []mcpoauth.Trace
	store := mcpoauth.NewMemoryStore()
	c, ua := newClient(t, s, func(c *mcpoauth.Config) {
		c.OnTrace = func(tr mcpoauth.Trace) { traces = append(traces, tr) }
		c.Store = store
		c.ClientID, c.ClientSecret = "conf", "s3cret-client-secret"
	})
	if _, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{}); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, tr := range traces {
		steps = append(steps, string(tr.Step))
	}
	want := "challenge resource_metadata authorization_server_metadata token"
	if got := strings.Join(steps, " "); got != want {
		t.Fatalf("steps %q, want %q", got, want)
	}
	if tr := traces[0]; tr.Status != 401 || tr.Method != "GET" || tr.URL != s.MCPURL() || tr.Headers["www-authenticate"] == "" || tr.Body != "" {
		t.Errorf("challenge trace %+v", tr)
	}
	if tr := traces[1]; tr.Status != 200 || !strings.Contains(tr.Body, `"authorization_servers"`) || !strings.HasPrefix(tr.Headers["content-type"], "application/json") {
		t.Errorf("resource metadata trace %+v", tr)
	}
	if tr := traces[3]; tr.Status != 200 || tr.Method != "POST" || tr.Body != "" || tr.Ms <= 0 {
		t.Errorf("token trace %+v", tr)
	}
	tokens, _ := c.Tokens(ctx(t))
	all, _ := json.Marshal(traces)
	secrets := []string{tokens.AccessToken, tokens.RefreshToken, "s3cret-client-secret"}
	for _, u := range ua.urls {
		secrets = append(secrets, u) // the callback URLs carry the codes
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(string(all), sec) {
			t.Errorf("a trace carries a secret: %.20s…", sec)
		}
	}
	for _, f := range formsTo(s, "/token") {
		for _, k := range []string{"code", "code_verifier"} {
			if v := f.Get(k); v != "" && strings.Contains(string(all), v) {
				t.Errorf("a trace carries the %s", k)
			}
		}
	}
}

// An exchange without an answer is traced with why.
func TestTraceOfAFailure(t *testing.T) {
	var traces []mcpoauth.Trace
	c, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: "http://127.0.0.1:9/mcp", RedirectURI: redirectURI, UserAgent: &countingUA{}, Fetch: testFetch,
		OnTrace: func(tr mcpoauth.Trace) { traces = append(traces, tr) }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	if err == nil || len(traces) == 0 {
		t.Fatalf("err %v, traces %v", err, traces)
	}
	if tr := traces[0]; tr.Step != mcpoauth.TraceChallenge || tr.Status != 0 || !strings.HasPrefix(tr.Error, "network_error") {
		t.Errorf("trace of a request without an answer: %+v", tr)
	}
}
