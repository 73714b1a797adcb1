package mcpoauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Talking to the token endpoint: the code exchange and the refresh, sent
// with the client's authentication and validated by token.go.

// tokenEndpointRequest POSTs form to the token endpoint with the client's
// authentication (authenticateTokenRequest).
func (c *Client) tokenEndpointRequest(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, form url.Values, what string) (*response, error) {
	return c.tokenRequest(ctx, as, ci, form, what, false)
}

// tokenRequest is tokenEndpointRequest, with a DPoP proof when dpop: a
// 400 use_dpop_nonce with a new nonce is answered once more with it
// (RFC 9449 §8).
func (c *Client) tokenRequest(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, form url.Values, what string, dpop bool) (*response, error) {
	u, err := parseSecureURL("token_endpoint", as.TokenEndpoint)
	if err != nil {
		return nil, err
	}
	header := authenticateTokenRequest(ci, as, form)
	for attempt := 0; ; attempt++ {
		h := header.Clone()
		if dpop {
			proof, err := c.dpopProof(ctx, http.MethodPost, u, "")
			if err != nil {
				return nil, err
			}
			h.Set("DPoP", proof)
		}
		r, err := c.http.postForm(ctx, as.TokenEndpoint, form.Encode(), h, what)
		if err != nil || !dpop {
			return r, err
		}
		if c.nonces.keep(u, r.header) && attempt == 0 && isNonceError(r.status, r.header, r.body) {
			continue
		}
		return r, nil
	}
}

// redeem sends a token request and validates the answer into Tokens.
// requestedScope fills in "scope" when the server omits it (RFC 6749 §5.1:
// then the granted scope is the requested one); prev supplies the refresh
// token a refresh response may omit.
func (c *Client) redeem(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, form url.Values, resource, requestedScope string, prev *Tokens, what string, dpop bool) (*Tokens, error) {
	r, err := c.tokenRequest(ctx, as, ci, form, what, dpop)
	if err != nil {
		return nil, err
	}
	return c.tokensFromAnswer(r, as, ci, resource, requestedScope, prev, what, dpop)
}

// tokensFromAnswer validates a token endpoint answer into the Tokens to
// store (the refresh answers the browser layer received itself come here
// too: HandleRefreshAnswer).
func (c *Client) tokensFromAnswer(r *response, as *AuthServerMetadata, ci *ClientInfo, resource, requestedScope string, prev *Tokens, what string, dpop bool) (*Tokens, error) {
	t, warning, err := readTokenAnswer(r, as, ci, resource, requestedScope, prev, what, c.now(), dpop)
	if warning != nil {
		c.warn(warning)
	}
	return t, err
}

// readTokenAnswer is tokensFromAnswer at now, with the warning it has for
// an expires_in it did not keep as sent.
func readTokenAnswer(r *response, as *AuthServerMetadata, ci *ClientInfo, resource, requestedScope string, prev *Tokens, what string, now time.Time, dpop bool) (*Tokens, *Error, error) {
	tr, err := validateTokenResponse(r, as.TokenEndpoint, what, dpop)
	if err != nil {
		return nil, nil, err
	}
	tokenType := "Bearer"
	if strings.EqualFold(tr.TokenType, dpopTokenType) {
		tokenType = dpopTokenType
	}
	t := &Tokens{
		AccessToken:    tr.AccessToken,
		TokenType:      tokenType,
		RefreshToken:   tr.RefreshToken,
		Scope:          requestedScope,
		Issuer:         as.Issuer,
		Resource:       resource,
		ClientID:       ci.ClientID,
		RequestedScope: requestedScope,
	}
	if tr.Scope != nil {
		t.Scope = *tr.Scope
	}
	t.IssuedAt = now.Unix()
	var warning *Error
	ttl, clamped := tr.ExpiresIn.lifetime()
	if clamped {
		kept := fmt.Sprintf("with a lifetime of %d s", ttl)
		if ttl == 0 {
			kept = "without an expiry"
		}
		warning = newError(CodeTokenError, "the %s answer from %s says expires_in %v; the token is kept %s instead", what, as.TokenEndpoint, float64(tr.ExpiresIn), kept)
	}
	if ttl > 0 {
		t.ExpiresAt = t.IssuedAt + ttl
	}
	if t.RefreshToken == "" && prev != nil {
		t.RefreshToken = prev.RefreshToken // RFC 6749 §6: the old one stays valid
	}
	return t, warning, nil
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.5, RFC 8707 §2.2).
func (c *Client) exchangeCode(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, p *PendingAuthorization, code string) (*Tokens, error) {
	c.progress(Progress{Step: StepToken, MCPURL: p.MCPURL, Issuer: as.Issuer})
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.RedirectURI},
		"code_verifier": {p.CodeVerifier},
		"resource":      {p.Resource},
	}
	return c.redeem(ctx, as, ci, form, p.Resource, p.Scope, nil, "token request", p.DPoP)
}

// refreshTokens uses the refresh token (RFC 6749 §6), sending the resource
// again (RFC 8707 §2.2) so the new access token keeps its audience.
func (c *Client) refreshTokens(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, t *Tokens) (*Tokens, error) {
	c.progress(Progress{Step: StepRefresh, MCPURL: c.mcpKey, Issuer: as.Issuer})
	return c.redeem(ctx, as, ci, refreshForm(t), t.Resource, t.RequestedScope, t, refreshWhat, t.TokenType == dpopTokenType)
}

const refreshWhat = "refresh request"

// refreshForm is the refresh request's form before client authentication:
// the one definition of what a refresh sends (a RefreshPlan is this
// without the refresh token).
func refreshForm(t *Tokens) url.Values {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {t.RefreshToken},
	}
	if t.Resource != "" {
		form.Set("resource", t.Resource)
	}
	return form
}
