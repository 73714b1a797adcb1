package mcpoauth_test

import (
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// diagnose runs Diagnose against s (or mcpURL when given).
func diagnose(t *testing.T, s *mcpoauthtest.Server, mcpURL string, mutate func(*mcpoauth.Config)) *mcpoauth.DiagnoseReport {
	t.Helper()
	if mcpURL == "" {
		mcpURL = s.MCPURL()
	}
	cfg := mcpoauth.Config{MCPURL: mcpURL, RedirectURI: "https://app.example/callback.html", Fetch: testFetch}
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := mcpoauth.Diagnose(ctx(t), cfg, mcpoauth.DiagnoseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// statuses maps each check to its outcomes ("pass", or "skip,pass" for a
// check made twice, as the metadata locations are).
func statuses(r *mcpoauth.DiagnoseReport) map[string]string {
	out := map[string]string{}
	for _, s := range r.Steps {
		if out[s.ID] != "" {
			out[s.ID] += ","
		}
		out[s.ID] += string(s.Status)
	}
	return out
}

func stepOf(r *mcpoauth.DiagnoseReport, id string, status mcpoauth.DiagnoseStatus) *mcpoauth.DiagnoseStep {
	for i := range r.Steps {
		if r.Steps[i].ID == id && r.Steps[i].Status == status {
			return &r.Steps[i]
		}
	}
	return nil
}

// A healthy server passes every check, and Diagnose neither registers nor
// signs in.
func TestDiagnoseHealthyServer(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{CORS: true})
	r := diagnose(t, s, "", nil)
	want := map[string]string{
		"mcp_url": "pass", "challenge": "pass", "resource_metadata": "pass", "resource": "pass",
		"authorization_server_metadata": "pass", "issuer": "pass", "pkce": "pass", "iss_parameter": "pass",
		"client_identity": "pass", "registration_preflight": "pass", "token_endpoint_auth": "pass", "dpop": "skip", "endpoints_https": "pass",
	}
	got := statuses(r)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s (%+v)", id, got[id], w, r.Steps)
		}
	}
	if !r.OK || r.Ms <= 0 {
		t.Errorf("report ok=%v ms=%v", r.OK, r.Ms)
	}
	for _, s := range r.Steps {
		if s.Spec == "" && s.Status != mcpoauth.DiagnoseSkip {
			t.Errorf("%s cites no specification", s.ID)
		}
	}
	for _, p := range s.Paths() {
		if strings.HasPrefix(p, "POST ") || strings.Contains(p, "/authorize") || strings.Contains(p, "/token") {
			t.Errorf("Diagnose sent %s", p)
		}
	}
}

// Each broken rule fails (or warns about) its own check, and says why.
func TestDiagnoseFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   mcpoauthtest.Options
		mcpURL string
		mutate func(*mcpoauth.Config)
		id     string
		status mcpoauth.DiagnoseStatus
		says   string
	}{
		{"no S256", mcpoauthtest.Options{CORS: true, PKCEMethods: []string{"plain"}}, "", nil, "pkce", mcpoauth.DiagnoseFail, "S256"},
		{"issuer mismatch", mcpoauthtest.Options{CORS: true, MetadataIssuer: "https://other.example"}, "", nil, "issuer", mcpoauth.DiagnoseFail, "other.example"},
		{"PRM resource mismatch", mcpoauthtest.Options{CORS: true, PRMResource: "https://elsewhere.example/mcp"}, "", nil, "resource", mcpoauth.DiagnoseFail, "elsewhere.example"},
		{"no registration method", mcpoauthtest.Options{CORS: true, NoRegistration: true}, "", nil, "client_identity", mcpoauth.DiagnoseFail, "clientId"},
		{"no iss support", mcpoauthtest.Options{CORS: true, NoIss: true}, "", nil, "iss_parameter", mcpoauth.DiagnoseWarn, "mix-up"},
		{"plain http on a public host", mcpoauthtest.Options{CORS: true}, "http://mcp.example.com/mcp", nil, "mcp_url", mcpoauth.DiagnoseFail, "http"},
		{"no CORS on the registration endpoint", mcpoauthtest.Options{}, "", nil, "registration_preflight", mcpoauth.DiagnoseFail, "Access-Control-Allow-Origin"},
		{"no challenge", mcpoauthtest.Options{CORS: true, ChallengeWithoutPRM: true}, "", nil, "challenge", mcpoauth.DiagnosePass, "well-known"},
		{"DPoP on both sides", mcpoauthtest.Options{CORS: true, DPoP: true}, "", nil, "dpop", mcpoauth.DiagnosePass, "bound"},
		{"DPoP at the authorization server only", mcpoauthtest.Options{CORS: true, DPoP: true, DPoPASOnly: true}, "", nil, "dpop", mcpoauth.DiagnoseSkip, "MCP server does not signal DPoP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			r := diagnose(t, s, tc.mcpURL, tc.mutate)
			st := stepOf(r, tc.id, tc.status)
			if st == nil {
				t.Fatalf("no %s %s step: %v", tc.status, tc.id, statuses(r))
			}
			if !strings.Contains(st.Detail, tc.says) {
				t.Errorf("%s says %q, want it to mention %q", tc.id, st.Detail, tc.says)
			}
			if (tc.status == mcpoauth.DiagnoseFail) == r.OK {
				t.Errorf("report ok=%v with a %s step", r.OK, tc.status)
			}
			for _, p := range s.Paths() {
				if strings.HasPrefix(p, "POST ") {
					t.Errorf("Diagnose sent %s", p)
				}
			}
		})
	}
}
