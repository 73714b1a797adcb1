package mcpoauth

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// A refresh the browser layer sends without the engine. After a reload
// with an expired access token, starting the wasm engine costs more than
// the refresh itself (it was 330 ms of a 470 ms page load → tools/list),
// so with Config.RefreshPlans the engine stores, beside the tokens, the
// refresh request it would send for them, minus the refresh token: a
// RefreshPlan. web/refresh.js sends exactly that, under the lock the plan
// names, and stores the answer only when it can tell that the engine would
// read it the same way (a test compares the two readings); any other
// answer it hands to HandleRefreshAnswer, still holding the lock, because
// the server may already have rotated the refresh token it spent. No rule
// is written twice: the request is refreshForm plus
// authenticateTokenRequest, and the reading of an answer is
// tokensFromAnswer.

// RefreshPlan is the refresh request for one MCP server's stored tokens.
type RefreshPlan struct {
	// Issuer, ClientID and Resource are those of the tokens the plan was
	// made for; a plan whose tokens were replaced since is not used.
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	Resource string `json:"resource,omitempty"`
	// URL is the token endpoint; Header and Form are the POST's headers
	// and form fields besides the refresh token (client authentication
	// included: client_secret_basic, _post or none).
	URL    string            `json:"url"`
	Header map[string]string `json:"header"`
	Form   map[string]string `json:"form"`
	// Lock is the name of the lock every refresh of these tokens holds.
	Lock string `json:"lock"`
	// ValidUntil (Unix seconds) is when the discovery behind the plan
	// expires (Config.DiscoveryTTL): after it, the engine discovers again
	// before it refreshes, so the plan is not used.
	ValidUntil int64 `json:"valid_until"`
	// Progress is the event the engine emits for a refresh.
	Progress Progress `json:"progress"`
}

func (p *RefreshPlan) validate() error {
	if p.URL == "" || p.Issuer == "" || p.ClientID == "" || p.Lock == "" {
		return errors.New("url, issuer, client_id or lock is missing")
	}
	return nil
}

// refreshPlan is the plan for refreshing t with ci at info's
// authorization server.
func (c *Client) refreshPlan(info *serverInfo, ci *ClientInfo, t *Tokens) *RefreshPlan {
	as := info.AuthServer
	form := refreshForm(t)
	header := authenticateTokenRequest(ci, as, form)
	setFormHeaders(header)
	form.Del("refresh_token")
	p := &RefreshPlan{
		Issuer: t.Issuer, ClientID: t.ClientID, Resource: t.Resource,
		URL: as.TokenEndpoint, Form: map[string]string{}, Lock: c.refreshLock(),
		ValidUntil: info.FetchedAt + int64(c.cfg.DiscoveryTTL.Seconds()),
		Progress:   Progress{Step: StepRefresh, MCPURL: c.mcpKey, Issuer: as.Issuer},
	}
	for k := range form {
		p.Form[k] = form.Get(k)
	}
	p.Header = map[string]string{}
	for k := range header {
		p.Header[k] = header.Get(k)
	}
	return p
}

// saveTokensWithPlan stores tokens the engine obtained from info's
// authorization server with ci, and their RefreshPlan.
func (c *Client) saveTokensWithPlan(ctx context.Context, info *serverInfo, ci *ClientInfo, t *Tokens) error {
	if err := c.saveTokens(ctx, t); err != nil {
		return err
	}
	if !c.cfg.RefreshPlans || t.RefreshToken == "" || t.TokenType == dpopTokenType {
		// A DPoP-bound refresh needs a proof the plan cannot carry.
		return c.records.remove(ctx, c.records.refreshPlanKey(c.mcpKey))
	}
	return c.records.save(ctx, c.records.refreshPlanKey(c.mcpKey), c.refreshPlan(info, ci, t))
}

// HandleRefreshAnswer reads the answer to a refresh the browser layer sent
// from this client's RefreshPlan, while it still holds the plan's lock:
// the engine validates it as its own, and stores the tokens it returns or
// handles its refusal (a refused refresh token drops the tokens:
// auth_required) exactly as after a refresh it sent itself.
func (c *Client) HandleRefreshAnswer(ctx context.Context, status int, header http.Header, body []byte) (*Tokens, error) {
	if len(body) > maxResponseBytes {
		return nil, newError(CodeTokenError, "the %s answer is larger than %d bytes", refreshWhat, maxResponseBytes)
	}
	t, err := c.usableTokens(ctx)
	if err != nil {
		return nil, err
	}
	info, ci, err := c.refreshClient(ctx, t)
	if err != nil {
		return nil, err
	}
	r := &response{url: info.AuthServer.TokenEndpoint, status: status, header: header, body: body}
	nt, err := c.tokensFromAnswer(r, info.AuthServer, ci, t.Resource, t.RequestedScope, t, refreshWhat, false)
	return c.keepRefreshed(ctx, info, ci, nt, err)
}

// ReadRefreshAnswer is what the engine stores for the answer (status,
// contentType, body) to a refresh of prev sent from plan at now, or why it
// refuses it: the one reading of a refresh answer, which e2e's
// TestBrowserRefreshWithoutEngine compares web/refresh.js with.
func ReadRefreshAnswer(plan *RefreshPlan, prev *Tokens, status int, contentType string, body []byte, now time.Time) (*Tokens, error) {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	r := &response{url: plan.URL, status: status, header: h, body: body}
	as := &AuthServerMetadata{Issuer: plan.Issuer, TokenEndpoint: plan.URL}
	t, _, err := readTokenAnswer(r, as, &ClientInfo{ClientID: plan.ClientID, Issuer: plan.Issuer}, prev.Resource, prev.RequestedScope, prev, refreshWhat, now, false)
	return t, err
}
