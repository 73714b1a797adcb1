package mcpoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Discovery, the flow: ask the MCP server for its challenge, find its
// metadata and its authorization server's (metadata.go validates them),
// and cache what was found per server and per issuer.

// attempts records why each candidate URL was passed over, for an error
// message that says what was tried.
type attempts []string

func (a *attempts) add(url, why string) { *a = append(*a, url+": "+why) }

func (a attempts) String() string { return strings.Join(a, "; ") }

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
//
// A discovery without a challenge joins one already in flight (the
// background Prepare a client starts, when the user clicks before it
// ended): the server is not asked twice.
func (c *Client) discover(ctx context.Context, ch *BearerChallenge, fresh bool) (*serverInfo, error) {
	if ch != nil || fresh {
		return c.discoverOnce(ctx, ch, fresh)
	}
	c.discoveryMu.Lock()
	if d := c.discovering; d != nil {
		c.discoveryMu.Unlock()
		select {
		case <-d.done:
			if d.err == nil {
				return d.info, nil
			}
			return c.discoverOnce(ctx, nil, false) // try for ourselves
		case <-ctx.Done():
			return nil, contextError(ctx, "discovery")
		}
	}
	d := &inflightDiscovery{done: make(chan struct{})}
	c.discovering = d
	c.discoveryMu.Unlock()
	d.info, d.err = c.discoverOnce(ctx, nil, false)
	c.discoveryMu.Lock()
	c.discovering = nil
	c.discoveryMu.Unlock()
	close(d.done)
	return d.info, d.err
}

// inflightDiscovery is a discovery others may wait for.
type inflightDiscovery struct {
	done chan struct{}
	info *serverInfo
	err  error
}

func (c *Client) discoverOnce(ctx context.Context, ch *BearerChallenge, fresh bool) (*serverInfo, error) {
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
	c.progressCtx(ctx, Progress{Step: StepDiscovery, MCPURL: c.mcpKey})

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
	quiet := ctx.Value(quietKey{}) != nil
	var issuer string
	if prm != nil {
		info.PRM, info.ResourceMetadataURL, info.Resource = prm, prmURL, prm.Resource
		issuer = prm.AuthorizationServers[0]
	} else if quiet && ch == nil {
		// Work the app did not ask for, without a challenge: a server may
		// name its metadata only in the 401 to a real request, so "no
		// metadata" is a guess here, and a guess is never cached.
		return nil, errDiscoveryUnsure
	} else {
		// 2025-03-26 servers: no PRM, the MCP origin is the authorization server.
		info.Legacy, info.Resource = true, c.mcpKey
		issuer = origin(c.mcp)
		c.progressCtx(ctx, Progress{Step: StepDiscovery, MCPURL: c.mcpKey, Detail: "no protected resource metadata (tried " + tried.String() + "); using the 2025-03-26 fallback"})
	}

	as, err := c.authServerMetadata(ctx, issuer, info.Legacy)
	if err != nil {
		return nil, err
	}
	info.AuthServer = as
	if quiet {
		// A discovery that started later (a 401's) may have finished first:
		// background work never overwrites it.
		var newer serverInfo
		if ok, _ := c.records.load(ctx, c.records.resourceKey(c.mcpKey), &newer); ok && newer.FetchedAt >= now {
			return &newer, nil
		}
	}
	if err := c.records.save(ctx, c.records.resourceKey(c.mcpKey), info); err != nil {
		return nil, err
	}
	return info, nil
}

// errDiscoveryUnsure: background discovery found no metadata without a
// challenge, and cached nothing (Prepare reports no error for it).
var errDiscoveryUnsure = errors.New("no protected resource metadata found without a challenge; nothing cached")

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
