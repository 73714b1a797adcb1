package mcpoauth

import "context"

// Tokens in use: served while fresh, refreshed under the lock, dropped when
// the authorization server refuses them or is no longer the one discovery
// names.

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
	err := c.locker.WithLock(ctx, c.refreshLock(), func(ctx context.Context) error {
		t, err := c.usableTokens(ctx)
		if err != nil {
			return err
		}
		if c.fresh(t) && t.AccessToken != rejected {
			out = t
			return nil
		}
		info, ci, err := c.refreshClient(ctx, t)
		if err != nil {
			return err
		}
		nt, err := c.refreshTokens(ctx, info.AuthServer, ci, t)
		if nt, err = c.keepRefreshed(ctx, info, ci, nt, err); err != nil {
			return err
		}
		out = nt
		return nil
	})
	return out, err
}

// refreshClient is what refreshing t needs: its refresh token, the
// authorization server discovery names, and the client the tokens belong
// to (without it, the tokens are dropped: auth_required).
func (c *Client) refreshClient(ctx context.Context, t *Tokens) (*serverInfo, *ClientInfo, error) {
	if t.RefreshToken == "" {
		return nil, nil, newError(CodeAuthRequired, "the access token for %s has expired and there is no refresh token; sign in again", c.mcpKey)
	}
	info, err := c.discover(ctx, nil, false)
	if err != nil {
		return nil, nil, err
	}
	ci, err := c.clientForTokens(ctx, info.AuthServer, t.ClientID)
	if err != nil {
		_ = c.removeTokens(ctx)
		return nil, nil, &Error{Code: CodeAuthRequired, Message: err.Error(), Err: err}
	}
	return info, ci, nil
}

// refreshLock names the lock every refresh of this server's tokens holds,
// in every tab (a RefreshPlan carries it to the browser layer).
func (c *Client) refreshLock() string { return c.cfg.StorageKeyPrefix + ":refresh:" + c.mcpKey }

// keepRefreshed stores what a refresh returned, or handles its refusal: a
// refused refresh token (or a client the server no longer knows) means a
// new sign-in, so the tokens are dropped (and a stale registration with
// them).
func (c *Client) keepRefreshed(ctx context.Context, info *serverInfo, ci *ClientInfo, nt *Tokens, err error) (*Tokens, error) {
	switch CodeOf(err) {
	case "":
	case CodeInvalidGrant, CodeClientNotFound:
		if CodeOf(err) == CodeClientNotFound && ci.Source == sourceRegistered {
			_ = c.forgetRegistration(ctx, ci.Issuer)
		}
		if rmErr := c.removeTokens(ctx); rmErr != nil {
			return nil, rmErr
		}
		return nil, &Error{Code: CodeAuthRequired, Err: err, Message: "the refresh token for " + c.mcpKey + " was refused (" + string(CodeOf(err)) + "); sign in again"}
	default:
		return nil, err
	}
	if err := c.saveTokensWithPlan(ctx, info, ci, nt); err != nil {
		return nil, err
	}
	return nt, nil
}
