package mcpoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Diagnose: what an inspector shows for a server that does not work yet.
// It runs discovery's own steps (the challenge probe, fetchPRM,
// fetchAuthServerMetadata, the validators) on a client of its own, in
// memory, and turns what they saw (their traces) and what they decided
// into a report, one step per check. It signs nothing in and registers
// nothing: the authorization server sees no registration, authorization or
// token request.

// DiagnoseStatus is a check's outcome.
type DiagnoseStatus string

// The outcomes of a check.
const (
	DiagnosePass DiagnoseStatus = "pass"
	DiagnoseWarn DiagnoseStatus = "warn" // works, with a limit worth fixing
	DiagnoseFail DiagnoseStatus = "fail" // a sign-in would fail here
	DiagnoseSkip DiagnoseStatus = "skip" // not checked (and why)
)

// DiagnoseStep is one check of a Diagnose report.
type DiagnoseStep struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	Status     DiagnoseStatus `json:"status"`
	Detail     string         `json:"detail"`
	URL        string         `json:"url,omitempty"`
	HTTPStatus int            `json:"httpStatus,omitempty"`
	Ms         float64        `json:"ms,omitempty"`
	// Spec cites the rule: an RFC section or the MCP specification's.
	Spec string `json:"spec,omitempty"`
}

// DiagnoseReport is what Diagnose found.
type DiagnoseReport struct {
	MCPURL string         `json:"mcpUrl"`
	OK     bool           `json:"ok"` // no check failed
	Ms     float64        `json:"ms"`
	Steps  []DiagnoseStep `json:"steps"`
}

// The specifications the checks cite.
const (
	specMCPAuth      = "MCP 2025-11-25, Authorization"
	specChallenge    = "RFC 9728 §5.1; " + specMCPAuth + " (Protected Resource Metadata Discovery)"
	specPRM          = "RFC 9728 §3.1; " + specMCPAuth + " (Protected Resource Metadata Discovery Requirements)"
	specResource     = "RFC 9728 §3.3; RFC 8707 §2"
	specASMetadata   = "RFC 8414 §3.1; OpenID Connect Discovery 1.0 §4; " + specMCPAuth + " (Authorization Server Metadata Discovery)"
	specIssuer       = "RFC 8414 §3.3"
	specPKCE         = "RFC 7636 §4.2; " + specMCPAuth + " (Authorization Code Protection)"
	specIss          = "RFC 9207 §2.4"
	specIdentity     = specMCPAuth + " (Client Registration Approaches); RFC 7591; OAuth Client ID Metadata Document"
	specPreflight    = "Fetch Standard, CORS protocol (CORS-preflight request)"
	specTokenAuth    = "RFC 6749 §2.3; RFC 8414 §2"
	specDPoP         = "RFC 9449 §5.1"
	specHTTPS        = specMCPAuth + " (Communication Security); RFC 6749 §3.1"
	traceNoAnswerFix = "the server answered, but not to this page's origin (CORS)"
)

// DiagnoseOptions are what the report depends on besides the server.
type DiagnoseOptions struct {
	// Browser says the requests go through a browser's fetch: a CORS
	// preflight cannot be sent on its own there, and headers the server
	// does not expose are unreadable.
	Browser bool
}

// Diagnose checks the MCP server cfg.MCPURL names (with cfg's redirect URI,
// client identity and transport; its store, user agent and events are not
// used) and reports each check. The error is only for a cancelled ctx.
func Diagnose(ctx context.Context, cfg Config, opts DiagnoseOptions) (*DiagnoseReport, error) {
	start := time.Now()
	d := &diagnosis{opts: opts, report: &DiagnoseReport{MCPURL: cfg.MCPURL}}
	defer func() {
		d.report.Ms = ms(time.Since(start))
		d.report.OK = !slices.ContainsFunc(d.report.Steps, func(s DiagnoseStep) bool { return s.Status == DiagnoseFail })
	}()
	cfg.Store, cfg.UserAgent, cfg.Locker = NewMemoryStore(), nil, nil
	cfg.OnProgress, cfg.OnWarning, cfg.OnTokenChange = nil, nil, nil
	cfg.RefreshPlans, cfg.WarmUp = false, false
	cfg.OnTrace = func(t Trace) { d.traces = append(d.traces, t) }
	c, err := NewClient(cfg)
	if err != nil {
		d.add(DiagnoseStep{ID: "mcp_url", Title: "MCP server URL", Status: DiagnoseFail, Detail: err.Error(), URL: cfg.MCPURL, Spec: specHTTPS})
		return d.report, nil
	}
	d.report.MCPURL = c.mcpKey
	d.add(DiagnoseStep{ID: "mcp_url", Title: "MCP server URL", Status: DiagnosePass, URL: c.mcpKey, Spec: specHTTPS,
		Detail: "https, or http on a loopback host; the URL is read as the browser fetches it"})
	if err := d.run(ctx, c); err != nil {
		return d.report, err
	}
	return d.report, nil
}

