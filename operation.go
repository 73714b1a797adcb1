package mcpoauth

import (
	"context"
	"fmt"
	"net/http"
)

// What client.fetch does about an MCP server's 401 and 403.

// maxAuthorizations bounds the authorizations one operation may start, the
// first (401) included (MCP "Step-Up Authorization Flow": clients should
// limit retries).
const maxAuthorizations = 3

// Operation tracks the retries of one request through HandleResponse.
// It crosses to the browser layer and back as JSON between the retries of
// client.fetch, which treats it as opaque.
type Operation struct {
	SentToken      string `json:"sentToken"`              // access token the request carried, if any
	Refreshed      bool   `json:"refreshed"`              // a 401 was answered with a refresh
	Authorized     bool   `json:"authorized"`             // a 401 was answered with an authorization
	Authorizations int    `json:"authorizations"`         // authorizations started, step-ups included
	DPoP           bool   `json:"dpop,omitempty"`         // the request carried a DPoP proof
	NonceRetried   bool   `json:"nonceRetried,omitempty"` // a 401 use_dpop_nonce was answered with the new nonce
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
		// A DPoP nonce the MCP server wants (RFC 9449 §9): once per request.
		if op.DPoP && !op.NonceRetried && isNonceError(status, header, nil) && c.nonces.keep(c.mcp, header) {
			op.NonceRetried = true
			return true, nil
		}
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
