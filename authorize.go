package mcpoauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The sign-in flow: discover, obtain a client identity, send the user to
// the authorization page, check the response, redeem the code. The
// protocol messages it uses are built and validated in authorization.go,
// registration.go, token.go and metadata.go.

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
		if attempt == 0 && errors.Is(err, errRegistrationForgotten) {
			continue
		}
		return t, err
	}
}

// errRegistrationForgotten marks an error after which the cached
// registration was dropped (the server no longer knows the client, or
// refused it a wider scope), so one more attempt can register afresh.
var errRegistrationForgotten = errors.New("the cached client registration was removed")

// BeginAuthorization discovers, obtains a client identity, stores the
// pending authorization under a fresh state, and returns the URL to open.
func (c *Client) BeginAuthorization(ctx context.Context, opts AuthorizeOptions) (*AuthorizationRequest, error) {
	c.signInBegun.Store(true) // the warm-up stops (warmup.go)
	ch := opts.Challenge
	info, err := c.discover(ctx, ch, ch != nil && !opts.discovered)
	if err != nil {
		return nil, err
	}
	as := info.AuthServer
	if err := as.requireS256(); err != nil {
		return nil, err
	}
	dpop, err := c.useDPoP(info, ch != nil && ch.DPoP)
	if err != nil {
		return nil, err
	}
	if r, ok := c.cfg.DPoPKey.(DPoPKeyRotator); ok && dpop {
		if err := r.NewKey(ctx); err != nil {
			return nil, wrapError(CodeStorageError, err, "creating a DPoP key failed: %v", err)
		}
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

	ci, err := c.checkedClientIdentity(ctx, as, scope)
	if err != nil {
		return nil, err
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
		DPoP:         dpop,
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
// registers nothing, and reports no progress: the app did not ask for
// work yet. With Config.WarmUp it then runs the sign-in's steps on
// made-up values, repeatedly, until a sign-in begins (warmup.go).
func (c *Client) Prepare(ctx context.Context) error {
	_, err := c.discover(context.WithValue(ctx, quietKey{}, true), nil, false)
	if c.cfg.WarmUp && (err == nil || errors.Is(err, errDiscoveryUnsure)) {
		c.warmUpLoop(ctx) // warmup.go
	}
	if errors.Is(err, errDiscoveryUnsure) {
		return nil
	}
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
		return nil, p, c.afterScopeRefused(ctx, err, p)
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
		return nil, p, c.afterScopeRefused(ctx, c.afterClientRejected(ctx, err, ci), p)
	}
	if err := c.saveTokensWithPlan(ctx, info, ci, t); err != nil {
		return nil, p, err
	}
	return t, p, nil
}

// afterScopeRefused handles an invalid_scope answer to a sign-in that
// reused a registration made for a narrower scope (a step-up keeps its
// client where the authorization server allows it): the registration is
// dropped, and the error marked so that Authorize registers afresh for
// the wider scope and tries once more.
func (c *Client) afterScopeRefused(ctx context.Context, err error, p *PendingAuthorization) error {
	var e *Error
	if !errors.As(err, &e) || e.OAuthError != "invalid_scope" || e.Err == errRegistrationForgotten {
		return err
	}
	var ci ClientInfo
	if ok, _ := c.records.load(ctx, c.records.clientKey(p.Issuer), &ci); !ok || ci.Source != sourceRegistered || ci.ClientID != p.ClientID || scopeCovers(ci.Scope, p.Scope) {
		return err
	}
	if rmErr := c.forgetRegistration(ctx, p.Issuer); rmErr != nil {
		return rmErr
	}
	e.Err = errRegistrationForgotten
	e.Message += fmt.Sprintf("; client %s was registered for scope %q, so it is registered again for %q", ci.ClientID, ci.Scope, p.Scope)
	return e
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
