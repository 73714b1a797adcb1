package mcpoauth_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/dpopkey"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

func newDPoPKey(t *testing.T) *dpopkey.Key {
	t.Helper()
	k, err := dpopkey.New()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sendWith sends a JSON-RPC ping to the MCP server with the given headers,
// outside the client, as a thief with a copied token would.
func sendWith(t *testing.T, s *mcpoauthtest.Server, h http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	for k, v := range h {
		req.Header[k] = v
	}
	resp := send(t, req)
	resp.Body.Close()
	return resp.StatusCode
}

// RFC 9449 end to end against a strict server: the tokens are bound, every
// request carries a proof, nonces are fetched once each, and a copied token
// is worthless without the key.
func TestDPoPBindsTheTokens(t *testing.T) {
	for _, nonce := range []bool{false, true} {
		s := newServer(t, mcpoauthtest.Options{DPoP: true, DPoPNonce: nonce})
		c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.DPoPKey = newDPoPKey(t) })
		mustCall(t, c, s.MCPURL(), "ping")
		tok, _ := c.Tokens(ctx(t))
		if tok.TokenType != "DPoP" {
			t.Fatalf("nonce=%v: token_type %q, want DPoP", nonce, tok.TokenType)
		}
		if nonce && s.NonceChallenges != 1 {
			t.Errorf("the MCP server asked for its nonce %d times, want once (then remembered)", s.NonceChallenges)
		}
		// Copied tokens: as Bearer, and with a proof by another key.
		if got := sendWith(t, s, http.Header{"Authorization": {"Bearer " + tok.AccessToken}}); got != http.StatusUnauthorized {
			t.Errorf("nonce=%v: the bound token as Bearer got HTTP %d, want 401", nonce, got)
		}
		thief, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: s.MCPURL(), RedirectURI: redirectURI, Fetch: testFetch, DPoPKey: newDPoPKey(t)})
		if err != nil {
			t.Fatal(err)
		}
		h, err := thief.DPoPHeaders(ctx(t), http.MethodPost, s.MCPURL(), tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if got := sendWith(t, s, h); got != http.StatusUnauthorized {
			t.Errorf("nonce=%v: the bound token with another key's proof got HTTP %d, want 401", nonce, got)
		}
		// A refresh carries a proof by the same key; the new tokens are bound
		// too. (The token is expired in storage: proofs carry the real time.)
		expired := *tok
		expired.IssuedAt, expired.ExpiresAt = time.Now().Unix()-3700, time.Now().Unix()-100
		if err := c.SetTokens(ctx(t), &expired); err != nil {
			t.Fatal(err)
		}
		proofs := s.DPoPProofs
		mustCall(t, c, s.MCPURL(), "ping")
		after, _ := c.Tokens(ctx(t))
		if after.AccessToken == tok.AccessToken || after.TokenType != "DPoP" || s.DPoPProofs < proofs+2 {
			t.Errorf("nonce=%v: after the refresh: %s token, %d proofs more", nonce, after.TokenType, s.DPoPProofs-proofs)
		}
	}
}

// auto uses DPoP only when both servers say they accept it; require names
// the side that does not; off sends Bearer; no key means Bearer.
func TestDPoPModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     mcpoauthtest.Options
		mode     string
		key      bool
		wantType string
		wantErr  string
	}{
		{"auto, both servers", mcpoauthtest.Options{DPoP: true}, "", true, "DPoP", ""},
		{"auto, MCP server silent", mcpoauthtest.Options{DPoP: true, DPoPASOnly: true}, "", true, "Bearer", ""},
		{"require, MCP server silent", mcpoauthtest.Options{DPoP: true, DPoPASOnly: true}, mcpoauth.DPoPRequire, true, "", "does not signal DPoP"},
		{"auto, no key", mcpoauthtest.Options{DPoP: true}, "", false, "Bearer", ""},
		{"off", mcpoauthtest.Options{DPoP: true}, mcpoauth.DPoPOff, true, "Bearer", ""},
		{"require, Bearer-only authorization server", mcpoauthtest.Options{}, mcpoauth.DPoPRequire, true, "", "does not list ES256"},
		{"require, no key", mcpoauthtest.Options{DPoP: true}, mcpoauth.DPoPRequire, false, "", "no DPoP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			c, _ := newClient(t, s, func(c *mcpoauth.Config) {
				c.DPoP = tc.mode
				if tc.key {
					c.DPoPKey = newDPoPKey(t)
				}
			})
			_, _, err := call(t, c, s.MCPURL(), "ping")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok, _ := c.Tokens(ctx(t)); tok.TokenType != tc.wantType {
				t.Errorf("token_type %q, want %s", tok.TokenType, tc.wantType)
			}
		})
	}
	if _, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: "https://m.example/mcp", RedirectURI: redirectURI, Fetch: testFetch, DPoP: "always"}); mcpoauth.CodeOf(err) != mcpoauth.CodeInvalidConfig {
		t.Errorf("dpop \"always\": %v, want invalid_config", err)
	}
}
