package mcpoauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Sign-out (RFC 7009 token revocation): the authorization server is asked
// to revoke the refresh token, then the access token, with the client's
// authentication; then the tokens are forgotten here, whatever it said.

// SignOutResult says what SignOut did. The tokens are forgotten in every
// case; Revoked says whether the authorization server revoked them too,
// and Reason why not.
type SignOutResult struct {
	Revoked bool   `json:"revoked"`
	Reason  string `json:"reason,omitempty"`
}

// SignOut revokes this server's tokens at its authorization server's
// revocation_endpoint (the refresh token first: revoking it usually ends
// the whole grant), then forgets them (OnTokenChange(nil)). Without a
// revocation endpoint they are only forgotten, and the result says they
// stay valid there until they expire. The registration and the discovery
// results are kept (Clear forgets everything).
func (c *Client) SignOut(ctx context.Context) (*SignOutResult, error) {
	t, err := c.loadTokens(ctx)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return &SignOutResult{Reason: "not signed in to " + c.mcpKey}, nil
	}
	res := c.revoke(ctx, t)
	if err := c.removeTokens(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// revoke asks the tokens' authorization server to revoke them.
func (c *Client) revoke(ctx context.Context, t *Tokens) *SignOutResult {
	info, err := c.discover(ctx, nil, false)
	if err != nil {
		return &SignOutResult{Reason: fmt.Sprintf("the authorization server could not be found (%v); the tokens were forgotten here", err)}
	}
	as := info.AuthServer
	if as.Issuer != t.Issuer {
		return &SignOutResult{Reason: fmt.Sprintf("the tokens were issued by %s, which %s no longer names; they were forgotten here", t.Issuer, c.mcpKey)}
	}
	if as.RevocationEndpoint == "" {
		return &SignOutResult{Reason: fmt.Sprintf("authorization server %s has no revocation_endpoint: the tokens were forgotten here, and stay valid there until they expire", as.Issuer)}
	}
	ci, err := c.clientForTokens(ctx, as, t.ClientID)
	if err != nil {
		return &SignOutResult{Reason: fmt.Sprintf("%v; the tokens were forgotten here", err)}
	}
	for _, tok := range []struct{ value, hint string }{{t.RefreshToken, "refresh_token"}, {t.AccessToken, "access_token"}} {
		if tok.value == "" {
			continue
		}
		form := url.Values{"token": {tok.value}, "token_type_hint": {tok.hint}}
		header := authenticateTokenRequest(ci, as, form)
		r, err := c.http.postForm(ctx, as.RevocationEndpoint, form.Encode(), header, "revocation request")
		if err != nil {
			return &SignOutResult{Reason: fmt.Sprintf("revoking the %s failed (%v); the tokens were forgotten here", tok.hint, err)}
		}
		if r.status != http.StatusOK {
			oe := r.oauthError()
			return &SignOutResult{Reason: fmt.Sprintf("%s refused to revoke the %s (HTTP %d %s); the tokens were forgotten here", as.RevocationEndpoint, tok.hint, r.status, oe.Error)}
		}
	}
	return &SignOutResult{Revoked: true}
}