type diagnosis struct {
	opts   DiagnoseOptions
	report *DiagnoseReport
	traces []Trace
	seen   int // traces already turned into steps
}

func (d *diagnosis) add(s DiagnoseStep) { d.report.Steps = append(d.report.Steps, s) }

// newTraces returns the traces since the last call.
func (d *diagnosis) newTraces() []Trace {
	t := d.traces[d.seen:]
	d.seen = len(d.traces)
	return t
}

// skipRest reports the checks that depend on one that failed.
func (d *diagnosis) skipRest(because string, ids ...string) {
	for _, id := range ids {
		d.add(DiagnoseStep{ID: id, Title: stepTitles[id], Status: DiagnoseSkip, Detail: "not checked: " + because})
	}
}

var stepTitles = map[string]string{
	"challenge":                     "401 challenge (WWW-Authenticate)",
	"resource_metadata":             "Protected Resource Metadata",
	"resource":                      "PRM resource names this server",
	"authorization_server_metadata": "Authorization server metadata",
	"issuer":                        "Authorization server issuer",
	"pkce":                          "PKCE S256",
	"iss_parameter":                 "RFC 9207 iss in the authorization response",
	"client_identity":               "Client identity (CIMD, registration, pre-registration)",
	"registration_preflight":        "CORS preflight of the registration request",
	"token_endpoint_auth":           "Token endpoint authentication",
	"dpop":                          "DPoP (sender-constrained tokens)",
	"endpoints_https":               "Endpoints over HTTPS",
}

