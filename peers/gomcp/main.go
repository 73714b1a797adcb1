// Command gomcp is a real MCP server built on the official Go SDK
// (github.com/modelcontextprotocol/go-sdk), protected by OAuth, for
// mcp-oauth-wasm tests: the Go counterpart of ../mcpserver.mjs. It listens on
// 127.0.0.1 only.
//
//	go run ./peers/gomcp --issuer=http://127.0.0.1:ASPORT [flags]   (env in brackets)
//
//	--port=N                          [MCP_PORT]    listen port; 0 (default) = a free one
//	--issuer=URL                      [MCP_ISSUER]  the authorization server (required); its
//	                                  /.well-known/oauth-authorization-server is fetched at
//	                                  startup (retried for about 10 s)
//	--introspection-client-id=ID      [MCP_INTROSPECTION_CLIENT_ID]     (default mcp-resource-server)
//	--introspection-client-secret=S   [MCP_INTROSPECTION_CLIENT_SECRET] (default mcp-resource-server-secret)
//
// Endpoints:
//
//	POST/GET/DELETE /mcp   Streamable HTTP (the SDK's StreamableHTTPHandler, stateful),
//	                       behind the SDK's auth.RequireBearerToken
//	GET /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (the SDK's
//	                       auth.ProtectedResourceMetadataHandler): resource = the /mcp URL,
//	                       authorization_servers = [issuer], scopes_supported = ["mcp:tools"]
//
// Tokens are verified by RFC 7662 introspection at the authorization server, as
// the pre-registered client above, on every request: the token must be active,
// a Bearer token from the issuer, with aud = this server's /mcp URL and an exp.
//
//	no/invalid/expired/wrong-audience token -> 401
//	     WWW-Authenticate: Bearer resource_metadata="<PRM URL>", scope="mcp:tools"
//	     (the SDK's challenge: no error="invalid_token")
//	token without mcp:tools -> 403 (the SDK's, same challenge)
//	tools/call admin_stats with a token without mcp:admin -> 403
//	     WWW-Authenticate: Bearer error="insufficient_scope", scope="mcp:tools mcp:admin",
//	                       resource_metadata="<PRM URL>", error_description="…"
//	     (at the HTTP layer, before the MCP handler, batches included)
//
// Tools: echo {message} (mcp:tools), admin_stats {} (mcp:admin).
//
// CORS: any origin; allows Authorization, Content-Type, Mcp-Session-Id,
// Mcp-Protocol-Version, Last-Event-ID, Accept, DPoP; exposes
// WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, DPoP-Nonce;
// preflight answers 204.
//
// Stdout: one line per request, in mcpserver.mjs's format (never a token value),
// and exactly one JSON line when ready: {"ready":true,"url":"http://127.0.0.1:PORT/mcp"}.
// Errors go to stderr. SIGTERM or SIGINT stops it; a bad flag exits with code 2.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

const (
	toolsScope = "mcp:tools"
	adminScope = "mcp:admin"
	// maxBody bounds the request bodies this server peeks at (the SDK's own
	// limit applies to what it reads).
	maxBody = 4 << 20
)

