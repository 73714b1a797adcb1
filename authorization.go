package mcpoauth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636, and
// resource indicators, RFC 8707) and the validation of its response:
// state first, then the RFC 9207 issuer, then error or code.

// pendingLifetime is how long a started authorization may wait for its
// response. Consent can take minutes (2FA, account creation).
const pendingLifetime = 10 * time.Minute

// PendingAuthorization is everything needed to finish an authorization
// after a full-page redirect, stored under its state.
type PendingAuthorization struct {
	State        string `json:"state"`
	CodeVerifier string `json:"code_verifier"`
	MCPURL       string `json:"mcp_url"`
	// Issuer is the authorization server the request went to; RFC 9207
	// "iss" in the response must equal it.
	Issuer string `json:"issuer"`
	// IssRequired records authorization_response_iss_parameter_supported.
	IssRequired bool   `json:"iss_required,omitempty"`
	Resource    string `json:"resource"`
	RedirectURI string `json:"redirect_uri"`
	Scope       string `json:"scope,omitempty"`
	ClientID    string `json:"client_id"`
	// ReturnTo is the page to go back to after a redirect flow (same origin
	// as the redirect URI only).
	ReturnTo  string `json:"return_to,omitempty"`
	CreatedAt int64  `json:"created_at"`
	// DPoP: the code exchange sends a DPoP proof, and the tokens are bound.
	DPoP bool `json:"dpop,omitempty"`
}

func (p *PendingAuthorization) validate() error {
	if p.State == "" || p.CodeVerifier == "" || p.Issuer == "" || p.MCPURL == "" || p.ClientID == "" || p.RedirectURI == "" {
		return fmt.Errorf("pending authorization is incomplete")
	}
	return nil
}

func (p *PendingAuthorization) expired(now time.Time) bool {
	return now.Unix()-p.CreatedAt > int64(pendingLifetime.Seconds())
}

// randomToken returns 32 random bytes, base64url-encoded: the entropy RFC
// 7636 §4.1 recommends for a verifier, used for state as well.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomVerifier is a PKCE code verifier (RFC 7636 §4.1), from x/oauth2.
var randomVerifier = oauth2.GenerateVerifier

// authorizationURL builds the authorization request URL with x/oauth2:
// response_type=code, client_id, redirect_uri, scope, state, the S256
// challenge, and resource. prompt=consent goes with offline_access, which
// OpenID Connect servers ignore otherwise (OIDC Core §11).
func authorizationURL(as *AuthServerMetadata, p *PendingAuthorization) (string, error) {
	if _, err := parseSecureURL("authorization_endpoint", as.AuthorizationEndpoint); err != nil {
		return "", err
	}
	cfg := oauth2.Config{
		ClientID:    p.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: as.AuthorizationEndpoint, TokenURL: as.TokenEndpoint},
		RedirectURL: p.RedirectURI,
		Scopes:      strings.Fields(p.Scope),
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(p.CodeVerifier),
		oauth2.SetAuthURLParam("resource", p.Resource),
	}
	if hasScope(p.Scope, "offline_access") {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	return cfg.AuthCodeURL(p.State, opts...), nil
}

// AuthorizationResponse is what the authorization server sent back to the
// redirect URI (RFC 6749 §4.1.2, RFC 9207 §2).
type AuthorizationResponse struct {
	Code             string
	State            string
	Iss              string
	HasIss           bool
	Error            string
	ErrorDescription string
	ErrorURI         string
}

// responseParams are the parameters an authorization response may carry;
// each must appear at most once.
var responseParams = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// ParseAuthorizationResponse reads the response parameters from a callback
// URL: the query, or the fragment when the query has none. ok is false
// when the URL carries no authorization response at all (an ordinary page
// load). A parameter that appears twice is refused: it is how a response
// is spliced.
func ParseAuthorizationResponse(callbackURL string) (resp *AuthorizationResponse, ok bool, err error) {
	u, err := url.Parse(callbackURL)
	if err != nil {
		return nil, false, wrapError(CodeAuthorizationError, err, "the callback URL is not a valid URL: %v", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, false, wrapError(CodeAuthorizationError, err, "the callback URL's query is malformed: %v", err)
	}
	if !q.Has("state") && !q.Has("code") && !q.Has("error") && u.Fragment != "" {
		if fq, ferr := url.ParseQuery(u.Fragment); ferr == nil {
			q = fq
		}
	}
	if !q.Has("state") && !q.Has("code") && !q.Has("error") {
		return nil, false, nil
	}
	for _, name := range responseParams {
		if len(q[name]) > 1 {
			return nil, false, newError(CodeAuthorizationError, "the callback URL carries the %q parameter more than once; the response is refused", name)
		}
	}
	return &AuthorizationResponse{
		Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss"), HasIss: q.Has("iss"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description"), ErrorURI: q.Get("error_uri"),
	}, true, nil
}

// sameEndpoint reports whether a callback URL was delivered to the
// redirect URI: same origin and path.
func sameEndpoint(callback, redirectURI string) bool {
	cu, err1 := url.Parse(callback)
	ru, err2 := url.Parse(redirectURI)
	return err1 == nil && err2 == nil && sameOrigin(cu, ru) && cu.EscapedPath() == ru.EscapedPath()
}

// validateAuthorizationResponse applies, in order: the state check (a
// missing or different state is discarded, MCP "state parameter"), the
// RFC 9207 §2.4 issuer check (an "iss" must equal the recorded issuer
// exactly; it is required when the server advertises it; on mismatch the
// response's error fields are not looked at), then error and code. It
// returns the code to redeem.
func validateAuthorizationResponse(resp *AuthorizationResponse, p *PendingAuthorization) (string, error) {
	if resp.State == "" || resp.State != p.State {
		return "", newError(CodeStateMismatch, "the authorization response's state does not match the request's; the response was discarded (it may be forged, or from another sign-in)")
	}
	if resp.HasIss && resp.Iss != p.Issuer {
		return "", newError(CodeIssuerMismatch,
			"the authorization response came from issuer %q, but the request went to %q; the response was discarded (possible mix-up attack)", resp.Iss, p.Issuer)
	}
	if !resp.HasIss && p.IssRequired {
		return "", newError(CodeIssuerMismatch,
			"authorization server %s promises an \"iss\" in its responses, but this one has none; the response was discarded", p.Issuer)
	}
	if resp.Error != "" {
		code := CodeAuthorizationError
		msg := "the authorization server refused the authorization request"
		if resp.Error == "access_denied" {
			code, msg = CodeAccessDenied, "access was denied at the authorization server (the user declined, or policy refused)"
		}
		return "", &Error{Code: code, Message: msg, OAuthError: resp.Error, OAuthErrorDescription: resp.ErrorDescription}
	}
	if resp.Code == "" {
		return "", newError(CodeAuthorizationError, "the authorization response has neither a code nor an error")
	}
	return resp.Code, nil
}
