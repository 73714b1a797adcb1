package mcpoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

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
	// DiscoveryTTL is how long discovery results are reused. Default 1 h.
	DiscoveryTTL time.Duration
	// RefreshSkew refreshes an access token this long before it expires.
	// Default 30 s.
	RefreshSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// OnProgress receives each step of the flow.
	OnProgress func(Progress)
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

// maxAuthorizations bounds the authorizations one operation may start, the
// first (401) included (MCP "Step-Up Authorization Flow": clients should
// limit retries).
const maxAuthorizations = 3

// Client runs the MCP authorization flow for one MCP server.
type Client struct {
	cfg     Config
	mcp     *url.URL
	mcpKey  string // canonical MCP URL: names this server in storage
	http    httpClient
	records records
	locker  Locker
	now     func() time.Time
}

// NewClient validates cfg and returns a Client. Bad options are an
// invalid_config (or insecure_url) error naming the option.
func NewClient(cfg Config) (*Client, error) {
	mcp, mcpKey, err := canonicalMCPURL("mcpUrl", cfg.MCPURL)
	if err != nil {
		return nil, err
	}
	if cfg.RedirectURI == "" {
		return nil, newError(CodeInvalidConfig, "redirectUri is required: the URL of the page that receives the authorization response (e.g. callback.html)")
	}
	if _, err := parseSecureURL("redirectUri", cfg.RedirectURI); err != nil {
		return nil, err
	}
	if strings.Contains(cfg.RedirectURI, "#") {
		return nil, newError(CodeInvalidConfig, "redirectUri %q must not contain a fragment (RFC 6749 §3.1.2)", cfg.RedirectURI)
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			return nil, newError(CodeInvalidConfig, "scope %q is not a valid scope token (no spaces, quotes or backslashes)", s)
		}
	}
	if cfg.ClientSecret != "" && cfg.ClientID == "" {
		return nil, newError(CodeInvalidConfig, "clientSecret is set without clientId")
	}
	if cfg.ClientIssuer != "" {
		if cfg.ClientID == "" {
			return nil, newError(CodeInvalidConfig, "clientIssuer is set without clientId")
		}
		if _, err := parseSecureURL("clientIssuer", cfg.ClientIssuer); err != nil {
			return nil, err
		}
	}
	if cfg.ClientMetadataURL != "" {
		u, err := parseSecureURL("clientMetadataUrl", cfg.ClientMetadataURL)
		if err != nil {
			return nil, err
		}
		if u.Path == "" || u.Path == "/" {
			return nil, newError(CodeInvalidConfig, "clientMetadataUrl %q must have a path (a Client ID Metadata Document URL is https with a path)", cfg.ClientMetadataURL)
		}
	}
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
	if cfg.Fetch == nil {
		return nil, newError(CodeInvalidConfig, "no HTTP transport: set Config.Transport or Config.Fetch")
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
	c := &Client{
		cfg:    cfg,
		mcp:    mcp,
		mcpKey: mcpKey,
		http:   httpClient{do: cfg.Fetch, timeout: cfg.RequestTimeout},
		locker: cfg.Locker,
		now:    cfg.Now,
	}
	c.records = records{store: cfg.Store, prefix: cfg.StorageKeyPrefix, warn: c.warn}
	return c, nil
}

// MCPURL is the canonical URL of the client's MCP server.
func (c *Client) MCPURL() string { return c.mcpKey }

func (c *Client) progress(p Progress) {
	if c.cfg.OnProgress != nil {
		c.cfg.OnProgress(p)
	}
}

func (c *Client) warn(e *Error) {
	if c.cfg.OnWarning != nil {
		c.cfg.OnWarning(e)
	}
}

// AuthorizeOptions says why an authorization starts.
type AuthorizeOptions struct {
	// Challenge is the Bearer challenge of the 401 or 403 that asked for it.
	Challenge *BearerChallenge
	// StepUp asks for the union of the scopes requested before and the
	// challenge's (a 403 insufficient_scope).
	StepUp bool
	// ReturnTo is where a redirect flow goes back to afterwards.
	ReturnTo string
	// discovered: discovery was refreshed for this challenge just now.
	discovered bool
}

