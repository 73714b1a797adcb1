package mcpoauth

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// Fuzz targets for decoding what servers and storage hand us. Their seed
// corpora run in every `go test`; `./build.sh fuzz` runs them longer.

func jsonResponse(body []byte) *response {
	return &response{url: "https://as.example/.well-known/oauth-authorization-server", status: 200,
		header: http.Header{"Content-Type": {"application/json"}}, body: body}
}

// FuzzAuthServerMetadata: any document decodes or errors, never panics;
// one that validates has the exact issuer and acceptable endpoint URLs.
func FuzzAuthServerMetadata(f *testing.F) {
	for _, s := range []string{
		`{"issuer":"https://as.example","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t","code_challenge_methods_supported":["S256"]}`,
		`{"issuer":"https://as.example/","authorization_endpoint":"javascript:x","token_endpoint":"https://as.example/t"}`,
		`{"issuer":"https://as.example","authorization_endpoint":"http://evil/a","token_endpoint":"https://as.example/t"}`,
		`{"issuer":5}`, `[]`, `{"issuer":"https://as.example","response_types_supported":["token"]}`, "",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, legacy bool) {
		var m AuthServerMetadata
		if err := jsonResponse(body).decodeJSONObject(&m); err != nil {
			return
		}
		if err := m.validate("https://as.example", "fuzz", legacy); err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if !legacy && m.Issuer != "https://as.example" {
			t.Fatalf("accepted issuer %q", m.Issuer)
		}
		for _, e := range []string{m.AuthorizationEndpoint, m.TokenEndpoint} {
			if _, err := parseSecureURL("endpoint", e); err != nil {
				t.Fatalf("accepted endpoint %q: %v", e, err)
			}
		}
	})
}

// FuzzProtectedResourceMetadata: a document that validates names this MCP
// server as its resource and an acceptable authorization server.
func FuzzProtectedResourceMetadata(f *testing.F) {
	for _, s := range []string{
		`{"resource":"https://mcp.example/mcp","authorization_servers":["https://as.example"]}`,
		`{"resource":"https://mcp.example","authorization_servers":["https://as.example"]}`,
		`{"resource":"https://mcp.example/mc","authorization_servers":["https://as.example"]}`,
		`{"resource":"https://evil.example/mcp","authorization_servers":["https://as.example"]}`,
		`{"resource":"https://mcp.example/mcp#x","authorization_servers":["http://as.example"]}`,
		`{"resource":"https://MCP.example:443/mcp/","authorization_servers":[]}`,
	} {
		f.Add([]byte(s))
	}
	mcp, _ := url.Parse("https://mcp.example/mcp")
	f.Fuzz(func(t *testing.T, body []byte) {
		var m ProtectedResourceMetadata
		if err := jsonResponse(body).decodeJSONObject(&m); err != nil {
			return
		}
		if err := m.validate(mcp, "fuzz"); err != nil {
			return
		}
		r, err := url.Parse(m.Resource)
		if err != nil || !sameOrigin(r, mcp) || !resourceMatches(m.Resource, mcp) {
			t.Fatalf("accepted resource %q", m.Resource)
		}
		if _, err := parseSecureURL("as", m.AuthorizationServers[0]); err != nil {
			t.Fatalf("accepted authorization server %q", m.AuthorizationServers[0])
		}
	})
}

// FuzzStoredRecords: whatever is stored under our keys, loading never
// panics; a record is either valid or removed; other keys are untouched.
func FuzzStoredRecords(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"a","token_type":"Bearer","issuer":"https://as"}`,
		`{"client_id":"c","issuer":"https://as"}`,
		`{"state":"s","code_verifier":"v","mcp_url":"m","issuer":"i","client_id":"c","redirect_uri":"r"}`,
		`{"resource":"r","authorization_server":{"issuer":"i","authorization_endpoint":"a","token_endpoint":"t"}}`,
		`{"access_token":["x"]}`, `null`, `{`, "\x00\xff", `{"expires_at":-1,"access_token":"a","token_type":"b","issuer":"c"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ctx := context.Background()
		store := NewMemoryStore()
		recs := records{store: store, prefix: "p"}
		_ = store.SetItem(ctx, "other", "keep")
		kinds := []struct {
			key string
			v   interface{ validate() error }
		}{
			{recs.tokensKey("m"), &Tokens{}},
			{recs.clientKey("i"), &ClientInfo{}},
			{recs.pendingKey("s"), &PendingAuthorization{}},
			{recs.resourceKey("m"), &serverInfo{}},
			{recs.authServerKey("i"), &authServerRecord{}},
		}
		for _, k := range kinds {
			_ = store.SetItem(ctx, k.key, raw)
			found, err := recs.load(ctx, k.key, k.v)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if found {
				if err := k.v.validate(); err != nil {
					t.Fatalf("an invalid record was returned: %v", err)
				}
			} else if _, still, _ := store.GetItem(ctx, k.key); still && raw != "" {
				t.Fatalf("an unusable record under %s was kept", k.key)
			}
		}
		if v, _, _ := store.GetItem(ctx, "other"); v != "keep" {
			t.Fatal("another key was touched")
		}
	})
}
