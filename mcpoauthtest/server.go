package mcpoauthtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options bends the test server away from a well-behaved MCP deployment.
// The zero value is a strict, spec-following server: PRM at the
// path-suffixed well-known URL, RFC 8414 metadata, open DCR, PKCE S256,
// RFC 9207 iss, rotating refresh tokens.
type Options struct {
	// IssuerPath puts the issuer under a path ("/tenant1").
	IssuerPath string
	// PRM is where Protected Resource Metadata is served: "path" (default,
	// /.well-known/oauth-protected-resource/mcp), "root", "header" (only at
	// a custom URL named in the WWW-Authenticate header), "none" (a
	// 2025-03-26 server).
	PRM string
	// PRMResource overrides the PRM "resource" (default: the MCP URL).
	PRMResource string
	// PRMScopes is the PRM scopes_supported.
	PRMScopes []string
	// ChallengeScope is the scope parameter of the 401 challenge.
	ChallengeScope string
	// ChallengeWithoutPRM leaves resource_metadata out of challenges, so
	// clients must find the PRM at its well-known URLs.
	ChallengeWithoutPRM bool
	// Metadata is where authorization server metadata is served: "oauth"
	// (default), "openid", "openid-suffix" (issuer path + /.well-known/
	// openid-configuration), "none".
	Metadata string
	// MetadataIssuer overrides the issuer inside the metadata document.
	MetadataIssuer string
	// PKCEMethods is code_challenge_methods_supported (default ["S256"]);
	// NoPKCEMethods omits it.
	PKCEMethods   []string
	NoPKCEMethods bool
	// NoIss stops sending iss and advertising it; IssOverride sends this
	// iss instead of the issuer.
	NoIss       bool
	IssOverride string
	// CIMD advertises client_id_metadata_document_supported.
	CIMD bool
	// EnforceRegisteredScope refuses (invalid_scope) an authorization
	// request for a scope outside the one the client registered.
	EnforceRegisteredScope bool
	// NoRegistration removes the registration endpoint.
	NoRegistration bool
	// NoRevocation removes the RFC 7009 revocation endpoint.
	NoRevocation bool
	// AuthMethods is token_endpoint_auth_methods_supported.
	AuthMethods []string
	// ASScopes is the metadata's scopes_supported.
	ASScopes []string
	// StaticClients are pre-registered: client_id → secret ("" = public).
	StaticClients map[string]string
	// StaticAuthMethod is the auth method required of static clients with
	// a secret (default client_secret_basic).
	StaticAuthMethod string
	// AccessTokenTTL (default 1 h); NoRefreshToken; NoRotation keeps the
	// refresh token and sends none back on refresh.
	AccessTokenTTL time.Duration
	// TokenDelay holds every token endpoint answer this long (a slow or
	// stuck server); a client that gives up sees its request cancelled
	// (Request.Cancelled).
	TokenDelay     time.Duration
	NoRefreshToken bool
	NoRotation     bool
	// ExpiresInAsString sends expires_in as a JSON string ("3600"), as some
	// servers do.
	ExpiresInAsString bool
	// Deny answers every authorization with error=access_denied.
	Deny bool
	// StepUpScope is required by JSON-RPC method "admin" (else 403
	// insufficient_scope naming it).
	StepUpScope string
	// RequiredScope is required by every MCP request (default none).
	RequiredScope string
	// UngrantableScopes are dropped from what the authorization server
	// grants, whatever is asked.
	UngrantableScopes []string
	// AuthorizationServer, when set, protects this server's MCP endpoint
	// instead of its own authorization server: the PRM names its issuer and
	// only its tokens are accepted (an authorization server that moved).
	AuthorizationServer *Server
	// DPoP makes the server speak RFC 9449: both metadata documents list
	// ES256 and the MCP endpoint also challenges with the DPoP scheme
	// (DPoPASOnly: only the authorization server does), the token endpoint
	// binds the tokens it issues to a valid proof's key (token_type DPoP),
	// and the MCP endpoint wants a bound token with a proof by that key,
	// never as Bearer. DPoPNonce requires a server nonce in every proof
	// (400 use_dpop_nonce at the token endpoint, 401 DPoP
	// error="use_dpop_nonce" at the MCP endpoint, with DPoP-Nonce).
	DPoP       bool
	DPoPASOnly bool
	DPoPNonce  bool
	// CORS lets pages on every origin call the server, as one meant for
	// browser clients on other origins must: Access-Control-Allow-Origin *
	// on every answer, WWW-Authenticate exposed, preflights answered. The
	// faults: NoCORSOnPRM serves the Protected Resource Metadata without
	// it, HideChallenge does not expose WWW-Authenticate.
	CORS          bool
	NoCORSOnPRM   bool
	HideChallenge bool
	// Fallback serves the paths this server does not know, on its origin:
	// an app's pages, say, for a browser test where the app, the MCP server
	// and the authorization server share one origin.
	Fallback http.Handler
}

