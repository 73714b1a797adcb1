package mcpoauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Discovery: RFC 9728 Protected Resource Metadata (PRM) tells which
// authorization server protects the MCP server; RFC 8414 / OpenID Connect
// Discovery metadata tells that server's endpoints. Each document has a
// validator that checks what the RFCs and the MCP spec say to check.

// ProtectedResourceMetadata is the RFC 9728 §2 document.
type ProtectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// validate checks the document against the MCP server it was fetched for:
// "resource" must identify that server (see resourceMatches) and at least
// one authorization server must be named with an acceptable URL.
func (m *ProtectedResourceMetadata) validate(mcp *url.URL, from string) error {
	if m.Resource == "" {
		return newError(CodeMetadataInvalid, "protected resource metadata at %s has no \"resource\"", from)
	}
	if !resourceMatches(m.Resource, mcp) {
		return newError(CodeMetadataInvalid,
			"protected resource metadata at %s names resource %q, which is not the MCP server %s (nor a path prefix of it on the same origin); refusing to ask for tokens for it",
			from, m.Resource, mcp.String())
	}
	if len(m.AuthorizationServers) == 0 {
		return newError(CodeMetadataInvalid, "protected resource metadata at %s lists no authorization_servers", from)
	}
	if err := checkScopeCount(len(m.ScopesSupported), "protected resource metadata at "+from); err != nil {
		return err
	}
	if _, err := parseSecureURL("authorization server "+m.AuthorizationServers[0]+" (from "+from+")", m.AuthorizationServers[0]); err != nil {
		return err
	}
	return nil
}

// AuthServerMetadata is the RFC 8414 §2 document (OpenID Connect Discovery
// documents share these fields).
type AuthServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// validate checks a metadata document fetched for issuer: the issuer echo
// must be identical (RFC 8414 §3.3; no normalization), the endpoints an
// MCP client uses must be present and acceptable URLs, and the server must
// offer the authorization code flow.
//
// legacy relaxes the issuer rule for the 2025-03-26 fallback only: there
// the MCP server is its own authorization server and the client has no
// issuer to compare with, just the server's origin (2025-03-26 servers
// publish issuers such as https://host/oauth at https://host's well-known
// URL). A document naming an issuer on another origin is still refused.
func (m *AuthServerMetadata) validate(issuer, from string, legacy bool) error {
	if legacy && m.Issuer != issuer && sameEndpointOrigin(m.Issuer, issuer) {
		issuer = m.Issuer
	}
	if m.Issuer != issuer {
		return &Error{Code: CodeIssuerMismatch, Message: fmt.Sprintf(
			"authorization server metadata at %s says its issuer is %q, not %q; a document for another issuer is never used", from, m.Issuer, issuer)}
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return newError(CodeMetadataInvalid, "authorization server metadata at %s lacks authorization_endpoint or token_endpoint", from)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"registration_endpoint", m.RegistrationEndpoint},
	} {
		if e.url == "" {
			continue
		}
		if _, err := parseSecureURL(e.name+" in metadata at "+from, e.url); err != nil {
			return err
		}
	}
	if err := checkScopeCount(len(m.ScopesSupported), "authorization server metadata at "+from); err != nil {
		return err
	}
	if len(m.ResponseTypesSupported) > 0 && !slices.Contains(m.ResponseTypesSupported, "code") {
		return newError(CodeMetadataInvalid, "authorization server %s does not support response_type=code (metadata at %s)", issuer, from)
	}
	return nil
}

// requireS256 enforces PKCE S256 (MCP authorization, "Authorization Code
// Protection"): a server that does not advertise it, or advertises nothing,
// is refused before any authorization request.
func (m *AuthServerMetadata) requireS256() error {
	if !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		return newError(CodePKCEUnsupported,
			"authorization server %s does not advertise PKCE S256 in code_challenge_methods_supported (it lists %v); the MCP spec forbids proceeding without it",
			m.Issuer, m.CodeChallengeMethodsSupported)
	}
	return nil
}

