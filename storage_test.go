package mcpoauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// failingStore fails every operation on keys containing a marker, as a
// blocked or full localStorage does.
type failingStore struct {
	*mcpoauth.MemoryStore
	failSet, failGet bool
}

var errQuota = errors.New("QuotaExceededError: the quota has been exceeded")

func (s *failingStore) SetItem(ctx context.Context, k, v string) error {
	if s.failSet {
		return errQuota
	}
	return s.MemoryStore.SetItem(ctx, k, v)
}

func (s *failingStore) GetItem(ctx context.Context, k string) (string, bool, error) {
	if s.failGet {
		return "", false, errors.New("SecurityError: access is denied")
	}
	return s.MemoryStore.GetItem(ctx, k)
}

// Corrupt or old-format values under our keys are reported, discarded and
// replaced; other servers' records are untouched.
func TestCorruptRecordsAreReportedAndReplaced(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	var warnings []*mcpoauth.Error
	c, _ := newClient(t, s, func(c *mcpoauth.Config) {
		c.Store = store
		c.OnWarning = func(e *mcpoauth.Error) { warnings = append(warnings, e) }
	})
	mustCall(t, c, s.MCPURL(), "ping")
	keys, _ := store.Keys(ctx(t))
	other := "mcp-oauth:v1:tokens:https://other.example/mcp"
	_ = store.SetItem(ctx(t), other, `{"access_token":"keep","token_type":"Bearer","issuer":"https://other.example"}`)
	for _, k := range keys {
		if strings.Contains(k, ":tokens:") || strings.Contains(k, ":client:") {
			_ = store.SetItem(ctx(t), k, `{"access_token": [not json`)
		}
		if strings.Contains(k, ":resource:") {
			_ = store.SetItem(ctx(t), k, `{"resource":""}`) // wrong shape: an older format
		}
	}
	_, err := c.AccessToken(ctx(t))
	wantCode(t, err, mcpoauth.CodeAuthRequired)
	if len(warnings) == 0 || warnings[0].Code != mcpoauth.CodeStorageError || !strings.Contains(warnings[0].Message, "mcp-oauth:v1:") {
		t.Fatalf("corrupt record not reported with its key: %v", warnings)
	}
	mustCall(t, c, s.MCPURL(), "ping") // recovers: rediscovers, re-registers, authorizes
	if v, _, _ := store.GetItem(ctx(t), other); !strings.Contains(v, `"keep"`) {
		t.Fatalf("another server's record was touched: %q", v)
	}
}

func TestStorageFailuresAreStorageErrors(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := &failingStore{MemoryStore: mcpoauth.NewMemoryStore(), failSet: true}
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store })
	_, err := c.Authorize(ctx(t), mcpoauth.AuthorizeOptions{})
	wantCode(t, err, mcpoauth.CodeStorageError)
	if !strings.Contains(err.Error(), "full or blocked") {
		t.Fatalf("message does not say what to do: %v", err)
	}
	store.failSet, store.failGet = false, true
	_, err = c.AccessToken(ctx(t))
	wantCode(t, err, mcpoauth.CodeStorageError)
}

// §1 TokenStorageAdapter: get/set tokens and client info, clear.
func TestStorageAdapter(t *testing.T) {
	s := newServer(t, mcpoauthtest.Options{})
	store := mcpoauth.NewMemoryStore()
	c, _ := newClient(t, s, func(c *mcpoauth.Config) { c.Store = store })
	if tok, err := c.Tokens(ctx(t)); tok != nil || err != nil {
		t.Fatalf("tokens before sign-in: %v %v", tok, err)
	}
	mustCall(t, c, s.MCPURL(), "ping")
	tok, _ := c.Tokens(ctx(t))
	ci, _ := c.ClientInfo(ctx(t))
	if tok == nil || ci == nil {
		t.Fatal("nothing stored after sign-in")
	}
	if err := c.SetTokens(ctx(t), &mcpoauth.Tokens{AccessToken: "x"}); mcpoauth.CodeOf(err) != mcpoauth.CodeInvalidConfig {
		t.Fatalf("incomplete tokens accepted: %v", err)
	}
	tok.AccessToken = "replaced"
	if err := c.SetTokens(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Tokens(ctx(t)); got.AccessToken != "replaced" {
		t.Fatal("SetTokens did not store")
	}
	ci.ClientID = "set-by-hand"
	if err := c.SetClientInfo(ctx(t), ci); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ClientInfo(ctx(t)); got.ClientID != "set-by-hand" {
		t.Fatal("SetClientInfo did not store")
	}
	if err := c.Clear(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if keys, _ := store.Keys(ctx(t)); len(keys) != 0 {
		t.Fatalf("Clear left %v", keys)
	}
}

func TestInvalidConfig(t *testing.T) {
	for name, cfg := range map[string]mcpoauth.Config{
		"no mcpUrl":          {RedirectURI: redirectURI},
		"relative mcpUrl":    {MCPURL: "/mcp", RedirectURI: redirectURI},
		"no redirectUri":     {MCPURL: "https://m/mcp"},
		"redirect fragment":  {MCPURL: "https://m/mcp", RedirectURI: "https://a/cb#x"},
		"secret without id":  {MCPURL: "https://m/mcp", RedirectURI: redirectURI, ClientSecret: "s"},
		"scope with space":   {MCPURL: "https://m/mcp", RedirectURI: redirectURI, Scopes: []string{"a b"}},
		"cimd without path":  {MCPURL: "https://m/mcp", RedirectURI: redirectURI, ClientMetadataURL: "https://app.example"},
		"http cimd":          {MCPURL: "https://m/mcp", RedirectURI: redirectURI, ClientMetadataURL: "http://app.example/c.json"},
		"http redirect host": {MCPURL: "https://m/mcp", RedirectURI: "http://app.example/cb"},
	} {
		_, err := mcpoauth.NewClient(cfg)
		if code := mcpoauth.CodeOf(err); code != mcpoauth.CodeInvalidConfig && code != mcpoauth.CodeInsecureURL {
			t.Errorf("%s: code %q (%v)", name, code, err)
		}
	}
}
