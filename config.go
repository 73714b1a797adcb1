package mcpoauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The client of one MCP server: its configuration, and the values it hands
// to the app (progress steps, authorization requests).

// Config configures a Client for one MCP server. It mirrors the JS
// createClient options and FastMCP's OAuth(...) arguments.
type Config struct {
	// MCPURL is the MCP server's endpoint. Required.
	MCPURL string
	// RedirectURI receives the authorization response. Required; https or
	// a loopback host.
	RedirectURI string
	// Scopes, when set, are requested instead of the spec's choice.
	Scopes []string
	// ClientName is the client_name sent in Dynamic Client Registration.
	ClientName string
	// ClientMetadataURL is this client's Client ID Metadata Document URL,
	// used when the authorization server supports CIMD.
	ClientMetadataURL string
	// ClientID and ClientSecret are a pre-registered client. They are only
	// ever sent to one authorization server: ClientIssuer, else the first
	// one they were used with.
	ClientID     string
	ClientSecret string
	ClientIssuer string
	// RequireIssuerParameter refuses every authorization response without
	// an RFC 9207 "iss", whatever the authorization server advertises: the
	// only mix-up defence that holds when an attacker can register clients
	// at the honest authorization server (SECURITY.md).
	RequireIssuerParameter bool
	// AdditionalClientMetadata is merged into the registration request.
	AdditionalClientMetadata map[string]any

	// Store keeps tokens, registrations and discovery results. Default: a
	// new MemoryStore.
	Store Store
	// StorageKeyPrefix prefixes every key. Default "mcp-oauth".
	StorageKeyPrefix string
	// Transport carries every HTTP request. Default http.DefaultTransport
	// (natively; under js/wasm Fetch must be set).
	Transport http.RoundTripper
	// Fetch, when set, carries the requests instead of Transport (see
	// RoundTripFunc for why the browser module uses it).
	Fetch RoundTripFunc
	// UserAgent shows the authorization page (popup, or a function). Nil
	// means redirect mode: use BeginAuthorization and CompleteAuthorization.
	UserAgent UserAgent
	// Locker serializes refreshes. Default: process-local.
	Locker Locker

	// RequestTimeout bounds each HTTP request. Default 30 s.
	RequestTimeout time.Duration
	// RefreshPlans stores a RefreshPlan beside the tokens, for a browser
	// layer that refreshes without the engine (refreshplan.go). The wasm
	// module sets it.
	RefreshPlans bool
	// DPoP is when tokens are bound to DPoPKey (RFC 9449, dpop.go):
	// DPoPAuto (default: when both servers support it), DPoPRequire or
	// DPoPOff. Without a DPoPKey, auto means Bearer.
	DPoP    string
	DPoPKey DPoPSigner
	// WarmUp makes Prepare run the sign-in's pure steps on made-up values,
	// repeatedly until a sign-in begins, so that a browser compiles and
	// optimizes their code before the user's click (warmup.go). The wasm
	// module sets it.
	WarmUp bool
	// DiscoveryTTL is how long discovery results are reused. Default 1 h.
	DiscoveryTTL time.Duration
	// RefreshSkew refreshes an access token this long before it expires.
	// Default 30 s.
	RefreshSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// OnProgress receives each step of the flow.
	OnProgress func(Progress)
	// OnTrace receives each HTTP exchange of the flow (trace.go): for an
	// inspector's timeline; never a secret.
	OnTrace func(Trace)
	// OnTokenChange receives the new tokens, or nil when they are removed.
	OnTokenChange func(*Tokens)
	// OnWarning receives problems the engine recovered from (a corrupt
	// stored record, a stale registration).
	OnWarning func(*Error)
}

// UserAgent shows the authorization page and returns the full URL the
// authorization server redirected back to (the popup's callback, or the URL
// chrome.identity.launchWebAuthFlow resolves with).
type UserAgent interface {
	OpenAuthorizationURL(ctx context.Context, req *AuthorizationRequest) (callbackURL string, err error)
}

// UserAgentFunc adapts a function to UserAgent.
type UserAgentFunc func(ctx context.Context, req *AuthorizationRequest) (string, error)

func (f UserAgentFunc) OpenAuthorizationURL(ctx context.Context, req *AuthorizationRequest) (string, error) {
	return f(ctx, req)
}

// AuthorizationRequest is a started authorization: the URL to open and the
// state its response must carry.
type AuthorizationRequest struct {
	URL         string
	State       string
	RedirectURI string
}

// Step names a stage of the flow in progress events.
type Step string

const (
	StepDiscovery     Step = "discovery"
	StepRegistration  Step = "registration"
	StepAuthorization Step = "authorization"
	StepToken         Step = "token"
	StepRefresh       Step = "refresh"
)

func (s Step) String() string { return string(s) }