func (d *diagnosis) run(ctx context.Context, c *Client) error {
	// The challenge.
	ch, err := c.probeChallenge(ctx)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	step := DiagnoseStep{ID: "challenge", Title: stepTitles["challenge"], URL: c.mcpKey, Spec: specChallenge}
	if t := d.newTraces(); len(t) > 0 {
		step.HTTPStatus, step.Ms = t[0].Status, t[0].Ms
	}
	switch {
	case err != nil:
		step.Status, step.Detail = DiagnoseFail, err.Error()
		d.add(step)
		d.skipRest("the MCP server did not answer", "resource_metadata", "authorization_server_metadata", "client_identity")
		return nil
	case ch != nil:
		step.Status = DiagnosePass
		step.Detail = fmt.Sprintf("HTTP %d with a Bearer challenge", step.HTTPStatus)
		if ch.ResourceMetadata != "" {
			step.Detail += "; resource_metadata " + ch.ResourceMetadata
		} else {
			step.Detail += "; it names no resource_metadata, so clients look at the well-known URLs"
		}
		if ch.Scope != "" {
			step.Detail += "; scope " + ch.Scope
		}
	case step.HTTPStatus == http.StatusUnauthorized || step.HTTPStatus == http.StatusForbidden:
		step.Status = DiagnoseWarn
		if d.opts.Browser {
			step.Detail = fmt.Sprintf("HTTP %d, but this page cannot read a Bearer WWW-Authenticate header: if the server sends one, it must also send Access-Control-Expose-Headers: WWW-Authenticate. Clients fall back to the well-known URLs and miss the scope it asks for", step.HTTPStatus)
		} else {
			step.Detail = fmt.Sprintf("HTTP %d without a Bearer WWW-Authenticate challenge: clients fall back to the well-known URLs and miss the scope it asks for", step.HTTPStatus)
		}
	default:
		step.Status = DiagnoseWarn
		step.Detail = fmt.Sprintf("HTTP %d to a request without a token: this server may not require authorization at this URL", step.HTTPStatus)
	}
	d.add(step)

	// Protected Resource Metadata.
	headerURL := ""
	if ch != nil {
		headerURL = ch.ResourceMetadata
	}
	prm, prmURL, _, prmErr := c.fetchPRM(ctx, headerURL)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	prmTraces := d.newTraces()
	d.locationSteps("resource_metadata", prmTraces, prmURL, specPRM)
	var issuer string
	legacy := false
	switch {
	case prmErr != nil:
		d.add(DiagnoseStep{ID: "resource_metadata", Title: stepTitles["resource_metadata"], Status: DiagnoseFail, Detail: prmErr.Error(), Spec: specPRM})
		if doc := lastBody(prmTraces); doc != "" {
			d.resourceStep(c, doc)
		}
		d.skipRest("no usable Protected Resource Metadata", "authorization_server_metadata", "client_identity")
		return nil
	case prm == nil:
		legacy, issuer = true, origin(c.mcp)
		d.add(DiagnoseStep{ID: "resource_metadata", Title: stepTitles["resource_metadata"], Status: DiagnoseWarn, Spec: specPRM,
			Detail: "no Protected Resource Metadata at any location: clients fall back to the 2025-03-26 rules (the MCP server's origin is its authorization server)"})
	default:
		d.resourceStep(c, lastBody(prmTraces))
		issuer = prm.AuthorizationServers[0]
	}

	// Authorization server metadata.
	as, found, _, asErr := c.fetchAuthServerMetadata(ctx, issuer, legacy)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	asTraces := d.newTraces()
	usedURL := ""
	if found && asErr == nil && len(asTraces) > 0 {
		usedURL = asTraces[len(asTraces)-1].URL
	}
	d.locationSteps("authorization_server_metadata", asTraces, usedURL, specASMetadata)
	switch {
	case asErr != nil && CodeOf(asErr) == CodeIssuerMismatch:
		d.add(DiagnoseStep{ID: "issuer", Title: stepTitles["issuer"], Status: DiagnoseFail, Detail: asErr.Error(), Spec: specIssuer})
		d.skipRest("the authorization server's metadata was refused", "client_identity")
		return nil
	case asErr != nil:
		d.add(DiagnoseStep{ID: "authorization_server_metadata", Title: stepTitles["authorization_server_metadata"], Status: DiagnoseFail, Detail: asErr.Error(), Spec: specASMetadata})
		d.skipRest("no usable authorization server metadata", "client_identity")
		return nil
	case !found && !legacy:
		d.add(DiagnoseStep{ID: "authorization_server_metadata", Title: stepTitles["authorization_server_metadata"], Status: DiagnoseFail, Spec: specASMetadata,
			Detail: fmt.Sprintf("authorization server %s publishes no metadata at any location", issuer)})
		d.skipRest("no authorization server metadata", "client_identity")
		return nil
	case !found:
		as = legacyAuthServerMetadata(issuer)
		d.add(DiagnoseStep{ID: "authorization_server_metadata", Title: stepTitles["authorization_server_metadata"], Status: DiagnoseWarn, Spec: specASMetadata,
			Detail: "no authorization server metadata: clients assume the 2025-03-26 defaults (/authorize, /token, /register on the MCP server's origin)"})
	default:
		d.add(DiagnoseStep{ID: "issuer", Title: stepTitles["issuer"], Status: DiagnosePass, URL: as.Issuer, Spec: specIssuer,
			Detail: "the metadata's issuer is the authorization server it was fetched for"})
	}
	mcpDPoP := (prm != nil && len(prm.DPoPSigningAlgValuesSupported) > 0) || (ch != nil && ch.DPoP)
	d.serverChecks(ctx, c, as, mcpDPoP)
	return nil
}

// locationSteps reports each metadata location tried: the one used, the
// ones passed over, the ones without an answer.
func (d *diagnosis) locationSteps(id string, traces []Trace, used, spec string) {
	for _, t := range traces {
		s := DiagnoseStep{ID: id, Title: stepTitles[id] + " location", URL: t.URL, HTTPStatus: t.Status, Ms: t.Ms, Spec: spec}
		switch {
		case t.URL == used && t.Status >= 200 && t.Status < 300:
			s.Status, s.Detail = DiagnosePass, "found here"
		case t.Status == 0:
			s.Status = DiagnoseWarn
			s.Detail = "no answer this page could read (" + t.Error + ")"
			if strings.Contains(t.Error, ReasonCORS) {
				s.Detail = "no answer this page could read: " + traceNoAnswerFix + "; the document needs Access-Control-Allow-Origin"
			}
		case t.Status >= 200 && t.Status < 300:
			s.Status, s.Detail = DiagnoseFail, "a document is here, but it is not usable (see below)"
		default:
			s.Status, s.Detail = DiagnoseSkip, fmt.Sprintf("HTTP %d: not here; the next location is tried", t.Status)
		}
		d.add(s)
	}
}