func main() {
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	port := flag.String("port", env("MCP_PORT", "0"), "listen port; 0 picks a free one")
	issuer := flag.String("issuer", env("MCP_ISSUER", ""), "the authorization server's issuer (required)")
	clientID := flag.String("introspection-client-id", env("MCP_INTROSPECTION_CLIENT_ID", "mcp-resource-server"), "client id for token introspection")
	clientSecret := flag.String("introspection-client-secret", env("MCP_INTROSPECTION_CLIENT_SECRET", "mcp-resource-server-secret"), "client secret for token introspection")
	flag.BoolVar(&dpopOn, "dpop", env("MCP_DPOP", "") == "1", "accept DPoP-bound tokens with their proofs (RFC 9449) before the SDK's Bearer middleware")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gomcp --issuer=URL [flags]\n\nAn OAuth-protected MCP server on the official Go SDK, for tests.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	n, err := strconv.Atoi(*port)
	switch {
	case flag.NArg() > 0:
		fail("unexpected arguments %q", flag.Args())
	case err != nil || n < 0 || n > 65535:
		fail("bad --port %q", *port)
	case *issuer == "":
		fail("--issuer=<authorization server URL> is required")
	}
	if u, err := url.Parse(*issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("--issuer %q is not an http(s) URL", *issuer)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, n, *issuer, *clientID, *clientSecret); err != nil {
		fmt.Fprintf(os.Stderr, "gomcp: %v\n", err)
		os.Exit(1)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gomcp: "+format+"\n", args...)
	os.Exit(2)
}

// asMetadata is the part of the authorization server's metadata this server uses.
type asMetadata struct {
	Issuer                string `json:"issuer"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

func run(ctx context.Context, port int, issuer, clientID, clientSecret string) error {
	// Bind first: port 0 must resolve before the URLs are known.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	resource := base + "/mcp"
	prmURL := base + "/.well-known/oauth-protected-resource/mcp"

	meta, err := fetchASMetadata(ctx, issuer)
	if err != nil {
		return err
	}
	if meta.Issuer != strings.TrimSuffix(issuer, "/") && meta.Issuer != issuer {
		return fmt.Errorf("the AS metadata's issuer %s is not --issuer %s", meta.Issuer, issuer)
	}
	if meta.IntrospectionEndpoint == "" {
		return errors.New("the authorization server has no introspection_endpoint")
	}

	v := &verifier{
		endpoint:     meta.IntrospectionEndpoint,
		issuer:       meta.Issuer,
		resource:     resource,
		clientID:     clientID,
		clientSecret: clientSecret,
		http:         &http.Client{Timeout: 10 * time.Second},
	}
	stats := &stats{started: time.Now().UTC()}
	server := newServer(stats)
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	bearer := auth.RequireBearerToken(v.verify, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: prmURL,
		Scopes:              []string{toolsScope},
	})

	mux := http.NewServeMux()
	mux.Handle("/mcp", dpopFront(resource, bearer(requireAdminForAdminTool(prmURL, mcpHandler))))
	prm := &oauthex.ProtectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   []string{meta.Issuer},
		ScopesSupported:        []string{toolsScope},
		ResourceName:           "mcp-oauth-wasm test MCP server (Go SDK)",
		BearerMethodsSupported: []string{"header"},
	}
	if dpopOn {
		prm.DPOPSigningAlgValuesSupported = []string{"ES256"}
	}
	mux.Handle("/.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(prm))

	srv := &http.Server{
		Handler:           logRequests(stats, cors(mux)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	ready, _ := json.Marshal(map[string]any{"ready": true, "url": resource})
	fmt.Println(string(ready))

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Open SSE streams never end on their own: give requests a moment, then close.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	return nil
}

func fetchASMetadata(ctx context.Context, issuer string) (*asMetadata, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/oauth-authorization-server"
	client := &http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for range 50 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		res, err := client.Do(req)
		if err == nil {
			var m asMetadata
			if res.StatusCode == http.StatusOK {
				err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&m)
			} else {
				err = fmt.Errorf("HTTP %d", res.StatusCode)
			}
			res.Body.Close()
			if err == nil {
				return &m, nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("cannot fetch %s: %v", u, lastErr)
}

// ---------------------------------------------------------------- tokens ----

// verifier checks tokens by introspection at the authorization server, as
// mcpserver.mjs does.
type verifier struct {
	endpoint, issuer, resource string
	clientID, clientSecret     string
	http                       *http.Client
}

type introspection struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	Cnf       struct {
		JKT string `json:"jkt"` // RFC 9449 §6: bound to this key
	} `json:"cnf"`
	Iss      string          `json:"iss"`
	Aud      json.RawMessage `json:"aud"`
	Scope    string          `json:"scope"`
	Exp      int64           `json:"exp"`
	Sub      string          `json:"sub"`
	ClientID string          `json:"client_id"`
}

func (v *verifier) verify(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
	info, err := v.introspect(ctx, token)
	if rl := logRecordFrom(r.Context()); rl != nil {
		rl.mu.Lock()
		if err != nil {
			rl.verifyErr = "server_error"
			if errors.Is(err, auth.ErrInvalidToken) {
				rl.verifyErr = "invalid_token"
			}
			rl.verifyErr += " (" + err.Error() + ")"
		} else {
			rl.clientID, rl.scopes = info.Extra["client_id"].(string), info.Scopes
		}
		rl.mu.Unlock()
	}
	return info, err
}

func (v *verifier) introspect(ctx context.Context, token string) (*auth.TokenInfo, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: form-encode the credentials before Basic, as mcpserver.mjs does.
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.clientSecret))
	res, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection failed: %v", err) // not ErrInvalidToken: 500
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection failed: HTTP %d", res.StatusCode)
	}
	var data introspection
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&data); err != nil {
		return nil, fmt.Errorf("introspection failed: %v", err)
	}
	invalid := func(why string) error { return fmt.Errorf("%w: %s", auth.ErrInvalidToken, why) }
	proofJKT, _ := ctx.Value(dpopKey{}).(string)
	switch {
	case !data.Active:
		return nil, invalid("token is not active")
	case data.Cnf.JKT != "" && proofJKT != data.Cnf.JKT:
		return nil, invalid("a DPoP-bound token without a proof by its key")
	case data.Cnf.JKT == "" && !strings.EqualFold(data.TokenType, "Bearer"):
		return nil, invalid("not a Bearer access token")
	case data.Iss != "" && data.Iss != v.issuer:
		return nil, invalid("token issuer mismatch")
	case !audienceIncludes(data.Aud, v.resource):
		return nil, invalid("token audience is not this resource")
	case data.Exp == 0:
		return nil, invalid("token has no exp")
	case time.Unix(data.Exp, 0).Before(time.Now()):
		return nil, invalid("token expired")
	}
	return &auth.TokenInfo{
		Scopes:     strings.Fields(data.Scope),
		Expiration: time.Unix(data.Exp, 0),
		UserID:     data.Sub,
		Extra:      map[string]any{"client_id": data.ClientID, "sub": data.Sub, "via": "introspection"},
	}, nil
}

// audienceIncludes reports whether aud (a string or an array of strings)
// names resource exactly.
func audienceIncludes(aud json.RawMessage, resource string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == resource
	}
	var many []string
	if json.Unmarshal(aud, &many) == nil {
		return slices.Contains(many, resource)
	}
	return false
}

// ---------------------------------------------------------------- step-up ----

type rpcMessage struct {
	Method string `json:"method"`
	Params struct {
		Name string `json:"name"`
	} `json:"params"`
}

// rpcMessages decodes a JSON-RPC message or batch; nil when body is neither.
func rpcMessages(body []byte) []rpcMessage {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '[' {
		var batch []rpcMessage
		if json.Unmarshal(body, &batch) != nil {
			return nil
		}
		return batch
	}
	var one rpcMessage
	if json.Unmarshal(body, &one) != nil {
		return nil
	}
	return []rpcMessage{one}
}

// peekBody reads r's body (up to maxBody) and puts it back.
func peekBody(r *http.Request) []byte {
	if r.Body == nil || r.Method != http.MethodPost {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	if err != nil || len(b) > maxBody {
		return nil
	}
	return b
}

// requireAdminForAdminTool answers a tools/call of admin_stats with 403
// insufficient_scope when the token lacks mcp:admin. A tool-level error would
// be a 200 JSON-RPC result, which a client cannot act on.
func requireAdminForAdminTool(prmURL string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wantsAdmin := slices.ContainsFunc(rpcMessages(peekBody(r)), func(m rpcMessage) bool {
			return m.Method == "tools/call" && m.Params.Name == "admin_stats"
		})
		if ti := auth.TokenInfoFromContext(r.Context()); wantsAdmin && (ti == nil || !slices.Contains(ti.Scopes, adminScope)) {
			desc := "admin_stats requires " + adminScope
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="%s %s", resource_metadata="%s", error_description="%s"`, toolsScope, adminScope, prmURL, desc))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "insufficient_scope", "error_description": desc})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ---------------------------------------------------------------- MCP ----