// authorizationServerMoved re-reads the MCP server's metadata and reports
// whether it now names another authorization server than the one that
// issued the stored tokens; if so the tokens are dropped.
func (c *Client) authorizationServerMoved(ctx context.Context, ch *BearerChallenge) (bool, error) {
	info, err := c.discover(ctx, ch, true)
	if err != nil {
		return false, err
	}
	t, err := c.loadTokens(ctx)
	if err != nil || t == nil || t.Issuer == info.AuthServer.Issuer {
		return false, err
	}
	c.warn(newError(CodeAuthRequired, "%s now names authorization server %s instead of %s; signing in there", c.mcpKey, info.AuthServer.Issuer, t.Issuer))
	return true, c.removeTokens(ctx)
}

// Authorize runs the whole flow through the configured UserAgent and
// stores the tokens. If the authorization server turns out not to know a
// dynamically registered client, the registration is dropped and the flow
// runs once more with a fresh one (FastMCP's ClientNotFoundError retry).
func (c *Client) Authorize(ctx context.Context, opts AuthorizeOptions) (*Tokens, error) {
	if c.cfg.UserAgent == nil {
		// Redirect mode: only the app can navigate away (authorize()).
		return nil, newError(CodeAuthRequired, "sign-in needed for %s: this client uses redirect mode, so call authorize() (BeginAuthorization) to navigate to the authorization page", c.mcpKey)
	}
	for attempt := 0; ; attempt++ {
		req, err := c.BeginAuthorization(ctx, opts)
		if err != nil {
			return nil, err
		}
		callback, err := c.cfg.UserAgent.OpenAuthorizationURL(ctx, req)
		if err != nil {
			// A popup reported closed may have been severed by COOP while the
			// user goes on signing in: its pending record stays (it expires)
			// so that CompleteAuthorization can still finish it.
			if CodeOf(err) != CodePopupClosed {
				_ = c.records.remove(context.WithoutCancel(ctx), c.records.pendingKey(req.State))
			}
			if CodeOf(err) == "" {
				if ctx.Err() != nil {
					return nil, contextError(ctx, "the authorization page")
				}
				err = wrapError(CodeAuthorizationError, err, "showing the authorization page failed: %v", err)
			}
			return nil, err
		}
		t, _, err := c.completeAuthorization(ctx, callback, req.State)
		var e *Error
		if attempt == 0 && errors.As(err, &e) && e.Code == CodeClientNotFound && e.Err == errRegistrationForgotten {
			continue
		}
		return t, err
	}
}

// errRegistrationForgotten marks a client_not_found after which the cached
// registration was dropped, so one more attempt can register afresh.
var errRegistrationForgotten = errors.New("the cached client registration was removed")