// resourceStep checks the PRM "resource" rule on the document found.
func (d *diagnosis) resourceStep(c *Client, doc string) {
	var m ProtectedResourceMetadata
	s := DiagnoseStep{ID: "resource", Title: stepTitles["resource"], Spec: specResource}
	switch {
	case json.Unmarshal([]byte(doc), &m) != nil:
		s.Status, s.Detail = DiagnoseSkip, "the document is not JSON"
	case resourceMatches(m.Resource, c.mcp):
		s.Status, s.Detail = DiagnosePass, fmt.Sprintf("resource %q identifies %s", m.Resource, c.mcpKey)
	default:
		s.Status = DiagnoseFail
		s.Detail = fmt.Sprintf("resource %q is not %s (nor a path prefix of it on the same origin): clients must refuse to ask tokens for it", m.Resource, c.mcpKey)
	}
	d.add(s)
}

// serverChecks reports what the authorization server's metadata allows.
func (d *diagnosis) serverChecks(ctx context.Context, c *Client, as *AuthServerMetadata, mcpDPoP bool) {
	if err := as.requireS256(); err != nil {
		d.add(DiagnoseStep{ID: "pkce", Title: stepTitles["pkce"], Status: DiagnoseFail, Detail: err.Error(), Spec: specPKCE})
	} else {
		d.add(DiagnoseStep{ID: "pkce", Title: stepTitles["pkce"], Status: DiagnosePass, Detail: "code_challenge_methods_supported lists S256", Spec: specPKCE})
	}
	if as.AuthorizationResponseIssParameterSupported {
		d.add(DiagnoseStep{ID: "iss_parameter", Title: stepTitles["iss_parameter"], Status: DiagnosePass, Spec: specIss,
			Detail: "authorization_response_iss_parameter_supported: responses name their issuer, so a mix-up is detected"})
	} else {
		d.add(DiagnoseStep{ID: "iss_parameter", Title: stepTitles["iss_parameter"], Status: DiagnoseWarn, Spec: specIss,
			Detail: "the server does not advertise authorization_response_iss_parameter_supported: a mix-up through another authorization server cannot be detected"})
	}

	identity := DiagnoseStep{ID: "client_identity", Title: stepTitles["client_identity"], Spec: specIdentity}
	switch {
	case c.cfg.ClientID != "":
		identity.Status, identity.Detail = DiagnosePass, fmt.Sprintf("pre-registered client %q", c.cfg.ClientID)
	case c.cfg.ClientMetadataURL != "" && as.ClientIDMetadataDocumentSupported:
		identity.Status, identity.Detail = DiagnosePass, "Client ID Metadata Document "+c.cfg.ClientMetadataURL
	case as.RegistrationEndpoint != "":
		identity.Status, identity.Detail, identity.URL = DiagnosePass, "dynamic client registration (RFC 7591)", as.RegistrationEndpoint
		if as.ClientIDMetadataDocumentSupported {
			identity.Detail += "; the server also accepts Client ID Metadata Documents (clientMetadataUrl)"
		}
	case as.ClientIDMetadataDocumentSupported:
		identity.Status = DiagnoseFail
		identity.Detail = "the server accepts only Client ID Metadata Documents: set clientMetadataUrl, or pre-register a client (clientId)"
	default:
		identity.Status = DiagnoseFail
		identity.Detail = "the server offers no registration_endpoint and no Client ID Metadata Documents: pre-register a client and set clientId"
	}
	d.add(identity)

	d.preflightStep(ctx, c, as)

	methods := as.TokenEndpointAuthMethodsSupported
	auth := DiagnoseStep{ID: "token_endpoint_auth", Title: stepTitles["token_endpoint_auth"], Status: DiagnosePass, Spec: specTokenAuth}
	switch {
	case len(methods) == 0:
		auth.Detail = "token_endpoint_auth_methods_supported is absent (client_secret_basic is the default; public clients send none)"
	case slices.Contains(methods, authNone):
		auth.Detail = "supports " + strings.Join(methods, ", ") + "; a browser client is public (none)"
	default:
		auth.Status = DiagnoseWarn
		auth.Detail = "supports " + strings.Join(methods, ", ") + " but not none: a browser app cannot keep a client secret, so registration may hand out one it will have to store"
	}
	d.add(auth)

	// The rule useDPoP applies: the authorization server lists ES256 and
	// the MCP server signals DPoP.
	asDPoP := slices.Contains(as.DPoPSigningAlgValuesSupported, dpopAlg)
	dp := DiagnoseStep{ID: "dpop", Title: stepTitles["dpop"], Status: DiagnoseSkip, Spec: specDPoP}
	switch {
	case asDPoP && mcpDPoP:
		dp.Status, dp.Detail = DiagnosePass, "both servers accept DPoP (ES256): a client with a DPoP key gets tokens bound to it"
	case asDPoP:
		dp.Detail = "the authorization server lists dpop_signing_alg_values_supported (" + strings.Join(as.DPoPSigningAlgValuesSupported, ", ") +
			"), but the MCP server does not signal DPoP (neither in its metadata nor with a DPoP challenge): tokens stay Bearer"
	case mcpDPoP:
		dp.Detail = "the MCP server signals DPoP, but the authorization server does not list ES256 in dpop_signing_alg_values_supported: tokens stay Bearer"
	default:
		dp.Detail = "neither server advertises DPoP: tokens are Bearer tokens"
	}
	d.add(dp)

	var insecure []string
	for _, e := range []struct{ name, u string }{{"issuer", as.Issuer}, {"authorization_endpoint", as.AuthorizationEndpoint}, {"token_endpoint", as.TokenEndpoint},
		{"registration_endpoint", as.RegistrationEndpoint}, {"revocation_endpoint", as.RevocationEndpoint}} {
		if e.u == "" {
			continue
		}
		if _, err := parseSecureURL(e.name, e.u); err != nil {
			insecure = append(insecure, err.Error())
		}
	}
	if len(insecure) > 0 {
		d.add(DiagnoseStep{ID: "endpoints_https", Title: stepTitles["endpoints_https"], Status: DiagnoseFail, Spec: specHTTPS, Detail: strings.Join(insecure, "; ")})
	} else {
		d.add(DiagnoseStep{ID: "endpoints_https", Title: stepTitles["endpoints_https"], Status: DiagnosePass, Spec: specHTTPS,
			Detail: "every endpoint is https (or http on a loopback host)"})
	}
}

