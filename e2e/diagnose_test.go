//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// diagnoseFrom runs mcpOAuth.diagnose(mcpURL) in the app page p, whose
// origin differs from the servers' (CORS applies as for a real app).
func diagnoseFrom(t *testing.T, p *appPage, mcpURL string) mcpoauth.DiagnoseReport {
	t.Helper()
	raw := eval[string](p, "diagnose "+mcpURL, `(async () => {
		`+moduleJS+`
		try { return JSON.stringify(await api.diagnose(`+jsString(mcpURL)+`, { redirectUri: location.origin + '/callback.html' })); }
		catch (e) { return JSON.stringify({ error: e.code + ': ' + e.message }); }
	})()`)
	var r mcpoauth.DiagnoseReport
	if err := json.Unmarshal([]byte(raw), &r); err != nil || len(r.Steps) == 0 {
		t.Fatalf("diagnose %s: %s", mcpURL, raw)
	}
	return r
}

func findStep(r mcpoauth.DiagnoseReport, id string, status mcpoauth.DiagnoseStatus) *mcpoauth.DiagnoseStep {
	for i := range r.Steps {
		if r.Steps[i].ID == id && r.Steps[i].Status == status {
			return &r.Steps[i]
		}
	}
	return nil
}

func stepSummary(r mcpoauth.DiagnoseReport) string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString("\n  " + s.ID + " " + string(s.Status) + ": " + s.Detail)
	}
	return b.String()
}

// TestBrowserDiagnose: in Chromium, from a page on another origin, each
// fault peer fails (or warns on) its own check with a message that names
// the fix, and a healthy pair of real peers (oidc-provider, the TypeScript
// and the Go SDK MCP servers) passes every check, while the authorization
// server sees no registration, authorization or token request.
func TestBrowserDiagnose(t *testing.T) {
	p := openAppPage(t, mcpoauthtest.Options{}, nil)
	for _, tc := range []struct {
		name   string
		opts   mcpoauthtest.Options
		mcpURL string
		id     string
		status mcpoauth.DiagnoseStatus
		says   string
	}{
		{"no CORS on the PRM", mcpoauthtest.Options{CORS: true, NoCORSOnPRM: true}, "", "resource_metadata", mcpoauth.DiagnoseFail, "Access-Control-Allow-Origin"},
		{"challenge header not exposed", mcpoauthtest.Options{CORS: true, HideChallenge: true}, "", "challenge", mcpoauth.DiagnoseWarn, "Access-Control-Expose-Headers: WWW-Authenticate"},
		{"no S256", mcpoauthtest.Options{CORS: true, PKCEMethods: []string{"plain"}}, "", "pkce", mcpoauth.DiagnoseFail, "S256"},
		{"issuer mismatch", mcpoauthtest.Options{CORS: true, MetadataIssuer: "https://other.example"}, "", "issuer", mcpoauth.DiagnoseFail, "https://other.example"},
		{"PRM resource mismatch", mcpoauthtest.Options{CORS: true, PRMResource: "https://elsewhere.example/mcp"}, "", "resource", mcpoauth.DiagnoseFail, "elsewhere.example"},
		{"no registration method", mcpoauthtest.Options{CORS: true, NoRegistration: true}, "", "client_identity", mcpoauth.DiagnoseFail, "clientId"},
		{"no iss support", mcpoauthtest.Options{CORS: true, NoIss: true}, "", "iss_parameter", mcpoauth.DiagnoseWarn, "mix-up"},
		{"plain http on a public host", mcpoauthtest.Options{CORS: true}, "http://mcp.example.com/mcp", "mcp_url", mcpoauth.DiagnoseFail, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			u := tc.mcpURL
			if u == "" {
				u = s.MCPURL()
			}
			r := diagnoseFrom(t, p, u)
			st := findStep(r, tc.id, tc.status)
			if st == nil {
				t.Fatalf("no %s %s check:%s", tc.status, tc.id, stepSummary(r))
			}
			if !strings.Contains(st.Detail, tc.says) {
				t.Errorf("%s says %q; want it to name %q", tc.id, st.Detail, tc.says)
			}
			if st.Spec == "" {
				t.Errorf("%s cites no specification", tc.id)
			}
			if (tc.status == mcpoauth.DiagnoseFail) == r.OK {
				t.Errorf("report ok=%v with a %s check", r.OK, tc.status)
			}
			t.Logf("%s: %s %s: %s", tc.name, st.ID, st.Status, st.Detail)
			for _, path := range s.Paths() {
				if strings.HasPrefix(path, "POST ") || strings.Contains(path, "/authorize") {
					t.Errorf("diagnose sent %s", path)
				}
			}
		})
	}

	t.Run("healthy real peers", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		as, tsMCP := startFormsPeers(t, ctx, nil)
		goMCP, err := peers.StartGoMCPServer(ctx, as.URL, peers.GoMCPServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(goMCP.Stop)
		for _, mcp := range []*peers.Process{tsMCP, goMCP} {
			r := diagnoseFrom(t, p, mcp.URL)
			for _, s := range r.Steps {
				if s.Status == mcpoauth.DiagnoseFail || s.Status == mcpoauth.DiagnoseWarn {
					t.Errorf("%s: %s %s: %s", mcp.Name, s.ID, s.Status, s.Detail)
				}
			}
			if !r.OK || findStep(r, "client_identity", mcpoauth.DiagnosePass) == nil || findStep(r, "pkce", mcpoauth.DiagnosePass) == nil {
				t.Errorf("%s: report ok=%v:%s", mcp.Name, r.OK, stepSummary(r))
			}
			t.Logf("%s: diagnose took %.1f ms, %d checks", mcp.Name, r.Ms, len(r.Steps))
		}
		if seen := as.LogsMatching("/reg"); len(seen) > 0 {
			t.Errorf("the authorization server saw a registration: %v", seen)
		}
		for _, path := range []string{"GET /auth", "/token"} {
			if seen := as.LogsMatching(path); len(seen) > 0 {
				t.Errorf("the authorization server saw %s: %v", path, seen)
			}
		}
	})
}
