package mcpoauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A browser compiles a WebAssembly function on its first call (V8's lazy
// compilation), so the first sign-in in a page used to pay, after the
// user's click, for compiling every step it ran: its first authorize()
// took 54 ms of engine time against 19 ms for the next ones (Chromium,
// the e2e harness's server). With Config.WarmUp, Prepare, which the
// browser layer runs in the background when a sign-in is likely, ends by
// running the sign-in's own pure steps on made-up values: the
// registration request and its answer, PKCE and the authorization URL,
// the pending record's encoding, the callback's parsing and checks, the
// code exchange's form and its answer. No storage, no network, no events.
//
// Once is not enough on a machine with few cores. V8 runs a wasm function
// first as baseline code, compiled at its first call, and compiles it
// again, optimized, on a background thread once it has run enough
// (dynamic tiering). After one run, those optimizing compiles happened
// during the sign-in, on the same two cores as the sign-in itself; after
// warmUpRuns runs (about 1 ms each after the first, with a pause between
// them in which the engine answers calls) they are done before the click:
// the bench's first connect after idle went 142 (127–153) → 112
// (111–113) ms, for about 20 ms of the engine's time in the background.
const warmUpRuns = 20

// warmUpLoop runs warmUpStep (warmUp) up to warmUpRuns times, pausing
// between runs, and stops when a sign-in begins
// (BeginAuthorization: its code then runs for real, and the warm-up would
// only compete with it), when ctx ends or when a run fails. It returns how
// many runs it completed.
func (c *Client) warmUpLoop(ctx context.Context) int {
	for i := 0; i < warmUpRuns; i++ {
		if c.signInBegun.Load() || ctx.Err() != nil || warmUpStep(c) != nil {
			return i
		}
		select {
		case <-ctx.Done():
			return i + 1
		case <-time.After(time.Millisecond):
		}
	}
	return warmUpRuns
}

// warmUpStep is what warmUpLoop runs: warmUp (a test counts its calls).
var warmUpStep = (*Client).warmUp

const warmIssuer = "https://warm-up.invalid"

// warmUp runs those steps; it returns the first error, which only a test
// looks at (warmup_internal_test.go: the steps still fit together).
func (c *Client) warmUp() error {
	cfg := &c.cfg
	as := &AuthServerMetadata{
		Issuer: warmIssuer, AuthorizationEndpoint: warmIssuer + "/authorize", TokenEndpoint: warmIssuer + "/token",
		RegistrationEndpoint: warmIssuer + "/register", CodeChallengeMethodsSupported: []string{"S256"},
		AuthorizationResponseIssParameterSupported: true,
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	req := registrationRequest(cfg, "mcp:tools offline_access")
	regBody, err := json.Marshal(map[string]any{"client_id": "warm-up", "token_endpoint_auth_method": "none", "redirect_uris": req["redirect_uris"]})
	if err != nil {
		return err
	}
	ci, err := validateRegistrationResponse(&response{url: as.RegistrationEndpoint, status: http.StatusCreated, header: jsonHeader, body: regBody}, as.RegistrationEndpoint, req, as.Issuer)
	if err != nil {
		return err
	}
	p := &PendingAuthorization{
		State: randomToken(), CodeVerifier: randomVerifier(), MCPURL: warmIssuer + "/mcp", Issuer: as.Issuer, IssRequired: true,
		Resource: warmIssuer + "/mcp", RedirectURI: cfg.RedirectURI, Scope: "mcp:tools offline_access", ClientID: ci.ClientID, CreatedAt: time.Now().Unix(),
	}
	if _, err := authorizationURL(as, p); err != nil {
		return err
	}
	var stored PendingAuthorization
	if err := roundTripJSON(p, &stored); err != nil {
		return err
	}
	cb, err := url.Parse(cfg.RedirectURI)
	if err != nil {
		return err
	}
	cb.RawQuery = url.Values{"code": {"warm-up"}, "state": {stored.State}, "iss": {as.Issuer}}.Encode()
	resp, _, err := ParseAuthorizationResponse(cb.String())
	if err != nil {
		return err
	}
	code, err := validateAuthorizationResponse(resp, &stored)
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.RedirectURI}, "code_verifier": {p.CodeVerifier}, "resource": {p.Resource}}
	header := authenticateTokenRequest(ci, as, form)
	if _, err := http.NewRequest(http.MethodPost, as.TokenEndpoint, strings.NewReader(form.Encode())); err != nil {
		return err
	}
	setFormHeaders(header)
	answer := []byte(`{"access_token":"warm-up","token_type":"Bearer","expires_in":3600,"refresh_token":"warm-up","scope":"mcp:tools offline_access"}`)
	t, _, err := readTokenAnswer(&response{url: as.TokenEndpoint, status: http.StatusOK, header: jsonHeader, body: answer}, as, ci, p.Resource, p.Scope, nil, "token request", time.Now(), false)
	if err != nil {
		return err
	}
	if err := roundTripJSON(t, &Tokens{}); err != nil {
		return err
	}
	plan := c.refreshPlan(&serverInfo{Resource: p.Resource, AuthServer: as, FetchedAt: t.IssuedAt}, ci, t)
	if err := roundTripJSON(plan, &RefreshPlan{}); err != nil {
		return err
	}
	if err := roundTripJSON(Progress{Step: StepToken, MCPURL: p.MCPURL, Issuer: as.Issuer}, &Progress{}); err != nil {
		return err
	}
	return roundTripJSON(ci, &ClientInfo{})
}

// roundTripJSON encodes v and decodes it into out, as storing and reading
// a record does.
func roundTripJSON(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