// prmURLs lists where to look for Protected Resource Metadata: the
// challenge's resource_metadata alone when given, else the path-suffixed
// well-known URL, then the root one (RFC 9728 §3.1, MCP "Protected Resource
// Metadata Discovery Requirements"). Nothing else is requested.
func prmURLs(mcp *url.URL, fromChallenge string) []string {
	if fromChallenge != "" {
		return []string{fromChallenge}
	}
	var urls []string
	if p := strings.TrimSuffix(mcp.EscapedPath(), "/"); p != "" {
		urls = append(urls, wellKnownURL(mcp, "oauth-protected-resource", p))
	}
	return append(urls, wellKnownURL(mcp, "oauth-protected-resource", ""))
}

// authServerMetadataURLs lists, in the spec's order, where an issuer's
// metadata may be (RFC 8414 §3.1, OpenID Connect Discovery §4, MCP
// "Authorization Server Metadata Discovery").
func authServerMetadataURLs(issuer *url.URL) []string {
	p := strings.TrimSuffix(issuer.EscapedPath(), "/")
	if p == "" {
		return []string{
			wellKnownURL(issuer, "oauth-authorization-server", ""),
			wellKnownURL(issuer, "openid-configuration", ""),
		}
	}
	return []string{
		wellKnownURL(issuer, "oauth-authorization-server", p),
		wellKnownURL(issuer, "openid-configuration", p),
		origin(issuer) + p + "/.well-known/openid-configuration",
	}
}

// attempts records why each candidate URL was passed over, for an error
// message that says what was tried.
type attempts []string

func (a *attempts) add(url, why string) { *a = append(*a, url+": "+why) }
func (a attempts) String() string       { return strings.Join(a, "; ") }

// passOver reports whether a response means "not here, try the next URL".
// A 2xx is used; a redirect is not followed (metadata must be served at
// its URL); 4xx and 5xx move on.
func passOver(r *response) (string, bool) {
	switch {
	case r.status >= 200 && r.status < 300:
		return "", false
	case r.status >= 300 && r.status < 400:
		return fmt.Sprintf("redirected (HTTP %d), not followed", r.status), true
	default:
		return fmt.Sprintf("HTTP %d", r.status), true
	}
}

// fetchPRM fetches and validates Protected Resource Metadata. It returns
// (nil, "", nil) when no candidate URL has any (the 2025-03-26 fallback
// applies), and an error when one exists but is unusable, or when the
// challenge named a URL that could not be fetched.
func (c *Client) fetchPRM(ctx context.Context, fromChallenge string) (*ProtectedResourceMetadata, string, attempts, error) {
	var tried attempts
	if fromChallenge != "" {
		u, err := parseSecureURL("resource_metadata URL in WWW-Authenticate", fromChallenge)
		if err != nil {
			return nil, "", nil, err
		}
		fromChallenge = u.String()
	}
	for _, u := range prmURLs(c.mcp, fromChallenge) {
		r, err := c.http.get(ctx, u, "protected resource metadata request")
		if err != nil {
			if fromChallenge != "" || CodeOf(err) != CodeNetworkError {
				return nil, "", tried, err
			}
			// In a browser a 404 without CORS headers looks like a network
			// failure: note it and try the next URL.
			tried.add(u, "no answer ("+err.Error()+")")
			continue
		}
		if why, skip := passOver(r); skip {
			if fromChallenge != "" {
				return nil, "", tried, &Error{Code: CodeDiscoveryFailed, Status: r.status,
					Message: fmt.Sprintf("the resource_metadata URL %s from the server's WWW-Authenticate header answered %s", u, why)}
			}
			tried.add(u, why)
			continue
		}
		var m ProtectedResourceMetadata
		if err := r.decodeJSONObject(&m); err != nil {
			return nil, "", tried, wrapError(CodeMetadataInvalid, err, "protected resource metadata is unusable: %v", err)
		}
		if err := m.validate(c.mcp, u); err != nil {
			return nil, "", tried, err
		}
		return &m, u, tried, nil
	}
	return nil, "", tried, nil
}