// Progress is one progress event. It never carries a token.
type Progress struct {
	Step   Step   `json:"step"`
	MCPURL string `json:"mcpUrl"`
	Issuer string `json:"issuer,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Client runs the MCP authorization flow for one MCP server.
type Client struct {
	cfg     Config
	mcp     *url.URL
	mcpKey  string // canonical MCP URL: names this server in storage
	http    httpClient
	records records
	locker  Locker
	now     func() time.Time

	// discovering is the discovery in flight without a challenge (Prepare,
	// or a sign-in from a click): a second one joins it (discovery.go).
	discoveryMu sync.Mutex
	discovering *inflightDiscovery
	// nonces are the DPoP nonces the servers sent, per origin (dpop.go).
	nonces dpopNonces
	// signInBegun ends Prepare's warm-up (warmup.go).
	signInBegun atomic.Bool
}

// NewClient validates cfg and returns a Client. Bad options are an
// invalid_config (or insecure_url) error naming the option.
func NewClient(cfg Config) (*Client, error) {
	mcp, mcpKey, err := canonicalMCPURL("mcpUrl", cfg.MCPURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if cfg.Fetch == nil {
		return nil, newError(CodeInvalidConfig, "no HTTP transport: set Config.Transport or Config.Fetch")
	}
	c := &Client{
		cfg:    cfg,
		mcp:    mcp,
		mcpKey: mcpKey,
		http:   httpClient{do: cfg.Fetch, timeout: cfg.RequestTimeout, trace: cfg.OnTrace},
		locker: cfg.Locker,
		now:    cfg.Now,
	}
	c.records = records{store: cfg.Store, prefix: cfg.StorageKeyPrefix, warn: c.warn}
	return c, nil
}

// check refuses options that cannot work, naming the option.
func (cfg *Config) check() error {
	switch cfg.DPoP {
	case "", DPoPAuto, DPoPRequire, DPoPOff:
	default:
		return newError(CodeInvalidConfig, "dpop must be %q, %q or %q, not %q", DPoPAuto, DPoPRequire, DPoPOff, cfg.DPoP)
	}
	if cfg.RedirectURI == "" {
		return newError(CodeInvalidConfig, "redirectUri is required: the URL of the page that receives the authorization response (e.g. callback.html)")
	}
	if _, err := parseSecureURL("redirectUri", cfg.RedirectURI); err != nil {
		return err
	}
	if strings.Contains(cfg.RedirectURI, "#") {
		return newError(CodeInvalidConfig, "redirectUri %q must not contain a fragment (RFC 6749 §3.1.2)", cfg.RedirectURI)
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			return newError(CodeInvalidConfig, "scope %q is not a valid scope token (no spaces, quotes or backslashes)", s)
		}
	}
	if cfg.ClientSecret != "" && cfg.ClientID == "" {
		return newError(CodeInvalidConfig, "clientSecret is set without clientId")
	}
	if cfg.ClientIssuer != "" {
		if cfg.ClientID == "" {
			return newError(CodeInvalidConfig, "clientIssuer is set without clientId")
		}
		if _, err := parseSecureURL("clientIssuer", cfg.ClientIssuer); err != nil {
			return err
		}
	}
	if cfg.ClientMetadataURL != "" {
		u, err := parseSecureURL("clientMetadataUrl", cfg.ClientMetadataURL)
		if err != nil {
			return err
		}
		if u.Path == "" || u.Path == "/" {
			return newError(CodeInvalidConfig, "clientMetadataUrl %q must have a path (a Client ID Metadata Document URL is https with a path)", cfg.ClientMetadataURL)
		}
	}
	return nil
}

// setDefaults fills in what was left unset.
func (cfg *Config) setDefaults() {
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.StorageKeyPrefix == "" {
		cfg.StorageKeyPrefix = defaultStorageKeyPrefix
	}
	if cfg.Fetch == nil && cfg.Transport != nil {
		cfg.Fetch = cfg.Transport.RoundTrip
	}
	if cfg.Fetch == nil {
		cfg.Fetch = defaultTransport()
	}
	if cfg.Locker == nil {
		cfg.Locker = newLocalLocker()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.DiscoveryTTL <= 0 {
		cfg.DiscoveryTTL = time.Hour
	}
	if cfg.RefreshSkew <= 0 {
		cfg.RefreshSkew = defaultRefreshSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// MCPURL is the canonical URL of the client's MCP server.
func (c *Client) MCPURL() string { return c.mcpKey }

func (c *Client) progress(p Progress) {
	if c.cfg.OnProgress != nil {
		c.cfg.OnProgress(p)
	}
}

// quietKey marks work the app did not ask for (Prepare): it reports no
// progress.
type quietKey struct{}

func (c *Client) progressCtx(ctx context.Context, p Progress) {
	if ctx.Value(quietKey{}) == nil {
		c.progress(p)
	}
}

func (c *Client) warn(e *Error) {
	if c.cfg.OnWarning != nil {
		c.cfg.OnWarning(e)
	}
}
