package mcpoauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The token endpoint (RFC 6749 §3.2): code exchange (§4.1.3) and refresh
// (§6), both with the RFC 8707 resource. x/oauth2's Exchange and
// TokenSource are not used: they go through http.Client (0.85 MB of wasm),
// their refresher sends no resource, and their AuthStyle auto-detection
// sends a Basic-auth request first, which in a browser costs a CORS
// preflight that many servers refuse.

// tokenEndpointRequest POSTs form to the token endpoint with the client's
// authentication (RFC 6749 §2.3.1): client_secret_basic in the
// Authorization header (id and secret form-encoded first), or
// client_secret_post / none in the body.
func (c *Client) tokenEndpointRequest(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, form url.Values, what string) (*response, error) {
	if _, err := parseSecureURL("token_endpoint", as.TokenEndpoint); err != nil {
		return nil, err
	}
	header := http.Header{}
	switch tokenEndpointAuthMethod(ci, as) {
	case authBasic:
		creds := url.QueryEscape(ci.ClientID) + ":" + url.QueryEscape(ci.ClientSecret)
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds)))
	case authPost:
		form.Set("client_id", ci.ClientID)
		form.Set("client_secret", ci.ClientSecret)
	default:
		form.Set("client_id", ci.ClientID)
	}
	return c.http.postForm(ctx, as.TokenEndpoint, form.Encode(), header, what)
}

// expiresIn accepts expires_in as a JSON number or a numeric string (some
// servers send "3600"). Absurd values (1e308, "Infinity", 2^63-1, "NaN")
// are kept as read and clamped by lifetime.
type expiresIn float64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || f < 0 {
		return fmt.Errorf("expires_in %s is not a non-negative number", b)
	}
	*e = expiresIn(f)
	return nil
}

// maxTokenLifetime caps expires_in: one year. A larger value is not a
// lifetime a server means, and one that overflows the clock would make the
// stored token look expired at once.
const maxTokenLifetime = 365 * 24 * 60 * 60

// lifetime returns the token's lifetime in seconds (0: none given) and
// whether it had to be clamped (or, for NaN, dropped).
func (e expiresIn) lifetime() (seconds int64, clamped bool) {
	f := float64(e)
	switch {
	case math.IsNaN(f):
		return 0, true
	case f > maxTokenLifetime:
		return maxTokenLifetime, true
	}
	return int64(f), false
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token"`
	Scope        *string   `json:"scope"` // absent: as requested (RFC 6749 §5.1)
	ExpiresIn    expiresIn `json:"expires_in"`
	Error        string    `json:"error"`
}

// tokenError maps a token endpoint refusal to the engine's codes:
// invalid_grant (the code or refresh token is no good), client_not_found
// (invalid_client / unauthorized_client: the registration is stale), or
// token_error.
func tokenError(r *response, endpoint, what string) *Error {
	oe := r.oauthError()
	code := CodeTokenError
	msg := fmt.Sprintf("the %s to %s was refused (HTTP %d)", what, endpoint, r.status)
	switch oe.Error {
	case "invalid_grant":
		code = CodeInvalidGrant
		msg = fmt.Sprintf("the authorization server no longer accepts this grant (%s to %s); sign in again", what, endpoint)
	case "invalid_client", "unauthorized_client":
		code = CodeClientNotFound
		msg = fmt.Sprintf("the authorization server does not accept this client (%s to %s); its registration may have been removed", what, endpoint)
	}
	return &Error{Code: code, Status: r.status, OAuthError: oe.Error, OAuthErrorDescription: oe.ErrorDescription, Message: msg}
}

// redeem sends a token request and validates the answer into Tokens.
// requestedScope fills in "scope" when the server omits it (RFC 6749 §5.1:
// then the granted scope is the requested one); prev supplies the refresh
// token a refresh response may omit.
func (c *Client) redeem(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, form url.Values, resource, requestedScope string, prev *Tokens, what string) (*Tokens, error) {
	r, err := c.tokenEndpointRequest(ctx, as, ci, form, what)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, tokenError(r, as.TokenEndpoint, what)
	}
	var tr tokenResponse
	if err := r.decodeJSONObject(&tr); err != nil {
		return nil, &Error{Code: CodeTokenError, Status: r.status, Err: err, Message: fmt.Sprintf("the %s answer is unusable: %v", what, err)}
	}
	if tr.Error != "" {
		return nil, tokenError(r, as.TokenEndpoint, what)
	}
	if tr.AccessToken == "" {
		return nil, newError(CodeTokenError, "the %s answer from %s has no access_token", what, as.TokenEndpoint)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, newError(CodeTokenError, "the %s answer from %s has token_type %q; only Bearer tokens are supported", what, as.TokenEndpoint, tr.TokenType)
	}
	t := &Tokens{
		AccessToken:    tr.AccessToken,
		TokenType:      "Bearer",
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
	t.IssuedAt = c.now().Unix()
	ttl, clamped := tr.ExpiresIn.lifetime()
	if clamped {
		kept := fmt.Sprintf("with a lifetime of %d s", ttl)
		if ttl == 0 {
			kept = "without an expiry"
		}
		c.warn(newError(CodeTokenError, "the %s answer from %s says expires_in %v; the token is kept %s instead", what, as.TokenEndpoint, float64(tr.ExpiresIn), kept))
	}
	if ttl > 0 {
		t.ExpiresAt = t.IssuedAt + ttl
	}
	if t.RefreshToken == "" && prev != nil {
		t.RefreshToken = prev.RefreshToken // RFC 6749 §6: the old one stays valid
	}
	return t, nil
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
	return c.redeem(ctx, as, ci, form, p.Resource, p.Scope, nil, "token request")
}

// refreshTokens uses the refresh token (RFC 6749 §6), sending the resource
// again (RFC 8707 §2.2) so the new access token keeps its audience.
func (c *Client) refreshTokens(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo, t *Tokens) (*Tokens, error) {
	c.progress(Progress{Step: StepRefresh, MCPURL: c.mcpKey, Issuer: as.Issuer})
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {t.RefreshToken},
	}
	if t.Resource != "" {
		form.Set("resource", t.Resource)
	}
	return c.redeem(ctx, as, ci, form, t.Resource, t.RequestedScope, t, "refresh request")
}
