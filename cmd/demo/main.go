// Command demo serves the mcp-oauth-wasm demo page together with a local
// authorization server (oidc-provider with its login and consent forms) and
// an MCP server (the official TypeScript SDK), both from ../../peers, and
// with -go-mcp a second MCP server on the official Go SDK (peers/gomcp).
//
//	go run ./cmd/demo                       # http://127.0.0.1:8400/demo/
//	go run ./cmd/demo -addr 127.0.0.1:0     # any free port
//	go run ./cmd/demo -go-mcp               # also the Go SDK server: /demo/?mcp=go
//
// It serves the repository's web/ folder (the browser module, callback.html
// and web/demo/) with no caching, /demo/config.json with the MCP servers'
// URLs (mcpUrl, and goMcpUrl with -go-mcp) and the issuer, and redirects / to
// /demo/. The page takes mcpUrl, or goMcpUrl when opened as /demo/?mcp=go.
// Ctrl-C stops the page server and the peer servers.
//
// -test-hooks adds endpoints for the browser tests (e2e/), never for
// a server others can reach:
//
//	POST /demo/test/restart-as   stops the authorization server and starts a new
//	                             one on the same port with empty storage (every
//	                             client registration, session and token is gone);
//	                             answers {"issuer": …} once it is ready
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/internal/peers"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("demo: ")
	addr := flag.String("addr", "127.0.0.1:8400", "address of the demo page server (127.0.0.1:0 picks a free port)")
	web := flag.String("web", "", "the folder to serve (default: the repository's web/)")
	readyFile := flag.String("ready-file", "", "when everything is ready, write the demo page's URL to this file")
	verbose := flag.Bool("v", false, "print the peer servers' request logs and the page server's requests")
	tokenTTL := flag.Duration("access-token-ttl", 0, "lifetime of access tokens (default: the authorization server's, 1h); e.g. 90s to watch a refresh")
	goMCP := flag.Bool("go-mcp", false, "also start the MCP server on the official Go SDK (peers/gomcp; built with go build); the page uses it as /demo/?mcp=go")
	testHooks := flag.Bool("test-hooks", false, "serve POST /demo/test/restart-as (restart the authorization server with empty storage), for the browser tests")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./cmd/demo [flags]\n\nServes the mcp-oauth-wasm demo page with a local authorization server and MCP server.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, options{addr: *addr, web: *web, readyFile: *readyFile, verbose: *verbose, tokenTTL: *tokenTTL, goMCP: *goMCP, testHooks: *testHooks}); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

type options struct {
	addr, web, readyFile string
	verbose              bool
	tokenTTL             time.Duration
	goMCP, testHooks     bool
}