// preflightStep checks that a browser may send the JSON registration
// request: natively, by sending its CORS preflight (an OPTIONS request,
// which registers nothing) with the redirect URI's origin; a browser
// cannot send a preflight on its own, so there the step is skipped.
func (d *diagnosis) preflightStep(ctx context.Context, c *Client, as *AuthServerMetadata) {
	s := DiagnoseStep{ID: "registration_preflight", Title: stepTitles["registration_preflight"], URL: as.RegistrationEndpoint, Spec: specPreflight}
	switch {
	case as.RegistrationEndpoint == "" || c.cfg.ClientID != "":
		s.Status, s.Detail = DiagnoseSkip, "no registration needed"
		d.add(s)
		return
	case d.opts.Browser:
		s.Status, s.Detail = DiagnoseSkip, "a browser cannot send a CORS preflight on its own; the first sign-in's registration shows it (a network_error with reason cors names the preflight)"
		d.add(s)
		return
	}
	ru, err := url.Parse(c.cfg.RedirectURI)
	if err != nil {
		s.Status, s.Detail = DiagnoseSkip, "the redirect URI is not a URL"
		d.add(s)
		return
	}
	from := origin(ru)
	req, err := http.NewRequest(http.MethodOptions, as.RegistrationEndpoint, nil)
	if err != nil {
		s.Status, s.Detail = DiagnoseFail, err.Error()
		d.add(s)
		return
	}
	req.Header.Set("Origin", from)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	started := time.Now()
	r, err := c.http.send(ctx, req, "registration preflight")
	s.Ms = ms(time.Since(started))
	if err != nil {
		s.Status, s.Detail = DiagnoseFail, err.Error()
		d.add(s)
		return
	}
	s.HTTPStatus = r.status
	allowOrigin := r.header.Get("Access-Control-Allow-Origin")
	allowHeaders := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
	switch {
	case allowOrigin != "*" && allowOrigin != from:
		s.Status = DiagnoseFail
		s.Detail = fmt.Sprintf("the preflight from %s got Access-Control-Allow-Origin %q: a browser app on that origin cannot register", from, allowOrigin)
	case allowHeaders != "*" && !slices.Contains(strings.Fields(strings.ReplaceAll(allowHeaders, ",", " ")), "content-type"):
		s.Status = DiagnoseFail
		s.Detail = fmt.Sprintf("the preflight does not allow the Content-Type header (Access-Control-Allow-Headers %q): a JSON registration from a browser is blocked", allowHeaders)
	default:
		s.Status, s.Detail = DiagnosePass, fmt.Sprintf("a browser app on %s may POST JSON here", from)
	}
	d.add(s)
}

// lastBody is the body of the last trace with a 2xx answer.
func lastBody(traces []Trace) string {
	for i := len(traces) - 1; i >= 0; i-- {
		if traces[i].Status >= 200 && traces[i].Status < 300 {
			return traces[i].Body
		}
	}
	return ""
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return newError(CodeTimeout, "diagnose took too long")
		}
		return newError(CodeAborted, "diagnose was aborted")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