type stats struct {
	started   time.Time
	requests  atomic.Int64
	toolCalls atomic.Int64
}

type echoArgs struct {
	Message string `json:"message"`
}

func newServer(st *stats) *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: "mcp-oauth-wasm-go-test-server", Version: "0.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{
		Name:        "echo",
		Title:       "Echo",
		Description: "Echoes the message back. Requires scope " + toolsScope + ".",
	}, func(_ context.Context, _ *mcp.CallToolRequest, args echoArgs) (*mcp.CallToolResult, any, error) {
		st.toolCalls.Add(1)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: args.Message}}}, nil, nil
	})
	mcp.AddTool(server, &mcp.Tool{
		Name:        "admin_stats",
		Title:       "Admin stats",
		Description: "Server statistics. Requires scope " + adminScope + " (HTTP 403 insufficient_scope otherwise).",
	}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		st.toolCalls.Add(1)
		var scopes []string
		if req.Extra != nil && req.Extra.TokenInfo != nil {
			scopes = req.Extra.TokenInfo.Scopes
		}
		if !slices.Contains(scopes, adminScope) {
			// Unreachable through HTTP (403 above); kept as defence in depth.
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "requires " + adminScope}}}, nil, nil
		}
		b, _ := json.Marshal(map[string]any{
			"started":   st.started.Format(time.RFC3339),
			"requests":  st.requests.Load(),
			"toolCalls": st.toolCalls.Load(),
			"scopes":    scopes,
		})
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil, nil
	})
	return server
}

