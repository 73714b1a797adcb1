package mcpoauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
)

// Client identity, in the MCP spec's order ("Client Registration
// Approaches"): a pre-registered client id (bound to one issuer), then a
// Client ID Metadata Document URL when the server supports it, then
// Dynamic Client Registration. Registrations are stored per issuer and
// never used with another authorization server.

// clientIdentity returns the client to use with the authorization server.
// reused reports a registration read from storage, which may be stale.
func (c *Client) clientIdentity(ctx context.Context, as *AuthServerMetadata, scope string) (ci *ClientInfo, reused bool, err error) {
	if c.cfg.ClientID != "" {
		ci, err := c.staticClient(ctx, as)
		return ci, false, err
	}
	if c.cfg.ClientMetadataURL != "" && as.ClientIDMetadataDocumentSupported {
		return &ClientInfo{ClientID: c.cfg.ClientMetadataURL, Issuer: as.Issuer, Source: sourceCIMD, TokenEndpointAuthMethod: authNone}, false, nil
	}
	if cached, err := c.storedRegistration(ctx, as.Issuer, scope); err != nil || cached != nil {
		return cached, cached != nil, err
	}
	ci, err = c.register(ctx, as, scope)
	return ci, false, err
}

// checkedClientIdentity is clientIdentity, with a reused registration
// checked first: one the authorization server forgot is replaced before
// the user is sent to a page that would only show an error.
func (c *Client) checkedClientIdentity(ctx context.Context, as *AuthServerMetadata, scope string) (*ClientInfo, error) {
	ci, reused, err := c.clientIdentity(ctx, as, scope)
	if err != nil || !reused {
		return ci, err
	}
	stale, err := c.registrationIsStale(ctx, as, ci)
	if err != nil || !stale {
		return ci, err
	}
	c.warn(newError(CodeClientNotFound, "authorization server %s no longer knows client %s; registering again", as.Issuer, ci.ClientID))
	if err := c.forgetRegistration(ctx, as.Issuer); err != nil {
		return nil, err
	}
	return c.register(ctx, as, scope)
}

// staticBinding records the authorization server that configured
// (pre-registered) credentials were first used with, when the clientIssuer
// option does not name it.
type staticBinding struct {
	ClientID string `json:"client_id"`
	Issuer   string `json:"issuer"`
}

func (b *staticBinding) validate() error {
	if b.ClientID == "" || b.Issuer == "" {
		return fmt.Errorf("client_id or issuer is missing")
	}
	return nil
}

// staticClient returns the configured client for as, if its credentials
// belong there. Pre-registered credentials are issued by one authorization
// server (MCP 2026-07-28: credentials are keyed by issuer): the one the
// clientIssuer option names, else the first one they were used with. An
// MCP server that later names another authorization server must not
// receive them, so that server gets neither the id nor the secret.
func (c *Client) staticClient(ctx context.Context, as *AuthServerMetadata) (*ClientInfo, error) {
	bound := c.cfg.ClientIssuer
	how := "the clientIssuer option"
	if bound == "" {
		key := c.records.staticClientKey(c.cfg.ClientID)
		var b staticBinding
		ok, err := c.records.load(ctx, key, &b)
		if err != nil {
			return nil, err
		}
		if !ok || b.ClientID != c.cfg.ClientID {
			b = staticBinding{ClientID: c.cfg.ClientID, Issuer: as.Issuer}
			if err := c.records.save(ctx, key, &b); err != nil {
				return nil, err
			}
		}
		bound, how = b.Issuer, "its first use"
	}
	if bound != as.Issuer {
		return nil, newError(CodeInvalidConfig,
			"the configured clientId %q belongs to authorization server %s (from %s), but %s now names %s; pre-registered credentials are never sent to another authorization server (if the move is expected, set clientIssuer to the new issuer)",
			c.cfg.ClientID, bound, how, c.mcpKey, as.Issuer)
	}
	return &ClientInfo{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Issuer: as.Issuer, Source: sourceStatic}, nil
}

// storedRegistration returns the cached registration for issuer if it is
// still usable: registered for this redirect URI, with a secret that has
// not expired. A registration made for a narrower scope is kept for a
// wider request (a step-up keeps its client): most authorization servers
// allow it, and one that refuses it (invalid_scope) gets a new
// registration then (afterScopeRefused).
func (c *Client) storedRegistration(ctx context.Context, issuer, scope string) (*ClientInfo, error) {
	var ci ClientInfo
	ok, err := c.records.load(ctx, c.records.clientKey(issuer), &ci)
	if err != nil || !ok {
		return nil, err
	}
	if ci.Issuer != issuer || !slices.Contains(ci.RedirectURIs, c.cfg.RedirectURI) {
		return nil, nil
	}
	if ci.ClientSecretExpiresAt != 0 && ci.ClientSecretExpiresAt <= c.now().Unix() {
		return nil, nil
	}
	return &ci, nil
}

// forgetRegistration drops the cached registration for issuer.
func (c *Client) forgetRegistration(ctx context.Context, issuer string) error {
	return c.records.remove(ctx, c.records.clientKey(issuer))
}

// register performs Dynamic Client Registration and stores the result under
// the issuer.
func (c *Client) register(ctx context.Context, as *AuthServerMetadata, scope string) (*ClientInfo, error) {
	if as.RegistrationEndpoint == "" {
		return nil, newError(CodeRegistrationUnsupported,
			"authorization server %s offers no dynamic client registration and no client ID metadata documents; configure a pre-registered clientId (or a clientMetadataUrl if the server supports them)", as.Issuer)
	}
	c.progress(Progress{Step: StepRegistration, MCPURL: c.mcpKey, Issuer: as.Issuer})
	req := registrationRequest(&c.cfg, scope)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "additionalClientMetadata cannot be encoded as JSON: %v", err)
	}
	r, err := c.http.postJSON(ctx, as.RegistrationEndpoint, body, "client registration request")
	if err != nil {
		return nil, err
	}
	ci, err := validateRegistrationResponse(r, as.RegistrationEndpoint, req, as.Issuer)
	if err != nil {
		return nil, err
	}
	if err := c.records.save(ctx, c.records.clientKey(as.Issuer), ci); err != nil {
		return nil, err
	}
	return ci, nil
}

// registrationIsStale asks the token endpoint whether it still knows a
// reused client, before the user is sent to an authorization page that
// would show an error and never come back (a browser cannot pre-flight the
// authorization endpoint as FastMCP does: it allows no CORS). The request
// uses a refresh token that cannot exist: a server that knows the client
// answers invalid_grant, one that forgot it answers invalid_client (RFC
// 6749 §5.2). Anything else counts as known. A refresh grant, unlike a
// fake code, touches no PKCE state on the server.
func (c *Client) registrationIsStale(ctx context.Context, as *AuthServerMetadata, ci *ClientInfo) (bool, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {"mcp-oauth-registration-check-" + randomToken()},
	}
	r, err := c.tokenEndpointRequest(ctx, as, ci, form, "client check request")
	if err != nil {
		if CodeOf(err) == CodeTimeout || CodeOf(err) == CodeAborted {
			return false, err
		}
		return false, nil
	}
	oe := r.oauthError()
	return r.status >= 400 && (oe.Error == "invalid_client" || oe.Error == "unauthorized_client"), nil
}