// fetchAuthServerMetadata tries the issuer's metadata URLs in order; the
// first document that validates wins. found is false when no URL had a
// document (all answered 3xx or 4xx); tried says what each answered.
func (c *Client) fetchAuthServerMetadata(ctx context.Context, issuer string, legacy bool) (m *AuthServerMetadata, found bool, tried attempts, err error) {
	iu, err := parseSecureURL("authorization server issuer", issuer)
	if err != nil {
		return nil, false, nil, err
	}
	var mismatch, invalid, network error
	for _, u := range authServerMetadataURLs(iu) {
		r, err := c.http.get(ctx, u, "authorization server metadata request")
		switch CodeOf(err) {
		case "":
		case CodeTimeout, CodeAborted:
			return nil, false, tried, err
		case CodeNetworkError:
			network = err
			tried.add(u, "no answer")
			continue
		default: // an answer that could not be read (too large)
			invalid = err
			tried.add(u, err.Error())
			continue
		}
		if why, skip := passOver(r); skip {
			tried.add(u, why)
			if r.status >= 500 && network == nil {
				network = &Error{Code: CodeDiscoveryFailed, Status: r.status, Message: fmt.Sprintf("%s answered HTTP %d", u, r.status)}
			}
			continue
		}
		var doc AuthServerMetadata
		if err := r.decodeJSONObject(&doc); err != nil {
			invalid = wrapError(CodeMetadataInvalid, err, "authorization server metadata is unusable: %v", err)
			tried.add(u, err.Error())
			continue
		}
		if err := doc.validate(issuer, u, legacy); err != nil {
			if CodeOf(err) == CodeIssuerMismatch {
				mismatch = err
			} else {
				invalid = err
			}
			tried.add(u, err.Error())
			continue
		}
		return &doc, true, tried, nil
	}
	switch {
	case mismatch != nil:
		return nil, true, tried, mismatch
	case invalid != nil:
		return nil, true, tried, invalid
	case network != nil:
		if CodeOf(network) == CodeNetworkError {
			return nil, true, tried, wrapError(CodeNetworkError, network, "could not fetch authorization server metadata for %s (tried %s): %v", issuer, tried, network)
		}
		return nil, true, tried, wrapError(CodeDiscoveryFailed, network, "could not fetch authorization server metadata for %s (tried %s)", issuer, tried)
	}
	return nil, false, tried, nil
}

// legacyAuthServerMetadata is what a 2025-03-26 client assumes for a server
// with no metadata at all: the MCP origin's /authorize, /token and /register,
// with PKCE S256.
func legacyAuthServerMetadata(issuer string) *AuthServerMetadata {
	return &AuthServerMetadata{
		Issuer:                        issuer,
		AuthorizationEndpoint:         issuer + "/authorize",
		TokenEndpoint:                 issuer + "/token",
		RegistrationEndpoint:          issuer + "/register",
		CodeChallengeMethodsSupported: []string{"S256"},
		ResponseTypesSupported:        []string{"code"},
	}
}

// serverInfo is the outcome of discovery for one MCP server.
type serverInfo struct {
	// Resource is the RFC 8707 resource to ask tokens for: the validated
	// PRM "resource", or without PRM the MCP server's canonical URI.
	Resource            string                     `json:"resource"`
	ResourceMetadataURL string                     `json:"resource_metadata_url,omitempty"`
	PRM                 *ProtectedResourceMetadata `json:"prm,omitempty"`
	AuthServer          *AuthServerMetadata        `json:"authorization_server"`
	// Legacy marks the 2025-03-26 fallback (no PRM).
	Legacy bool `json:"legacy,omitempty"`
	// ChallengeScope is the scope of the challenge discovery started from,
	// kept for authorizations that start without one (a click).
	ChallengeScope string `json:"challenge_scope,omitempty"`
	FetchedAt      int64  `json:"fetched_at"`
}

func (s *serverInfo) validate() error {
	if s.Resource == "" || s.AuthServer == nil || s.AuthServer.Issuer == "" || s.AuthServer.TokenEndpoint == "" || s.AuthServer.AuthorizationEndpoint == "" {
		return fmt.Errorf("discovery record is incomplete")
	}
	return nil
}

// authServerRecord caches one issuer's metadata, so that a second MCP
// server on the same authorization server skips fetching it again.
type authServerRecord struct {
	Metadata  *AuthServerMetadata `json:"metadata"`
	Legacy    bool                `json:"legacy,omitempty"`
	FetchedAt int64               `json:"fetched_at"`
}

