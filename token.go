package mcpoauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The token endpoint's messages (RFC 6749 §3.2): what a token response
// must hold (§5.1), what its refusals mean (§5.2), and expires_in as
// servers really send it. x/oauth2's Exchange and TokenSource are not
// used: they go through http.Client (0.85 MB of wasm), their refresher
// sends no resource, and their AuthStyle auto-detection sends a
// Basic-auth request first, which in a browser costs a CORS preflight that
// many servers refuse.

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

// authenticateTokenRequest adds the client's authentication to a token
// request (RFC 6749 §2.3.1) and returns the headers to send:
// client_secret_basic in the Authorization header (id and secret
// form-encoded first), or client_secret_post / none in the form.
func authenticateTokenRequest(ci *ClientInfo, as *AuthServerMetadata, form url.Values) http.Header {
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
	return header
}

// validateTokenResponse checks a token endpoint answer (RFC 6749 §5.1):
// HTTP 200, a JSON object without "error", an access_token, and
// token_type Bearer. A refusal is mapped by tokenError.
func validateTokenResponse(r *response, endpoint, what string, dpop bool) (*tokenResponse, error) {
	if r.status != http.StatusOK {
		return nil, tokenError(r, endpoint, what)
	}
	var tr tokenResponse
	if err := r.decodeJSONObject(&tr); err != nil {
		return nil, &Error{Code: CodeTokenError, Status: r.status, Err: err, Message: fmt.Sprintf("the %s answer is unusable: %v", what, err)}
	}
	if tr.Error != "" {
		return nil, tokenError(r, endpoint, what)
	}
	if tr.AccessToken == "" {
		return nil, newError(CodeTokenError, "the %s answer from %s has no access_token", what, endpoint)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") && !(dpop && strings.EqualFold(tr.TokenType, dpopTokenType)) {
		if strings.EqualFold(tr.TokenType, dpopTokenType) {
			return nil, newError(CodeTokenError, "the %s answer from %s has token_type DPoP, but the request carried no DPoP proof", what, endpoint)
		}
		return nil, newError(CodeTokenError, "the %s answer from %s has token_type %q; only Bearer and DPoP tokens are supported", what, endpoint, tr.TokenType)
	}
	return &tr, nil
}