// BeginAuthorization discovers, obtains a client identity, stores the
// pending authorization under a fresh state, and returns the URL to open.
func (c *Client) BeginAuthorization(ctx context.Context, opts AuthorizeOptions) (*AuthorizationRequest, error) {
	ch := opts.Challenge
	info, err := c.discover(ctx, ch, ch != nil && !opts.discovered)
	if err != nil {
		return nil, err
	}
	as := info.AuthServer
	if err := as.requireS256(); err != nil {
		return nil, err
	}
	if ch == nil && info.ChallengeScope != "" {
		ch = &BearerChallenge{Scope: info.ChallengeScope}
	}
	if ch != nil {
		if err := checkScopeCount(len(strings.Fields(ch.Scope)), "the MCP server's WWW-Authenticate challenge"); err != nil {
			return nil, err
		}
	}
	previous := ""
	if opts.StepUp {
		if t, _ := c.loadTokens(ctx); t != nil {
			previous = unionScopes(t.RequestedScope, t.Scope)
		}
	}
	scope := selectScope(c.cfg.Scopes, ch, info.PRM, as, previous, opts.StepUp)

	ci, reused, err := c.clientIdentity(ctx, as, scope)
	if err != nil {
		return nil, err
	}
	if reused {
		stale, err := c.registrationIsStale(ctx, as, ci)
		if err != nil {
			return nil, err
		}
		if stale {
			c.warn(newError(CodeClientNotFound, "authorization server %s no longer knows client %s; registering again", as.Issuer, ci.ClientID))
			if err := c.forgetRegistration(ctx, as.Issuer); err != nil {
				return nil, err
			}
			if ci, err = c.register(ctx, as, scope); err != nil {
				return nil, err
			}
		}
	}

	returnTo := ""
	if opts.ReturnTo != "" {
		if !sameEndpointOrigin(opts.ReturnTo, c.cfg.RedirectURI) {
			return nil, newError(CodeInvalidConfig, "returnTo %q is not on the redirect URI's origin; only same-origin return URLs are followed", opts.ReturnTo)
		}
		returnTo = opts.ReturnTo
	}
	p := &PendingAuthorization{
		State:        randomToken(),
		CodeVerifier: randomVerifier(),
		MCPURL:       c.mcpKey,
		Issuer:       as.Issuer,
		IssRequired:  as.AuthorizationResponseIssParameterSupported || c.cfg.RequireIssuerParameter,
		Resource:     info.Resource,
		RedirectURI:  c.cfg.RedirectURI,
		Scope:        scope,
		ClientID:     ci.ClientID,
		ReturnTo:     returnTo,
		CreatedAt:    c.now().Unix(),
	}
	authURL, err := authorizationURL(as, p)
	if err != nil {
		return nil, err
	}
	if !p.IssRequired {
		c.warn(newError(CodeIssuerMismatch, "authorization server %s does not advertise authorization_response_iss_parameter_supported (RFC 9207): if its response carries no iss, a mix-up through another authorization server cannot be detected; set requireIssuerParameter: true to refuse such responses", as.Issuer))
	}
	if err := c.savePending(ctx, p); err != nil {
		return nil, err
	}
	c.progress(Progress{Step: StepAuthorization, MCPURL: c.mcpKey, Issuer: as.Issuer})
	return &AuthorizationRequest{URL: authURL, State: p.State, RedirectURI: p.RedirectURI}, nil
}

// Prepare runs discovery ahead of a sign-in (ask the server for its
// challenge, fetch its metadata and its authorization server's) and caches
// the results, so that a later Authorize only registers and authorizes. It
// registers nothing.
func (c *Client) Prepare(ctx context.Context) error {
	_, err := c.discover(ctx, nil, false)
	return err
}

// CompleteAuthorization finishes an authorization from the callback URL the
// authorization server redirected to: it checks the response against the
// pending authorization stored under its state, redeems the code and stores
// the tokens. It returns the tokens and the pending record (whose ReturnTo
// a redirect flow goes back to).
func (c *Client) CompleteAuthorization(ctx context.Context, callbackURL string) (*Tokens, *PendingAuthorization, error) {
	return c.completeAuthorization(ctx, callbackURL, "")
}

func (c *Client) completeAuthorization(ctx context.Context, callbackURL, expectedState string) (*Tokens, *PendingAuthorization, error) {
	resp, ok, err := ParseAuthorizationResponse(callbackURL)
	if expectedState != "" {
		// Whatever came back, the request we started is finished.
		defer c.records.remove(context.WithoutCancel(ctx), c.records.pendingKey(expectedState))
	}
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, newError(CodeAuthorizationError, "the callback URL carries no authorization response (no code, state or error)")
	}
	if expectedState != "" && resp.State != expectedState {
		return nil, nil, newError(CodeStateMismatch, "the authorization response's state does not match the request's; the response was discarded (it may be forged, or from another sign-in)")
	}
	p, err := takePending(ctx, c.records, resp.State, c.now())
	if err != nil {
		return nil, nil, err
	}
	if p.MCPURL != c.mcpKey {
		return nil, p, newError(CodeStateMismatch, "this authorization response belongs to the sign-in for %s, not %s", p.MCPURL, c.mcpKey)
	}
	if !sameEndpoint(callbackURL, p.RedirectURI) {
		return nil, p, newError(CodeAuthorizationError, "the authorization response arrived at %s, not at the redirect URI %s", stripQuery(callbackURL), p.RedirectURI)
	}
	code, err := validateAuthorizationResponse(resp, p)
	if err != nil {
		return nil, p, err
	}
	if p.ReturnTo != "" && !sameEndpointOrigin(p.ReturnTo, p.RedirectURI) {
		// Storage may have been tampered with since the sign-in started.
		p.ReturnTo = ""
	}
	info, err := c.discover(ctx, nil, false)
	if err != nil {
		return nil, p, err
	}
	as := info.AuthServer
	if as.Issuer != p.Issuer {
		return nil, p, newError(CodeIssuerMismatch, "the authorization server for %s changed from %s to %s during sign-in; start again", c.mcpKey, p.Issuer, as.Issuer)
	}
	ci, err := c.clientForTokens(ctx, as, p.ClientID)
	if err != nil {
		return nil, p, err
	}
	t, err := c.exchangeCode(ctx, as, ci, p, code)
	if err != nil {
		return nil, p, c.afterClientRejected(ctx, err, ci)
	}
	if err := c.saveTokens(ctx, t); err != nil {
		return nil, p, err
	}
	return t, p, nil
}