// Request is one request the server saw.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values
	Header http.Header
	// JSON is the decoded body of a JSON request (registration).
	JSON map[string]any
	// Cancelled: the client went away before the answer was written.
	Cancelled bool
}

type grant struct {
	clientID, redirectURI, challenge, resource, scope, requested string
	jkt                                                          string // a refresh token bound to a DPoP key
}

type client struct {
	id, secret, authMethod, scope string
	redirectURIs                  []string
}

type token struct {
	resource, scope, clientID string
	expires                   time.Time
	jkt                       string // bound to a DPoP key (RFC 9449 §6)
}

// Server is an authorization server and an MCP server in one httptest
// server (one origin, as many small deployments are).
type Server struct {
	*httptest.Server
	Opts Options

	prefix   string // makes this server's codes and tokens unique
	mu       sync.Mutex
	requests []Request
	clients  map[string]*client
	codes    map[string]grant
	access   map[string]token
	refresh  map[string]grant
	seq      int
	// DPoP: the proofs verified so far, the jti seen, the current nonce.
	DPoPProofs      int
	NonceChallenges int // 401 use_dpop_nonce answers of the MCP endpoint
	jtis            map[string]bool
	dpopNonce       string
	rsNonce         string
}

// NewServer starts a test server; close it with Close.
func NewServer(opts Options) *Server {
	s := &Server{Opts: opts, clients: map[string]*client{}, codes: map[string]grant{}, access: map[string]token{}, refresh: map[string]grant{}}
	s.prefix = fmt.Sprintf("s%d", serverCount.Add(1))
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	for id, secret := range opts.StaticClients {
		m := opts.StaticAuthMethod
		if m == "" {
			m = "client_secret_basic"
		}
		if secret == "" {
			m = "none"
		}
		s.clients[id] = &client{id: id, secret: secret, authMethod: m}
	}
	return s
}

// MCPURL is the MCP endpoint.
func (s *Server) MCPURL() string { return s.URL + "/mcp" }

// Issuer is the authorization server's issuer identifier.
func (s *Server) Issuer() string { return s.URL + s.Opts.IssuerPath }

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Paths returns "METHOD /path" for each request seen so far.
func (s *Server) Paths() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// ForgetClients drops every dynamically registered client, as a restarted
// authorization server with in-memory storage does.
func (s *Server) ForgetClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.clients {
		if _, static := s.Opts.StaticClients[id]; !static {
			delete(s.clients, id)
		}
	}
}

// ForgetClient drops one client, static or registered.
func (s *Server) ForgetClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
}

// ExpireAccessTokens makes every issued access token invalid.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = map[string]token{}
}

var serverCount atomic.Int64

func (s *Server) next(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%s-%d", s.prefix, prefix, s.seq)
}

