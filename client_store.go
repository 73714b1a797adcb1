package mcpoauth

import "context"

// The storage adapter of one client (FastMCP's TokenStorageAdapter): its
// tokens and registration as the app reads and writes them, and clear().

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
	if c.cfg.RefreshPlans {
		if err := c.records.remove(ctx, c.records.refreshPlanKey(c.mcpKey)); err != nil {
			return err
		}
	}
	c.announce(nil)
	return nil
}

func (c *Client) announce(t *Tokens) {
	if c.cfg.OnTokenChange != nil {
		c.cfg.OnTokenChange(t)
	}
}