// afterClientRejected drops a dynamically registered client that the
// token endpoint no longer accepts, and marks the error so that Authorize
// retries once. Static credentials are never dropped or retried.
func (c *Client) afterClientRejected(ctx context.Context, err error, ci *ClientInfo) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeClientNotFound || ci.Source != sourceRegistered {
		return err
	}
	if rmErr := c.forgetRegistration(ctx, ci.Issuer); rmErr != nil {
		return rmErr
	}
	e.Err = errRegistrationForgotten
	e.Message += "; the registration was removed, so the next attempt registers again"
	return e
}

// clientForTokens finds the client identity that holds clientID at as:
// the configured one, the CIMD URL, or the stored registration.
func (c *Client) clientForTokens(ctx context.Context, as *AuthServerMetadata, clientID string) (*ClientInfo, error) {
	switch clientID {
	case "":
	case c.cfg.ClientID:
		return c.staticClient(ctx, as)
	case c.cfg.ClientMetadataURL:
		return &ClientInfo{ClientID: clientID, Issuer: as.Issuer, Source: sourceCIMD, TokenEndpointAuthMethod: authNone}, nil
	default:
		var ci ClientInfo
		ok, err := c.records.load(ctx, c.records.clientKey(as.Issuer), &ci)
		if err != nil {
			return nil, err
		}
		if ok && ci.ClientID == clientID && ci.Issuer == as.Issuer {
			return &ci, nil
		}
	}
	return nil, newError(CodeClientNotFound, "the client registration %q at %s is no longer stored; sign in again", clientID, as.Issuer)
}

// AccessToken returns usable tokens: the stored ones while fresh, else
// refreshed. It fails with auth_required when only a new authorization can
// help (no tokens, no refresh token, refresh token refused, or tokens from
// an authorization server other than the one now discovered).
func (c *Client) AccessToken(ctx context.Context) (*Tokens, error) {
	t, err := c.usableTokens(ctx)
	if err != nil {
		return nil, err
	}
	if c.fresh(t) {
		return t, nil
	}
	return c.refresh(ctx, "")
}

// usableTokens loads the tokens and applies the issuer rule.
func (c *Client) usableTokens(ctx context.Context) (*Tokens, error) {
	t, err := c.loadTokens(ctx)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, newError(CodeAuthRequired, "not signed in to %s: call authorize()", c.mcpKey)
	}
	var info serverInfo
	if ok, err := c.records.load(ctx, c.records.resourceKey(c.mcpKey), &info); err != nil {
		return nil, err
	} else if ok && info.AuthServer.Issuer != t.Issuer {
		if err := c.removeTokens(ctx); err != nil {
			return nil, err
		}
		return nil, newError(CodeAuthRequired, "the stored tokens for %s were issued by %s, but the server now names %s; sign in again", c.mcpKey, t.Issuer, info.AuthServer.Issuer)
	}
	return t, nil
}

// fresh applies Tokens.FreshAt with the configured skew and clock.
func (c *Client) fresh(t *Tokens) bool { return t.FreshAt(c.now(), c.cfg.RefreshSkew) }

