package mcpoauth

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store holds string values under string keys: localStorage's shape. The
// browser layer implements it over localStorage, sessionStorage or a user
// object; MemoryStore is the in-process one. Errors are the backend's
// (blocked storage, quota); the engine reports them as storage_error.
type Store interface {
	GetItem(ctx context.Context, key string) (value string, ok bool, err error)
	SetItem(ctx context.Context, key, value string) error
	RemoveItem(ctx context.Context, key string) error
}

// KeyLister is implemented by stores that can enumerate their keys. With
// it, expired pending authorizations are swept; without it they are
// discarded when read.
type KeyLister interface {
	Keys(ctx context.Context) ([]string, error)
}

// MemoryStore is a Store in process memory, safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]string
}

func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]string{}} }

func (s *MemoryStore) GetItem(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *MemoryStore) SetItem(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

func (s *MemoryStore) RemoveItem(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *MemoryStore) Keys(_ context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Tokens is the stored token record of one MCP server. ExpiresAt is
// absolute (seconds since the Unix epoch), unlike FastMCP's relative
// expires_in, so a reload does not restart the clock.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresAt    int64  `json:"expires_at,omitempty"`
	// IssuedAt is when the tokens were received; with ExpiresAt it gives
	// the lifetime, which bounds how early a refresh happens.
	IssuedAt int64 `json:"issued_at,omitempty"`
	// Issuer is the authorization server that issued the tokens; they are
	// never sent once discovery names another one.
	Issuer string `json:"issuer"`
	// Resource is the RFC 8707 resource the tokens were requested for; the
	// refresh request sends it again.
	Resource string `json:"resource,omitempty"`
	// ClientID is the client the tokens (and the refresh token) belong to.
	ClientID string `json:"client_id,omitempty"`
	// RequestedScope is what was asked for; step-up adds to it.
	RequestedScope string `json:"requested_scope,omitempty"`
}

// FreshAt reports whether the access token is still valid at now for at
// least skew: the skew is capped at half the token's lifetime, so that a
// token shorter-lived than the skew is not refreshed on every use. Tokens
// without an expiry are fresh until the server says otherwise (401).
// web/mcp-oauth.js applies the same rule on its fast path (freshToken), with
// the default skew from the Contract; e2e's TestBrowserContract compares
// the two.
func (t *Tokens) FreshAt(now time.Time, skew time.Duration) bool {
	if t.ExpiresAt == 0 {
		return true
	}
	s := int64(skew / time.Second)
	if t.IssuedAt > 0 && t.IssuedAt < t.ExpiresAt {
		s = min(s, (t.ExpiresAt-t.IssuedAt)/2)
	}
	return now.Unix()+s < t.ExpiresAt
}

func (t *Tokens) validate() error {
	switch {
	case t.AccessToken == "":
		return fmt.Errorf("access_token is missing")
	case t.TokenType == "":
		return fmt.Errorf("token_type is missing")
	case t.Issuer == "":
		return fmt.Errorf("issuer is missing")
	case t.ExpiresAt < 0:
		return fmt.Errorf("expires_at is negative")
	}
	return nil
}

// ClientInfo is a client registration at one authorization server.
type ClientInfo struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientSecretExpiresAt   int64    `json:"client_secret_expires_at,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	// Scope is the registered scope (RFC 7591 §2): servers refuse requests
	// for scopes outside it, so a wider request needs a new registration.
	Scope string `json:"scope,omitempty"`
	// Issuer is the authorization server this registration belongs to; a
	// registration is never used with another.
	Issuer string `json:"issuer"`
	// Source says where the identity came from: "registered" (RFC 7591,
	// cached), "static" (configured) or "metadata_document" (CIMD).
	Source string `json:"source,omitempty"`
}

func (c *ClientInfo) validate() error {
	switch {
	case c.ClientID == "":
		return fmt.Errorf("client_id is missing")
	case c.Issuer == "":
		return fmt.Errorf("issuer is missing")
	}
	return nil
}

// records reads and writes the engine's typed records in a Store. Keys
// carry a format version ("v1"), so a future format never misreads an old
// one: old keys are simply not looked at.
type records struct {
	store  Store
	prefix string
	// warn receives storage problems that were recovered from (a corrupt
	// record that was discarded).
	warn func(*Error)
}

func (r records) key(kind, id string) string {
	return r.prefix + ":" + storageKeyVersion + ":" + kind + ":" + id
}

func (r records) tokensKey(mcpURL string) string      { return r.key(kindTokens, mcpURL) }
func (r records) clientKey(issuer string) string      { return r.key(kindClient, issuer) }
func (r records) pendingKey(state string) string      { return r.key(kindPending, state) }
func (r records) resourceKey(mcpURL string) string    { return r.key(kindResource, mcpURL) }
func (r records) authServerKey(issuer string) string  { return r.key(kindIssuer, issuer) }
func (r records) staticClientKey(id string) string    { return r.key(kindStaticClient, id) }
func (r records) refreshPlanKey(mcpURL string) string { return r.key(kindRefreshPlan, mcpURL) }

// load reads key into v. A missing key is (false, nil). A value that does
// not decode or validate is reported through warn, removed, and treated as
// missing: one corrupt record must not make the client unusable.
func (r records) load(ctx context.Context, key string, v interface{ validate() error }) (bool, error) {
	raw, ok, err := r.store.GetItem(ctx, key)
	if err != nil {
		return false, wrapError(CodeStorageError, err, "reading %q from storage failed: %v", key, err)
	}
	if !ok || raw == "" {
		return false, nil
	}
	err = json.Unmarshal([]byte(raw), v)
	if err == nil {
		err = v.validate()
	}
	if err != nil {
		problem := wrapError(CodeStorageError, err, "the stored value under %q is not a valid record (%v); it was discarded", key, err)
		if r.warn != nil {
			r.warn(problem)
		}
		if rmErr := r.store.RemoveItem(ctx, key); rmErr != nil {
			return false, wrapError(CodeStorageError, rmErr, "removing the corrupt value under %q failed: %v", key, rmErr)
		}
		return false, nil
	}
	return true, nil
}

func (r records) save(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return wrapError(CodeStorageError, err, "encoding the record for %q failed: %v", key, err)
	}
	if err := r.store.SetItem(ctx, key, string(raw)); err != nil {
		return wrapError(CodeStorageError, err, "writing %q to storage failed (storage may be full or blocked): %v", key, err)
	}
	return nil
}

func (r records) remove(ctx context.Context, key string) error {
	if err := r.store.RemoveItem(ctx, key); err != nil {
		return wrapError(CodeStorageError, err, "removing %q from storage failed: %v", key, err)
	}
	return nil
}

// keysWithPrefix lists stored keys of one kind, if the store can list keys.
func (r records) keysOfKind(ctx context.Context, kind string) ([]string, bool, error) {
	lister, ok := r.store.(KeyLister)
	if !ok {
		return nil, false, nil
	}
	keys, err := lister.Keys(ctx)
	if err != nil {
		return nil, true, wrapError(CodeStorageError, err, "listing storage keys failed: %v", err)
	}
	p := r.key(kind, "")
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	return out, true, nil
}