func (r *authServerRecord) validate() error {
	if r.Metadata == nil || r.Metadata.Issuer == "" {
		return fmt.Errorf("authorization server record is incomplete")
	}
	return nil
}

// discover finds out how to authorize for the MCP server. ch is the Bearer
// challenge of a 401, if there was one; without one, and without fresh
// cached results, the server is asked for its challenge first (it may name
// its PRM only there). Cached results younger than DiscoveryTTL are used
// unless fresh is set; a 401 always re-reads the server's PRM, so that an
// authorization server move is noticed.
func (c *Client) discover(ctx context.Context, ch *BearerChallenge, fresh bool) (*serverInfo, error) {
	now := c.now().Unix()
	if !fresh {
		var info serverInfo
		ok, err := c.records.load(ctx, c.records.resourceKey(c.mcpKey), &info)
		if err != nil {
			return nil, err
		}
		if ok && now-info.FetchedAt < int64(c.cfg.DiscoveryTTL.Seconds()) {
			return &info, nil
		}
	}
	c.progress(Progress{Step: StepDiscovery, MCPURL: c.mcpKey})

	if ch == nil {
		probed, err := c.probeChallenge(ctx)
		if err != nil {
			return nil, err
		}
		ch = probed
	}
	headerURL := ""
	if ch != nil {
		headerURL = ch.ResourceMetadata
	}
	prm, prmURL, tried, err := c.fetchPRM(ctx, headerURL)
	if err != nil {
		return nil, err
	}
	info := &serverInfo{FetchedAt: now}
	if ch != nil {
		info.ChallengeScope = ch.Scope
	}
	var issuer string
	if prm != nil {
		info.PRM, info.ResourceMetadataURL, info.Resource = prm, prmURL, prm.Resource
		issuer = prm.AuthorizationServers[0]
	} else {
		// 2025-03-26 servers: no PRM, the MCP origin is the authorization server.
		info.Legacy, info.Resource = true, c.mcpKey
		issuer = origin(c.mcp)
		c.progress(Progress{Step: StepDiscovery, MCPURL: c.mcpKey, Detail: "no protected resource metadata (tried " + tried.String() + "); using the 2025-03-26 fallback"})
	}

	as, err := c.authServerMetadata(ctx, issuer, info.Legacy)
	if err != nil {
		return nil, err
	}
	info.AuthServer = as
	if err := c.records.save(ctx, c.records.resourceKey(c.mcpKey), info); err != nil {
		return nil, err
	}
	return info, nil
}

// authServerMetadata returns the issuer's metadata from the per-issuer
// cache or from the network.
func (c *Client) authServerMetadata(ctx context.Context, issuer string, legacy bool) (*AuthServerMetadata, error) {
	now := c.now().Unix()
	var rec authServerRecord
	ok, err := c.records.load(ctx, c.records.authServerKey(issuer), &rec)
	if err != nil {
		return nil, err
	}
	if ok && now-rec.FetchedAt < int64(c.cfg.DiscoveryTTL.Seconds()) {
		return rec.Metadata, nil
	}
	m, found, tried, err := c.fetchAuthServerMetadata(ctx, issuer, legacy)
	if err != nil {
		return nil, err
	}
	if !found {
		if !legacy {
			return nil, newError(CodeDiscoveryFailed, "authorization server %s publishes no usable metadata (tried %s)", issuer, tried)
		}
		m = legacyAuthServerMetadata(issuer)
	}
	if err := c.records.save(ctx, c.records.authServerKey(issuer), &authServerRecord{Metadata: m, Legacy: !found, FetchedAt: now}); err != nil {
		return nil, err
	}
	return m, nil
}

// probeChallenge asks the MCP server, without a token, for its challenge:
// used when authorization starts without a 401 in hand. Only status and
// headers are read; the body is cancelled, since an MCP GET may open an
// endless SSE stream.
func (c *Client) probeChallenge(ctx context.Context) (*BearerChallenge, error) {
	status, h, err := c.http.probe(ctx, c.mcp.String(), nil)
	if err != nil {
		return nil, err
	}
	if ch, ok := BearerChallengeFrom(h); ok && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
		return &ch, nil
	}
	return nil, nil
}