// refresh refreshes under the Locker, re-reading storage once the lock is
// held: another tab, or a concurrent call, may have refreshed already.
// rejected is an access token the MCP server refused (401); it is
// refreshed even if its clock says it is fresh.
func (c *Client) refresh(ctx context.Context, rejected string) (*Tokens, error) {
	var out *Tokens
	err := c.locker.WithLock(ctx, c.cfg.StorageKeyPrefix+":refresh:"+c.mcpKey, func(ctx context.Context) error {
		t, err := c.usableTokens(ctx)
		if err != nil {
			return err
		}
		if c.fresh(t) && t.AccessToken != rejected {
			out = t
			return nil
		}
		if t.RefreshToken == "" {
			return newError(CodeAuthRequired, "the access token for %s has expired and there is no refresh token; sign in again", c.mcpKey)
		}
		info, err := c.discover(ctx, nil, false)
		if err != nil {
			return err
		}
		ci, err := c.clientForTokens(ctx, info.AuthServer, t.ClientID)
		if err != nil {
			_ = c.removeTokens(ctx)
			return &Error{Code: CodeAuthRequired, Message: err.Error(), Err: err}
		}
		nt, err := c.refreshTokens(ctx, info.AuthServer, ci, t)
		switch CodeOf(err) {
		case "":
		case CodeInvalidGrant, CodeClientNotFound:
			if CodeOf(err) == CodeClientNotFound && ci.Source == sourceRegistered {
				_ = c.forgetRegistration(ctx, ci.Issuer)
			}
			if rmErr := c.removeTokens(ctx); rmErr != nil {
				return rmErr
			}
			return &Error{Code: CodeAuthRequired, Err: err, Message: "the refresh token for " + c.mcpKey + " was refused (" + string(CodeOf(err)) + "); sign in again"}
		default:
			return err
		}
		if err := c.saveTokens(ctx, nt); err != nil {
			return err
		}
		out = nt
		return nil
	})
	return out, err
}

// Operation tracks the retries of one request through HandleResponse.
// It crosses to the browser layer and back as JSON between the retries of
// client.fetch, which treats it as opaque.
type Operation struct {
	SentToken      string `json:"sentToken"`      // access token the request carried, if any
	Refreshed      bool   `json:"refreshed"`      // a 401 was answered with a refresh
	Authorized     bool   `json:"authorized"`     // a 401 was answered with an authorization
	Authorizations int    `json:"authorizations"` // authorizations started, step-ups included
}