// Issued reports whether this server minted the token.
func (s *Server) Issued(token string) bool { return strings.HasPrefix(token, s.prefix+"-") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &rec.JSON)
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		_ = r.ParseForm()
		rec.Form = r.PostForm
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	idx := len(s.requests) - 1
	s.mu.Unlock()
	defer func() {
		if r.Context().Err() != nil {
			s.mu.Lock()
			s.requests[idx].Cancelled = true
			s.mu.Unlock()
		}
	}()

	if s.Opts.CORS && !(s.Opts.NoCORSOnPRM && strings.HasPrefix(r.URL.Path, "/.well-known/oauth-protected-resource")) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if !s.Opts.HideChallenge {
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	ip := s.Opts.IssuerPath
	switch p := r.URL.Path; {
	case p == "/mcp":
		s.serveMCP(w, r)
	case p == "/.well-known/oauth-protected-resource/mcp" && (s.Opts.PRM == "" || s.Opts.PRM == "path"),
		p == "/.well-known/oauth-protected-resource" && s.Opts.PRM == "root",
		p == "/custom/prm" && s.Opts.PRM == "header":
		s.servePRM(w)
	case p == "/.well-known/oauth-authorization-server"+ip && (s.Opts.Metadata == "" || s.Opts.Metadata == "oauth"),
		p == "/.well-known/openid-configuration"+ip && s.Opts.Metadata == "openid",
		p == ip+"/.well-known/openid-configuration" && s.Opts.Metadata == "openid-suffix" && ip != "":
		s.serveMetadata(w)
	case p == ip+"/authorize":
		s.serveAuthorize(w, r)
	case p == ip+"/token":
		s.serveToken(w, r)
	case p == ip+"/register" && !s.Opts.NoRegistration:
		s.serveRegister(w, r)
	case p == ip+"/revoke" && !s.Opts.NoRevocation:
		s.serveRevoke(w, r)
	case s.Opts.Fallback != nil:
		s.Opts.Fallback.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) prmURL() string {
	switch s.Opts.PRM {
	case "root":
		return s.URL + "/.well-known/oauth-protected-resource"
	case "header":
		return s.URL + "/custom/prm"
	case "none":
		return ""
	}
	return s.URL + "/.well-known/oauth-protected-resource/mcp"
}

func (s *Server) resource() string {
	if s.Opts.PRM == "none" {
		return s.MCPURL()
	}
	if s.Opts.PRMResource != "" {
		return s.Opts.PRMResource
	}
	return s.MCPURL()
}

func (s *Server) servePRM(w http.ResponseWriter) {
	doc := map[string]any{"resource": s.resource(), "authorization_servers": []string{s.tokenIssuer().Issuer()}}
	if len(s.Opts.PRMScopes) > 0 {
		doc["scopes_supported"] = s.Opts.PRMScopes
	}
	if s.Opts.DPoP && !s.Opts.DPoPASOnly {
		doc["dpop_signing_alg_values_supported"] = []string{"ES256"}
	}
	writeJSON(w, 200, doc)
}

func (s *Server) serveMetadata(w http.ResponseWriter) {
	iss := s.Issuer()
	doc := map[string]any{
		"issuer":                   iss,
		"authorization_endpoint":   iss + "/authorize",
		"token_endpoint":           iss + "/token",
		"response_types_supported": []string{"code"},
	}
	if s.Opts.MetadataIssuer != "" {
		doc["issuer"] = s.Opts.MetadataIssuer
	}
	if !s.Opts.NoRegistration {
		doc["registration_endpoint"] = iss + "/register"
	}
	if !s.Opts.NoRevocation {
		doc["revocation_endpoint"] = iss + "/revoke"
	}
	if !s.Opts.NoPKCEMethods {
		m := s.Opts.PKCEMethods
		if m == nil {
			m = []string{"S256"}
		}
		doc["code_challenge_methods_supported"] = m
	}
	if !s.Opts.NoIss {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	if s.Opts.CIMD {
		doc["client_id_metadata_document_supported"] = true
	}
	if s.Opts.AuthMethods != nil {
		doc["token_endpoint_auth_methods_supported"] = s.Opts.AuthMethods
	}
	if s.Opts.ASScopes != nil {
		doc["scopes_supported"] = s.Opts.ASScopes
	}
	if s.Opts.DPoP {
		doc["dpop_signing_alg_values_supported"] = []string{"ES256"}
	}
	writeJSON(w, 200, doc)
}

func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RedirectURIs []string `json:"redirect_uris"`
		AuthMethod   string   `json:"token_endpoint_auth_method"`
		Scope        string   `json:"scope"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.RedirectURIs) == 0 {
		oauthErr(w, 400, "invalid_client_metadata", "redirect_uris required")
		return
	}
	s.mu.Lock()
	c := &client{id: s.next("client"), authMethod: req.AuthMethod, redirectURIs: req.RedirectURIs, scope: req.Scope}
	if c.authMethod == "" {
		c.authMethod = "client_secret_basic"
	}
	if c.authMethod != "none" {
		c.secret = s.next("secret")
	}
	s.clients[c.id] = c
	s.mu.Unlock()
	resp := map[string]any{"client_id": c.id, "redirect_uris": c.redirectURIs, "token_endpoint_auth_method": c.authMethod}
	if c.secret != "" {
		resp["client_secret"] = c.secret
	}
	writeJSON(w, 201, resp)
}

func (s *Server) lookupClient(id string) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[id]; ok {
		return c
	}
	if s.Opts.CIMD && strings.HasPrefix(id, "https://") {
		return &client{id: id, authMethod: "none"}
	}
	return nil
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := s.lookupClient(q.Get("client_id"))
	if c == nil {
		http.Error(w, "unknown client", http.StatusBadRequest) // an error page: no redirect
		return
	}
	redirect := q.Get("redirect_uri")
	if len(c.redirectURIs) > 0 && !slices.Contains(c.redirectURIs, redirect) {
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirect)
	if err != nil || redirect == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	params := url.Values{}
	if st := q.Get("state"); st != "" {
		params.Set("state", st)
	}
	if !s.Opts.NoIss {
		params.Set("iss", s.Issuer())
		if s.Opts.IssOverride != "" {
			params.Set("iss", s.Opts.IssOverride)
		}
	}
	switch {
	case s.Opts.Deny:
		params.Set("error", "access_denied")
		params.Set("error_description", "The user said no")
	case q.Get("response_type") != "code":
		params.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		params.Set("error", "invalid_request")
		params.Set("error_description", "PKCE S256 required")
	case s.Opts.EnforceRegisteredScope && c.scope != "" && slices.ContainsFunc(strings.Fields(q.Get("scope")), func(sc string) bool { return !slices.Contains(strings.Fields(c.scope), sc) }):
		params.Set("error", "invalid_scope")
		params.Set("error_description", "the client is not registered for this scope")
	default:
		s.mu.Lock()
		code := s.next("code")
		var granted []string
		for _, sc := range strings.Fields(q.Get("scope")) {
			if !slices.Contains(s.Opts.UngrantableScopes, sc) {
				granted = append(granted, sc)
			}
		}
		s.codes[code] = grant{clientID: c.id, redirectURI: redirect, challenge: q.Get("code_challenge"), resource: q.Get("resource"), scope: strings.Join(granted, " "), requested: q.Get("scope")}
		s.mu.Unlock()
		params.Set("code", code)
	}
	back.RawQuery = params.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// authenticate checks the client's credentials the way it registered.
func (s *Server) authenticate(r *http.Request) (*client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c := s.lookupClient(id)
	if c == nil {
		return nil, false
	}
	switch c.authMethod {
	case "none":
		return c, !basic && secret == ""
	case "client_secret_post":
		return c, !basic && secret == c.secret
	default:
		return c, basic && secret == c.secret
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if d := s.Opts.TokenDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	c, ok := s.authenticate(r)
	if !ok {
		oauthErr(w, 401, "invalid_client", "client authentication failed")
		return
	}
	var jkt string // the key the new tokens are bound to
	if s.Opts.DPoP && r.Header.Get("DPoP") != "" {
		p, problem, nonce := s.checkDPoP(r, s.Issuer()+"/token", "")
		switch {
		case nonce:
			s.newNonce(w, false)
			oauthErr(w, 400, "use_dpop_nonce", problem)
			return
		case p == nil:
			oauthErr(w, 400, "invalid_dpop_proof", problem)
			return
		}
		jkt = p.jkt
	}
	f := r.PostForm
	var g grant
	var prevRefresh string
	switch f.Get("grant_type") {
	case "authorization_code":
		s.mu.Lock()
		g, ok = s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || g.clientID != c.id:
			oauthErr(w, 400, "invalid_grant", "unknown code")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			oauthErr(w, 400, "invalid_grant", "PKCE verification failed")
			return
		case f.Get("redirect_uri") != g.redirectURI:
			oauthErr(w, 400, "invalid_grant", "redirect_uri mismatch")
			return
		case f.Get("resource") != g.resource:
			oauthErr(w, 400, "invalid_target", "resource differs from the authorization request")
			return
		}
	case "refresh_token":
		prevRefresh = f.Get("refresh_token")
		s.mu.Lock()
		g, ok = s.refresh[prevRefresh]
		if ok && !s.Opts.NoRotation {
			delete(s.refresh, prevRefresh)
		}
		s.mu.Unlock()
		if !ok || g.clientID != c.id {
			oauthErr(w, 400, "invalid_grant", "unknown refresh token")
			return
		}
		if g.jkt != "" && g.jkt != jkt {
			oauthErr(w, 400, "invalid_grant", "the refresh token is bound to another DPoP key (or came without a proof)")
			return
		}
		if f.Get("resource") != g.resource {
			oauthErr(w, 400, "invalid_target", "resource differs from the grant")
			return
		}
	default:
		oauthErr(w, 400, "unsupported_grant_type", "")
		return
	}
	ttl := s.Opts.AccessTokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	s.mu.Lock()
	at := s.next("at")
	s.access[at] = token{resource: g.resource, scope: g.scope, clientID: c.id, expires: time.Now().Add(ttl), jkt: jkt}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(ttl.Seconds())}
	if jkt != "" {
		resp["token_type"] = "DPoP"
		g.jkt = jkt
	}
	if s.Opts.ExpiresInAsString {
		resp["expires_in"] = strconv.Itoa(int(ttl.Seconds()))
	}
	if g.scope != g.requested { // RFC 6749 §5.1: scope is required when it differs
		resp["scope"] = g.scope
	}
	switch {
	case s.Opts.NoRefreshToken:
	case prevRefresh != "" && s.Opts.NoRotation:
	default:
		rt := s.next("rt")
		s.refresh[rt] = g
		resp["refresh_token"] = rt
	}
	s.mu.Unlock()
	writeJSON(w, 200, resp)
}

func (s *Server) challenge(w http.ResponseWriter, status int, errCode, scope string) {
	parts := []string{}
	if errCode != "" {
		parts = append(parts, `error="`+errCode+`"`)
	}
	if scope != "" {
		parts = append(parts, `scope="`+scope+`"`)
	}
	if u := s.prmURL(); u != "" && !s.Opts.ChallengeWithoutPRM {
		parts = append(parts, `resource_metadata="`+u+`"`)
	}
	h := "Bearer"
	if len(parts) > 0 {
		h += " " + strings.Join(parts, ", ")
	}
	if s.Opts.DPoP && !s.Opts.DPoPASOnly {
		h += `, DPoP algs="ES256"`
	}
	w.Header().Set("WWW-Authenticate", h)
	w.WriteHeader(status)
}

// tokenIssuer is the server whose tokens the MCP endpoint accepts.
func (s *Server) tokenIssuer() *Server {
	if s.Opts.AuthorizationServer != nil {
		return s.Opts.AuthorizationServer
	}
	return s
}

func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(auth, " ")
	is := s.tokenIssuer()
	is.mu.Lock()
	tok, ok := is.access[value]
	is.mu.Unlock()
	if !ok || time.Now().After(tok.expires) || tok.resource != s.resource() {
		s.challenge(w, http.StatusUnauthorized, "", s.Opts.ChallengeScope)
		return
	}
	switch {
	case tok.jkt == "" && scheme != "Bearer":
		s.challenge(w, http.StatusUnauthorized, "invalid_token", s.Opts.ChallengeScope)
		return
	case tok.jkt != "":
		// A bound token: the DPoP scheme and a proof by its key (RFC 9449 §7).
		if scheme != "DPoP" {
			s.challenge(w, http.StatusUnauthorized, "invalid_token", s.Opts.ChallengeScope)
			return
		}
		p, _, nonce := s.checkDPoP(r, s.MCPURL(), value)
		if nonce {
			s.newNonce(w, true)
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", algs="ES256"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if p == nil || p.jkt != tok.jkt {
			s.challenge(w, http.StatusUnauthorized, "invalid_token", s.Opts.ChallengeScope)
			return
		}
	}
	if s.Opts.RequiredScope != "" && !slices.Contains(strings.Fields(tok.scope), s.Opts.RequiredScope) {
		s.challenge(w, http.StatusForbidden, "insufficient_scope", s.Opts.RequiredScope)
		return
	}
	var msg struct {
		ID     any    `json:"id"`
		Method string `json:"method"`
	}
	_ = json.NewDecoder(r.Body).Decode(&msg)
	if msg.Method == "admin" && s.Opts.StepUpScope != "" && !slices.Contains(strings.Fields(tok.scope), s.Opts.StepUpScope) {
		s.challenge(w, http.StatusForbidden, "insufficient_scope", s.Opts.StepUpScope)
		return
	}
	writeJSON(w, 200, map[string]any{"jsonrpc": "2.0", "id": msg.ID, "result": map[string]any{"method": msg.Method, "scope": tok.scope}})
}

// serveRevoke is RFC 7009 token revocation: the client authenticates as at
// the token endpoint; the token (refresh or access) stops working; an
// unknown token is still a 200 (§2.2).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(r); !ok {
		oauthErr(w, 401, "invalid_client", "client authentication failed")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	delete(s.refresh, tok)
	delete(s.access, tok)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