func run(ctx context.Context, o options) error {
	webDir, err := findWebDir(o.web)
	if err != nil {
		return err
	}
	for _, f := range []string{"mcp-oauth.js", "mcp-oauth.wasm", "wasm_exec.js", "callback.html"} {
		if _, err := os.Stat(filepath.Join(webDir, f)); err != nil {
			log.Printf("warning: %s is missing; build the browser module first (./build.sh)", filepath.Join(webDir, f))
		}
	}
	if err := ensureSDKBundle(filepath.Join(webDir, "demo")); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	host, port := pageHostPort(ln.Addr().(*net.TCPAddr))
	demoURL := "http://" + net.JoinHostPort(host, port) + "/demo/"

	if err := peers.EnsureInstalled(); err != nil {
		return err
	}
	var peerOut io.Writer
	if o.verbose {
		peerOut = os.Stderr
	}
	// The page's origin may be reached as 127.0.0.1 or localhost.
	origins := []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
	if host != "127.0.0.1" {
		origins = append(origins, "http://"+net.JoinHostPort(host, port))
	}
	as, err := startAuthServer(ctx, peers.AuthServerOptions{
		Interactions:   "forms",
		CORSOrigins:    origins,
		AccessTokenTTL: o.tokenTTL,
		Common:         peers.Common{Output: peerOut},
	})
	if err != nil {
		return err
	}
	defer as.stop()
	issuer := as.process().URL
	mcp, err := peers.StartMCPServer(ctx, issuer, peers.MCPServerOptions{Common: peers.Common{Output: peerOut}})
	if err != nil {
		return err
	}
	defer mcp.Stop()
	cfg := demoConfig{MCPURL: mcp.URL, Issuer: issuer}
	var goMCPDone <-chan struct{} // nil (never ready) without -go-mcp
	if o.goMCP {
		gomcp, err := peers.StartGoMCPServer(ctx, issuer, peers.GoMCPServerOptions{Common: peers.Common{Output: peerOut}})
		if err != nil {
			return err
		}
		defer gomcp.Stop()
		cfg.GoMCPURL = gomcp.URL
		goMCPDone = gomcp.Done()
	}

	var hooks http.Handler
	if o.testHooks {
		hooks = testHooksHandler(as)
	}
	srv := &http.Server{
		Handler:           newHandler(webDir, cfg, hooks, o.verbose),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	fmt.Printf("Demo: %s\n", demoURL)
	fmt.Printf("  authorization server: %s (oidc-provider; sign in with any login and any password, then approve the consent form)\n", issuer)
	fmt.Printf("  MCP server:           %s (tools: echo needs mcp:tools, admin_stats needs mcp:admin and shows a step-up)\n", mcp.URL)
	if cfg.GoMCPURL != "" {
		fmt.Printf("  MCP server (Go SDK):  %s (the same tools; open %s?mcp=go)\n", cfg.GoMCPURL, demoURL)
	}
	if o.testHooks {
		fmt.Printf("  test hooks: POST %s/demo/test/restart-as\n", strings.TrimSuffix(demoURL, "/demo/"))
	}
	fmt.Printf("  serving %s; Ctrl-C stops everything\n", webDir)
	if o.readyFile != "" {
		if err := writeFileAtomic(o.readyFile, demoURL+"\n"); err != nil {
			return err
		}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("page server: %w", err)
	case <-as.exited:
		return errors.New("the authorization server exited")
	case <-mcp.Done():
		return errors.New("the MCP server exited")
	case <-goMCPDone:
		return errors.New("the Go SDK MCP server exited")
	}
	fmt.Println("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

// authServer is the running authorization server, which a test hook may
// restart.
type authServer struct {
	ctx  context.Context
	opts peers.AuthServerOptions

	mu         sync.Mutex
	p          *peers.Process
	restarting bool
	stopped    bool
	exited     chan struct{} // closed when the server exits other than by restart or stop
	exitOnce   sync.Once
}

func startAuthServer(ctx context.Context, opts peers.AuthServerOptions) (*authServer, error) {
	p, err := peers.StartAuthServer(ctx, opts)
	if err != nil {
		return nil, err
	}
	a := &authServer{ctx: ctx, opts: opts, p: p, exited: make(chan struct{})}
	a.watch(p)
	return a, nil
}

func (a *authServer) process() *peers.Process {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.p
}

// watch reports p's exit unless a restart or stop caused it.
func (a *authServer) watch(p *peers.Process) {
	go func() {
		<-p.Done()
		a.mu.Lock()
		unexpected := a.p == p && !a.restarting && !a.stopped
		a.mu.Unlock()
		if unexpected {
			a.exitOnce.Do(func() { close(a.exited) })
		}
	}()
}

// restart stops the server and starts a new one on the same port: the same
// issuer with empty storage.
func (a *authServer) restart() (*peers.Process, error) {
	a.mu.Lock()
	if a.stopped || a.restarting {
		a.mu.Unlock()
		return nil, errors.New("the authorization server is stopping or restarting")
	}
	a.restarting = true
	old := a.p
	a.mu.Unlock()

	old.Stop()
	opts := a.opts
	opts.Port = old.Port()
	p, err := peers.StartAuthServer(a.ctx, opts)

	a.mu.Lock()
	defer a.mu.Unlock()
	a.restarting = false
	if err != nil {
		a.exitOnce.Do(func() { close(a.exited) })
		return nil, err
	}
	if p.URL != old.URL {
		p.Stop()
		a.exitOnce.Do(func() { close(a.exited) })
		return nil, fmt.Errorf("the restarted authorization server's issuer is %s, not %s", p.URL, old.URL)
	}
	a.p = p
	a.watch(p)
	return p, nil
}

func (a *authServer) stop() {
	a.mu.Lock()
	a.stopped = true
	p := a.p
	a.mu.Unlock()
	p.Stop()
}

// testHooksHandler serves /demo/test/* (with -test-hooks only).
func testHooksHandler(as *authServer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /demo/test/restart-as", func(w http.ResponseWriter, r *http.Request) {
		p, err := as.restart()
		if err != nil {
			log.Printf("test hook: restarting the authorization server failed: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		log.Printf("test hook: restarted the authorization server at %s with empty storage", p.URL)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.URL})
	})
	return mux
}

// pageHostPort is the host and port to print for the listener: an
// unspecified address (0.0.0.0, ::) is reached as 127.0.0.1.
func pageHostPort(a *net.TCPAddr) (string, string) {
	host := a.IP.String()
	if a.IP.IsUnspecified() || a.IP == nil {
		host = "127.0.0.1"
	}
	return host, strconv.Itoa(a.Port)
}

// findWebDir returns dir, or the web/ folder beside the repository's peers/.
func findWebDir(dir string) (string, error) {
	if dir == "" {
		p, err := peers.Dir()
		if err != nil {
			return "", fmt.Errorf("cannot find the repository's web/ folder (pass -web): %w", err)
		}
		dir = filepath.Join(filepath.Dir(p), "web")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(filepath.Join(abs, "demo", "index.html")); err != nil || st.IsDir() {
		return "", fmt.Errorf("%s has no demo/index.html; pass the repository's web/ folder with -web", abs)
	}
	return abs, nil
}

// ensureSDKBundle builds demo/mcp-sdk.js (the MCP TypeScript SDK client for
// the browser) with npm when it is missing or older than the lock file.
func ensureSDKBundle(demoDir string) error {
	bundle := filepath.Join(demoDir, "mcp-sdk.js")
	lock := filepath.Join(demoDir, "package-lock.json")
	bst, berr := os.Stat(bundle)
	lst, lerr := os.Stat(lock)
	if berr == nil && (lerr != nil || !lst.ModTime().After(bst.ModTime())) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s is missing and npm is not on PATH to build it (install Node.js with npm, then run `npm ci && npm run build` in %s)", bundle, demoDir)
	}
	steps := [][]string{{"run", "build"}}
	if _, err := os.Stat(filepath.Join(demoDir, "node_modules", "esbuild", "package.json")); err != nil {
		steps = append([][]string{{"ci", "--no-audit", "--no-fund"}}, steps...)
	} else if _, err := os.Stat(filepath.Join(demoDir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		steps = append([][]string{{"ci", "--no-audit", "--no-fund"}}, steps...)
	}
	for _, args := range steps {
		log.Printf("building the MCP SDK bundle: npm %s (in %s)", strings.Join(args, " "), demoDir)
		cmd := exec.Command(npm, args...)
		cmd.Dir = demoDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm %s in %s failed: %w\n%s", strings.Join(args, " "), demoDir, err, out)
		}
	}
	if _, err := os.Stat(bundle); err != nil {
		return fmt.Errorf("npm run build did not produce %s", bundle)
	}
	return nil
}

// contentTypes are set explicitly: the system's mime.types must not decide
// whether a browser accepts the wasm or a module script.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".wasm": "application/wasm",
	".png":  "image/png",
	".svg":  "image/svg+xml",
	".ts":   "text/plain; charset=utf-8",
	".map":  "application/json",
}

// demoConfig is /demo/config.json.
type demoConfig struct {
	MCPURL   string `json:"mcpUrl"`             // the TypeScript SDK server
	GoMCPURL string `json:"goMcpUrl,omitempty"` // the Go SDK server (-go-mcp)
	Issuer   string `json:"issuer"`
}

// newHandler serves webDir and /demo/config.json, and hooks (nil without
// -test-hooks) under /demo/test/.
func newHandler(webDir string, cfg demoConfig, hooks http.Handler, verbose bool) http.Handler {
	files := http.FileServer(http.Dir(webDir))
	config, _ := json.Marshal(cfg)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if hooks != nil && strings.HasPrefix(r.URL.Path, "/demo/test/") {
			hooks.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		switch p {
		case "/":
			http.Redirect(w, r, "/demo/", http.StatusFound)
			return
		case "/demo/config.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write(config)
			return
		}
		for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
			// No node_modules, no dotfiles (.gitignore).
			if seg == "node_modules" || strings.HasPrefix(seg, ".") {
				http.NotFound(w, r)
				return
			}
		}
		if ct, ok := contentTypes[path.Ext(p)]; ok {
			w.Header().Set("Content-Type", ct)
		}
		files.ServeHTTP(w, r)
	})
	if !verbose {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		log.Printf("%s %s → %d", r.Method, r.URL.Path, rec.status) // the path only: a callback's query holds a code
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func writeFileAtomic(name, content string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	return nil
}