// HandleResponse decides what to do about an MCP server's 401 or 403:
// retry reports that new tokens are stored and the request should be sent
// again. A 401 is answered by a refresh (if the request carried a token
// that can be refreshed), else by an authorization; a 403 with
// error="insufficient_scope" by a step-up authorization, unless the token
// already holds every challenged scope (asking again cannot help). An
// operation starts at most maxAuthorizations authorizations.
func (c *Client) HandleResponse(ctx context.Context, status int, header http.Header, op *Operation) (retry bool, err error) {
	switch status {
	case http.StatusUnauthorized:
		ch, _ := BearerChallengeFrom(header)
		rediscovered := false
		if op.SentToken != "" && !op.Refreshed && !op.Authorized {
			op.Refreshed = true
			// A refused token may mean the authorization server moved:
			// re-read the server's metadata before refreshing, so that the
			// old issuer is neither asked nor its tokens sent again.
			moved, err := c.authorizationServerMoved(ctx, &ch)
			if err != nil {
				return false, err
			}
			rediscovered = true
			if !moved {
				t, err := c.refresh(ctx, op.SentToken)
				if err == nil && t.AccessToken != op.SentToken {
					return true, nil
				}
				if err != nil && CodeOf(err) != CodeAuthRequired {
					return false, err
				}
			}
		}
		if op.Authorized || op.Authorizations >= maxAuthorizations {
			return false, nil
		}
		op.Authorized = true
		op.Authorizations++
		if _, err := c.Authorize(ctx, AuthorizeOptions{Challenge: &ch, discovered: rediscovered}); err != nil {
			return false, err
		}
		return true, nil
	case http.StatusForbidden:
		ch, ok := BearerChallengeFrom(header)
		if !ok || ch.Error != "insufficient_scope" {
			return false, nil
		}
		insufficient := func(why string) error {
			return &Error{Code: CodeInsufficientScope, OAuthError: ch.Error, OAuthErrorDescription: ch.ErrorDescription, Status: status,
				Message: fmt.Sprintf("%s answers insufficient_scope (it wants %q) %s", c.mcpKey, ch.Scope, why)}
		}
		if t, _ := c.loadTokens(ctx); t != nil && op.SentToken == t.AccessToken && ch.Scope != "" && unionScopes(t.Scope, ch.Scope) == unionScopes(t.Scope) {
			return false, insufficient("although the token already holds those scopes; authorizing again cannot help")
		}
		if op.Authorizations >= maxAuthorizations {
			return false, insufficient(fmt.Sprintf("after %d authorizations for this request", maxAuthorizations))
		}
		op.Authorizations++
		if _, err := c.Authorize(ctx, AuthorizeOptions{Challenge: &ch, StepUp: true}); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// Tokens returns the stored tokens, or nil.
func (c *Client) Tokens(ctx context.Context) (*Tokens, error) { return c.loadTokens(ctx) }

// SetTokens stores t as this server's tokens (the storage adapter's
// set_tokens).
func (c *Client) SetTokens(ctx context.Context, t *Tokens) error {
	if err := t.validate(); err != nil {
		return wrapError(CodeInvalidConfig, err, "these tokens cannot be stored: %v", err)
	}
	return c.saveTokens(ctx, t)
}

// ClientInfo returns the stored registration for this server's current
// authorization server, or nil.
func (c *Client) ClientInfo(ctx context.Context) (*ClientInfo, error) {
	issuer, err := c.currentIssuer(ctx)
	if err != nil || issuer == "" {
		return nil, err
	}
	var ci ClientInfo
	ok, err := c.records.load(ctx, c.records.clientKey(issuer), &ci)
	if !ok || err != nil {
		return nil, err
	}
	return &ci, nil
}

// SetClientInfo stores a registration under its issuer.
func (c *Client) SetClientInfo(ctx context.Context, ci *ClientInfo) error {
	if err := ci.validate(); err != nil {
		return wrapError(CodeInvalidConfig, err, "this client registration cannot be stored: %v", err)
	}
	if ci.Source == "" {
		ci.Source = sourceRegistered
	}
	return c.records.save(ctx, c.records.clientKey(ci.Issuer), ci)
}

// currentIssuer is the issuer discovery last named for this server, else
// the issuer of the stored tokens.
func (c *Client) currentIssuer(ctx context.Context) (string, error) {
	var info serverInfo
	if ok, err := c.records.load(ctx, c.records.resourceKey(c.mcpKey), &info); err != nil || ok {
		if ok {
			return info.AuthServer.Issuer, nil
		}
		return "", err
	}
	t, err := c.loadTokens(ctx)
	if t == nil || err != nil {
		return "", err
	}
	return t.Issuer, nil
}

// Clear forgets this server's tokens, its discovery results, the
// registration and metadata of its authorization server, and which
// authorization server configured credentials were first used with.
func (c *Client) Clear(ctx context.Context) error {
	issuer, err := c.currentIssuer(ctx)
	if err != nil {
		return err
	}
	keys := []string{c.records.resourceKey(c.mcpKey)}
	if c.cfg.ClientID != "" {
		keys = append(keys, c.records.staticClientKey(c.cfg.ClientID))
	}
	if issuer != "" {
		keys = append(keys, c.records.clientKey(issuer), c.records.authServerKey(issuer))
	}
	for _, k := range keys {
		if err := c.records.remove(ctx, k); err != nil {
			return err
		}
	}
	return c.removeTokens(ctx)
}

func (c *Client) loadTokens(ctx context.Context) (*Tokens, error) {
	var t Tokens
	ok, err := c.records.load(ctx, c.records.tokensKey(c.mcpKey), &t)
	if !ok || err != nil {
		return nil, err
	}
	return &t, nil
}

func (c *Client) saveTokens(ctx context.Context, t *Tokens) error {
	if err := c.records.save(ctx, c.records.tokensKey(c.mcpKey), t); err != nil {
		return err
	}
	c.announce(t)
	return nil
}

func (c *Client) removeTokens(ctx context.Context) error {
	if err := c.records.remove(ctx, c.records.tokensKey(c.mcpKey)); err != nil {
		return err
	}
	c.announce(nil)
	return nil
}

func (c *Client) announce(t *Tokens) {
	if c.cfg.OnTokenChange != nil {
		c.cfg.OnTokenChange(t)
	}
}

// sameEndpointOrigin reports whether a and b are URLs on the same origin.
func sameEndpointOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.IsAbs() && sameOrigin(ua, ub)
}

// stripQuery drops query and fragment, so that error messages never carry
// a code or state.
func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u.String()
}
