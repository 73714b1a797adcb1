package mcpoauth

import (
	"context"
	"time"
)

// Started sign-ins in storage: saved under their state, used once, swept
// when expired.

// savePending stores a started authorization and sweeps expired ones.
func (c *Client) savePending(ctx context.Context, p *PendingAuthorization) error {
	c.sweepPending(ctx)
	return c.records.save(ctx, c.records.pendingKey(p.State), p)
}

// sweepPending removes expired pending authorizations, when the store can
// list its keys. Failures are harmless: expired entries are refused on read.
func (c *Client) sweepPending(ctx context.Context) {
	keys, ok, err := c.records.keysOfKind(ctx, kindPending)
	if !ok || err != nil {
		return
	}
	for _, k := range keys {
		var p PendingAuthorization
		if found, err := c.records.load(ctx, k, &p); err == nil && found && p.expired(c.now()) {
			_ = c.records.remove(ctx, k)
		}
	}
}

// takePending loads and removes the pending authorization for state: each
// is used once. An expired or unknown state is a state mismatch.
func takePending(ctx context.Context, recs records, state string, now time.Time) (*PendingAuthorization, error) {
	if state == "" {
		return nil, newError(CodeStateMismatch, "the authorization response has no state; it was discarded")
	}
	var p PendingAuthorization
	key := recs.pendingKey(state)
	found, err := recs.load(ctx, key, &p)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, newError(CodeStateMismatch, "no sign-in is waiting for this authorization response (it was already used, was started in another browser, or is forged)")
	}
	if err := recs.remove(ctx, key); err != nil {
		return nil, err
	}
	if p.State != state {
		return nil, newError(CodeStateMismatch, "the stored sign-in does not match the response's state")
	}
	if p.expired(now) {
		return nil, newError(CodeStateMismatch, "the sign-in this response belongs to was started more than %v ago and has expired; start again", pendingLifetime)
	}
	return &p, nil
}

// PendingFor returns the pending authorization that a redirect-mode
// callback URL answers, without consuming it, so the caller can find which
// MCP server's client should complete it. ok is false when the URL carries
// no authorization response.
func PendingFor(ctx context.Context, store Store, prefix, callbackURL string) (p *PendingAuthorization, ok bool, err error) {
	resp, ok, err := ParseAuthorizationResponse(callbackURL)
	if err != nil || !ok {
		return nil, ok, err
	}
	if prefix == "" {
		prefix = defaultStorageKeyPrefix
	}
	recs := records{store: store, prefix: prefix}
	var rec PendingAuthorization
	found, err := recs.load(ctx, recs.pendingKey(resp.State), &rec)
	if err != nil {
		return nil, true, err
	}
	if resp.State == "" || !found {
		return nil, true, newError(CodeStateMismatch, "no sign-in is waiting for this authorization response (it was already used, was started in another browser, or is forged)")
	}
	return &rec, true, nil
}