// ---------------------------------------------------------------- HTTP ----

func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, DPoP-Nonce")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, Accept, DPoP")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRecord collects what the log line shows about a request; the token
// verifier fills in the client and scopes.
type logRecord struct {
	mu        sync.Mutex
	clientID  string
	scopes    []string
	verifyErr string
}

type logRecordKey struct{}

func logRecordFrom(ctx context.Context) *logRecord {
	rl, _ := ctx.Value(logRecordKey{}).(*logRecord)
	return rl
}

// statusWriter records the status; Unwrap lets http.ResponseController flush
// SSE streams through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var challengeError = regexp.MustCompile(`error="([^"]+)"(?:, error_description="([^"]*)")?`)

// logRequests prints one line per request when its response is done, in
// mcpserver.mjs's format. Never a token value.
func logRequests(st *stats, next http.Handler) http.Handler {
	var out sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		st.requests.Add(1)
		rl := &logRecord{}
		r = r.WithContext(context.WithValue(r.Context(), logRecordKey{}, rl))
		var rpc []string
		for _, m := range rpcMessages(peekBody(r)) {
			switch {
			case m.Method == "tools/call":
				rpc = append(rpc, "tools/call("+m.Params.Name+")")
			case m.Method != "":
				rpc = append(rpc, m.Method)
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			parts := []string{"[mcp] " + r.Method + " " + r.URL.Path}
			if len(rpc) > 0 {
				parts = append(parts, "rpc="+strings.Join(rpc, ","))
			}
			if sid := r.Header.Get("Mcp-Session-Id"); sid != "" {
				parts = append(parts, "session="+sid[:min(8, len(sid))])
			}
			if r.Header.Get("Authorization") != "" {
				parts = append(parts, "auth=bearer")
			} else {
				parts = append(parts, "auth=none")
			}
			rl.mu.Lock()
			if rl.clientID != "" || rl.scopes != nil {
				parts = append(parts, fmt.Sprintf("client_id=%s scope=%q", rl.clientID, strings.Join(rl.scopes, " ")))
			}
			verifyErr := rl.verifyErr
			rl.mu.Unlock()
			if o := r.Header.Get("Origin"); o != "" {
				parts = append(parts, "origin="+o)
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			parts = append(parts, "-> "+strconv.Itoa(status))
			if m := challengeError.FindStringSubmatch(sw.Header().Get("WWW-Authenticate")); m != nil {
				e := "error=" + m[1]
				if m[2] != "" {
					e += " (" + m[2] + ")"
				}
				parts = append(parts, e)
			} else if verifyErr != "" {
				parts = append(parts, "error="+verifyErr)
			}
			parts = append(parts, strconv.FormatInt(time.Since(started).Milliseconds(), 10)+"ms")
			out.Lock()
			fmt.Println(strings.Join(parts, " "))
			out.Unlock()
		}()
		next.ServeHTTP(sw, r)
	})
}

// dpopOn is --dpop.
var dpopOn bool

// dpopKey carries the thumbprint of the key whose proof came with the
// request (dpopFront) to the verifier, which checks the token's cnf.jkt.
type dpopKey struct{}

var (
	dpopMu   sync.Mutex
	dpopJTIs = map[string]bool{}
)

// dpopFront accepts DPoP-bound tokens (RFC 9449 §7) in front of the SDK's
// Bearer middleware, which knows only Bearer: the proof is verified
// (mcpoauthtest.VerifyDPoPProof, plus jti replay here), its key's
// thumbprint goes to the verifier, and the request goes on as Bearer.
func dpopFront(resource string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !dpopOn || !strings.EqualFold(scheme, "DPoP") {
			next.ServeHTTP(w, r)
			return
		}
		refuse := func(why string) {
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token", algs="ES256"`)
			http.Error(w, "invalid DPoP proof: "+why, http.StatusUnauthorized)
		}
		proof, err := mcpoauthtest.VerifyDPoPProof(r.Header.Get("DPoP"), r.Method, resource, token)
		if err != nil {
			refuse(err.Error())
			return
		}
		dpopMu.Lock()
		seen := dpopJTIs[proof.JTI]
		dpopJTIs[proof.JTI] = true
		dpopMu.Unlock()
		if seen {
			refuse("jti replayed")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), dpopKey{}, proof.JKT))
		r.Header.Set("Authorization", "Bearer "+token)
		next.ServeHTTP(w, r)
	})
}
