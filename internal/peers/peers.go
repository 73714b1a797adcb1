// Package peers starts the real peer servers of ../../peers (a Node
// oidc-provider authorization server, an MCP server built on the official
// TypeScript SDK, and one built on the official Go SDK, peers/gomcp) for
// end-to-end tests and demos.
//
// Typical use in a test:
//
//	as, err := peers.StartAuthServer(ctx, peers.AuthServerOptions{Interactions: "auto"})
//	if err != nil { t.Fatal(err) }
//	t.Cleanup(func() { as.Stop() })
//	mcp, err := peers.StartMCPServer(ctx, as.URL, peers.MCPServerOptions{})
//	...
//
// Both servers listen on 127.0.0.1 only and keep everything in memory. Each
// Process keeps the request-log lines the server prints to stdout (see
// peers/README.md for their format) so that a test can assert on what the
// servers saw. On Linux the servers also get SIGKILL when the process that
// started them dies, so a crashed test run leaves no server behind.
package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultReadyTimeout bounds how long a server may take to print its ready
// line.
const DefaultReadyTimeout = 30 * time.Second

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 3 * time.Second

// DirEnv, when set, names the peers folder and overrides the search.
const DirEnv = "MCP_OAUTH_PEERS_DIR"

// Dir returns the repository's peers/ folder: $MCP_OAUTH_PEERS_DIR if set,
// else peers/ next to the go.mod found by walking up from the working
// directory.
func Dir() (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return checkDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("peers: cannot read the working directory: %w", err)
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return checkDir(filepath.Join(d, "peers"))
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("peers: no go.mod in %s or any parent directory; run from inside the mcp-oauth-wasm repository or set %s", wd, DirEnv)
		}
		d = parent
	}
}

func checkDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	for _, f := range []string{"authserver.mjs", "mcpserver.mjs", "package-lock.json"} {
		if _, err := os.Stat(filepath.Join(abs, f)); err != nil {
			return "", fmt.Errorf("peers: %s is not the peers folder (%s is missing)", abs, f)
		}
	}
	return abs, nil
}

// NodePath returns the node executable on PATH, or an error that says how
// to get one.
func NodePath() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("peers: node is not on PATH (%v); the peer servers need Node.js >= 20 (and npm to install their packages)", err)
	}
	return p, nil
}

var installMu sync.Mutex

// requiredPackages must all be present in node_modules for the servers to
// start; a partial install counts as missing.
var requiredPackages = []string{"oidc-provider", "@modelcontextprotocol/sdk", "express", "jose", "cors", "zod"}

// EnsureInstalled checks that node is on PATH and runs `npm ci` in the peers
// folder when its node_modules is missing or incomplete. A failed install is
// an error carrying npm's output.
func EnsureInstalled() error {
	installMu.Lock()
	defer installMu.Unlock()
	if _, err := NodePath(); err != nil {
		return err
	}
	dir, err := Dir()
	if err != nil {
		return err
	}
	missing := ""
	for _, p := range requiredPackages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(p), "package.json")); err != nil {
			missing = p
			break
		}
	}
	if missing == "" {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("peers: %s/node_modules lacks %s and npm is not on PATH (%v); install Node.js with npm, or run `npm ci` in %s", dir, missing, err, dir)
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("peers: `npm ci` in %s failed: %v\n%s", dir, err, out)
	}
	return nil
}

// AuthServerOptions are authserver.mjs's flags. Zero values leave the
// server's defaults.
type AuthServerOptions struct {
	// Port to listen on; 0 picks a free one. Restarting with the port of a
	// previous run gives the same issuer (with fresh, empty storage).
	Port int
	// Interactions is "auto" (default: login and consent approved by
	// following redirects) or "forms" (HTML forms).
	Interactions string
	// AccessTokenTTL and RefreshTokenTTL are rounded up to whole seconds.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// TokenFormat is "opaque" (default) or "jwt".
	TokenFormat string
	// CORSOrigins restricts browser origins; []string{"*"} allows any.
	// Empty: any loopback origin.
	CORSOrigins []string
	// AccountID is the account auto interactions log in as.
	AccountID string
	// ResourceScopes are the scopes a resource server accepts.
	ResourceScopes []string
	// DenyScopes are never granted by auto interactions.
	DenyScopes []string
	// DPoPNonce requires a server nonce in every DPoP proof at the token
	// endpoint (oidc-provider's DPoP is on in any case).
	DPoPNonce bool
	// IntrospectionClientID / IntrospectionClientSecret: the pre-registered
	// client the MCP server introspects with.
	IntrospectionClientID     string
	IntrospectionClientSecret string

	Common
}

// MCPServerOptions are mcpserver.mjs's flags. Zero values leave the
// server's defaults.
type MCPServerOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Verify is "auto" (default), "introspect" or "jwt".
	Verify                    string
	IntrospectionClientID     string
	IntrospectionClientSecret string
	// MirrorASMetadata also serves the AS metadata at the MCP origin.
	MirrorASMetadata bool
	// DPoP accepts DPoP-bound tokens with their proofs (RFC 9449) and
	// lists ES256 in the PRM; a bound token sent as Bearer is refused.
	DPoP bool

	Common
}

// Common are options of both servers.
type Common struct {
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// Env is added to the inherited environment ("KEY=value").
	Env []string
	// Output, if set, receives every line the server prints (stdout and
	// stderr), prefixed with the server's name: a demo passes os.Stderr.
	Output io.Writer
	// ReadyTimeout bounds the wait for the ready line. Default 30 s.
	ReadyTimeout time.Duration
}

// StartAuthServer starts `node authserver.mjs` and waits until it is ready.
// The Process's URL is the issuer. The server is stopped when ctx is done;
// callers should also call Stop (t.Cleanup) when they finish.
func StartAuthServer(ctx context.Context, opts AuthServerOptions) (*Process, error) {
	args := []string{"authserver.mjs", "--port=" + strconv.Itoa(opts.Port)}
	if opts.Interactions != "" {
		args = append(args, "--interactions="+opts.Interactions)
	}
	if opts.AccessTokenTTL != 0 {
		args = append(args, "--access-token-ttl="+seconds(opts.AccessTokenTTL))
	}
	if opts.RefreshTokenTTL != 0 {
		args = append(args, "--refresh-token-ttl="+seconds(opts.RefreshTokenTTL))
	}
	if opts.TokenFormat != "" {
		args = append(args, "--token-format="+opts.TokenFormat)
	}
	if len(opts.CORSOrigins) > 0 {
		args = append(args, "--cors-origins="+strings.Join(opts.CORSOrigins, ","))
	}
	if opts.AccountID != "" {
		args = append(args, "--account-id="+opts.AccountID)
	}
	if len(opts.ResourceScopes) > 0 {
		args = append(args, "--resource-scopes="+strings.Join(opts.ResourceScopes, " "))
	}
	if len(opts.DenyScopes) > 0 {
		args = append(args, "--deny-scopes="+strings.Join(opts.DenyScopes, " "))
	}
	if opts.DPoPNonce {
		args = append(args, "--dpop-nonce")
	}
	if opts.IntrospectionClientID != "" {
		args = append(args, "--introspection-client-id="+opts.IntrospectionClientID)
	}
	if opts.IntrospectionClientSecret != "" {
		args = append(args, "--introspection-client-secret="+opts.IntrospectionClientSecret)
	}
	return startNode(ctx, "authserver", "issuer", args, opts.Common)
}

// StartMCPServer starts `node mcpserver.mjs` protected by the authorization
// server issuer and waits until it is ready. The Process's URL is the MCP
// endpoint (http://127.0.0.1:PORT/mcp). The server is stopped when ctx is
// done; callers should also call Stop when they finish.
func StartMCPServer(ctx context.Context, issuer string, opts MCPServerOptions) (*Process, error) {
	if issuer == "" {
		return nil, errors.New("peers: StartMCPServer needs the authorization server's issuer")
	}
	args := []string{"mcpserver.mjs", "--issuer=" + issuer, "--port=" + strconv.Itoa(opts.Port)}
	if opts.Verify != "" {
		args = append(args, "--verify="+opts.Verify)
	}
	if opts.IntrospectionClientID != "" {
		args = append(args, "--introspection-client-id="+opts.IntrospectionClientID)
	}
	if opts.IntrospectionClientSecret != "" {
		args = append(args, "--introspection-client-secret="+opts.IntrospectionClientSecret)
	}
	if opts.MirrorASMetadata {
		args = append(args, "--mirror-as-metadata")
	}
	if opts.DPoP {
		args = append(args, "--dpop")
	}
	return startNode(ctx, "mcpserver", "url", args, opts.Common)
}

// GoMCPServerOptions are peers/gomcp's flags. Zero values leave the
// server's defaults.
type GoMCPServerOptions struct {
	// Port to listen on; 0 picks a free one.
	Port                      int
	IntrospectionClientID     string
	IntrospectionClientSecret string

	Common
	// DPoP accepts DPoP-bound tokens with their proofs (--dpop).
	DPoP bool
}

// GoMCPBinaryEnv, when set, names a prebuilt peers/gomcp binary that
// StartGoMCPServer runs instead of building one.
const GoMCPBinaryEnv = "MCP_OAUTH_GOMCP_BIN"

var (
	goMCPOnce sync.Once
	goMCPBin  string
	goMCPErr  error
)

// GoMCPBinary returns the path of the peers/gomcp binary: $MCP_OAUTH_GOMCP_BIN
// if set, else .cache/bin/gomcp in the repository, built with `go build` once
// per process (Go's build cache makes later builds a link step). The binary
// is written under a temporary name and renamed, so that processes building
// it at the same time never run a half-written file.
func GoMCPBinary() (string, error) {
	goMCPOnce.Do(func() {
		if b := os.Getenv(GoMCPBinaryEnv); b != "" {
			goMCPBin = b
			return
		}
		dir, err := Dir()
		if err != nil {
			goMCPErr = err
			return
		}
		root := filepath.Dir(dir)
		goTool, err := exec.LookPath("go")
		if err != nil {
			goMCPErr = fmt.Errorf("peers: go is not on PATH (%v); the Go SDK MCP server (peers/gomcp) is built with it", err)
			return
		}
		binDir := filepath.Join(root, ".cache", "bin")
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			goMCPErr = fmt.Errorf("peers: %w", err)
			return
		}
		tmp, err := os.CreateTemp(binDir, "gomcp-*.tmp")
		if err != nil {
			goMCPErr = fmt.Errorf("peers: %w", err)
			return
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		cmd := exec.Command(goTool, "build", "-o", tmp.Name(), "./peers/gomcp")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			goMCPErr = fmt.Errorf("peers: go build ./peers/gomcp in %s failed: %v\n%s", root, err, out)
			return
		}
		bin := filepath.Join(binDir, "gomcp")
		if err := os.Rename(tmp.Name(), bin); err != nil {
			goMCPErr = fmt.Errorf("peers: %w", err)
			return
		}
		goMCPBin = bin
	})
	return goMCPBin, goMCPErr
}

// StartGoMCPServer starts the MCP server on the official Go SDK
// (peers/gomcp, built by GoMCPBinary) protected by the authorization server
// issuer, and waits until it is ready. The Process's URL is the MCP endpoint
// (http://127.0.0.1:PORT/mcp); its Name is "gomcp". The server is stopped when
// ctx is done; callers should also call Stop when they finish.
func StartGoMCPServer(ctx context.Context, issuer string, opts GoMCPServerOptions) (*Process, error) {
	if issuer == "" {
		return nil, errors.New("peers: StartGoMCPServer needs the authorization server's issuer")
	}
	bin, err := GoMCPBinary()
	if err != nil {
		return nil, err
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	args := []string{"--issuer=" + issuer, "--port=" + strconv.Itoa(opts.Port)}
	if opts.IntrospectionClientID != "" {
		args = append(args, "--introspection-client-id="+opts.IntrospectionClientID)
	}
	if opts.IntrospectionClientSecret != "" {
		args = append(args, "--introspection-client-secret="+opts.IntrospectionClientSecret)
	}
	if opts.DPoP {
		args = append(args, "--dpop")
	}
	return start(ctx, "gomcp", "url", bin, dir, args, opts.Common)
}

func seconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// Process is a running peer server.
type Process struct {
	// Name is "authserver", "mcpserver" or "gomcp".
	Name string
	// URL is the issuer (authserver) or the MCP endpoint (mcpserver, gomcp).
	URL string
	// Args is the command line after the program ("node" or the gomcp binary).
	Args []string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and its output is read
	err  error         // cmd.Wait's result, set before done closes

	mu     sync.Mutex
	stdout []string
	stderr []string
	ready  chan string // receives the first ready line
	output io.Writer

	stopOnce sync.Once
}

// maxStderrLines bounds the stderr kept (stdout, the request log, is kept
// whole: tests assert on it).
const maxStderrLines = 200

// startNode starts one of the Node servers in the peers folder.
func startNode(ctx context.Context, name, urlField string, args []string, common Common) (*Process, error) {
	if err := EnsureInstalled(); err != nil {
		return nil, err
	}
	node, err := NodePath()
	if err != nil {
		return nil, err
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return start(ctx, name, urlField, node, dir, args, common)
}

// start runs program with args in dir and waits for its ready line.
func start(ctx context.Context, name, urlField, program, dir string, args []string, common Common) (*Process, error) {
	args = append(args, common.ExtraArgs...)
	p := &Process{
		Name:   name,
		Args:   args,
		done:   make(chan struct{}),
		ready:  make(chan string, 1),
		output: common.Output,
	}
	cmd := exec.Command(program, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), common.Env...)
	cmd.Stdout = &lineWriter{line: p.stdoutLine}
	cmd.Stderr = &lineWriter{line: p.stderrLine}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = stopGrace
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("peers: starting %s (%s %s) failed: %w", name, filepath.Base(program), strings.Join(args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		cmd.Stdout.(*lineWriter).flush()
		cmd.Stderr.(*lineWriter).flush()
		close(p.done)
	}()

	timeout := common.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-p.ready:
	case <-p.done:
		return nil, fmt.Errorf("peers: %s exited before it was ready (%v)%s", name, p.err, p.tail())
	case <-timer.C:
		p.Stop()
		return nil, fmt.Errorf("peers: %s printed no ready line within %s%s", name, timeout, p.tail())
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("peers: %s: gave up waiting for the ready line: %w%s", name, ctx.Err(), p.tail())
	}
	var ready map[string]any
	_ = json.Unmarshal([]byte(line), &ready)
	u, _ := ready[urlField].(string)
	if _, err := url.Parse(u); u == "" || err != nil {
		p.Stop()
		return nil, fmt.Errorf("peers: %s's ready line %s has no usable %q%s", name, line, urlField, p.tail())
	}
	p.URL = u

	// The server lives no longer than ctx.
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.done:
		}
	}()
	return p, nil
}

func (p *Process) stdoutLine(s string) {
	p.mu.Lock()
	p.stdout = append(p.stdout, s)
	p.mu.Unlock()
	p.mirror(s)
	if strings.HasPrefix(s, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil && m["ready"] == true {
			select {
			case p.ready <- s:
			default:
			}
		}
	}
}

func (p *Process) stderrLine(s string) {
	p.mu.Lock()
	p.stderr = append(p.stderr, s)
	if len(p.stderr) > maxStderrLines {
		p.stderr = p.stderr[len(p.stderr)-maxStderrLines:]
	}
	p.mu.Unlock()
	p.mirror(s)
}

func (p *Process) mirror(s string) {
	if p.output != nil {
		fmt.Fprintf(p.output, "[%s] %s\n", p.Name, s)
	}
}

// tail formats the last lines of output for an error message.
func (p *Process) tail() string {
	const n = 30
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, part := range []struct {
		what  string
		lines []string
	}{{"stdout", p.stdout}, {"stderr", p.stderr}} {
		lines := part.lines
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		if len(lines) == 0 {
			fmt.Fprintf(&b, "\n--- %s: (empty)", part.what)
			continue
		}
		fmt.Fprintf(&b, "\n--- %s (last %d lines):\n%s", part.what, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Logs returns the lines the server has printed to stdout so far: its
// request log (one line per request, see peers/README.md) and the ready
// line. It keeps working after Stop.
func (p *Process) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stdout...)
}

// Stderr returns the last lines (at most 200) the server printed to stderr.
func (p *Process) Stderr() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stderr...)
}

// LogsMatching returns the stdout lines that contain every one of substrs.
func (p *Process) LogsMatching(substrs ...string) []string {
	var out []string
	for _, l := range p.Logs() {
		ok := true
		for _, s := range substrs {
			if !strings.Contains(l, s) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// WaitForLog waits until a stdout line contains every one of substrs and
// returns it. The MCP server logs a request when its response has been
// sent, so a client can see the response slightly before the log line.
func (p *Process) WaitForLog(ctx context.Context, timeout time.Duration, substrs ...string) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if m := p.LogsMatching(substrs...); len(m) > 0 {
			return m[0], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("peers: %s logged no line containing %q within %s%s", p.Name, substrs, timeout, p.tail())
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Port is the port of the server's URL.
func (p *Process) Port() int {
	u, err := url.Parse(p.URL)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(u.Port())
	return n
}

// PID is the server's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the server has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop ends the server and its process group: SIGTERM, then SIGKILL after
// 3 s, and waits until it has exited and its output is read. It is safe to
// call more than once and after the server exited on its own.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		signalGroup(p.cmd, false)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			signalGroup(p.cmd, true)
			<-p.done
		}
	})
	<-p.done
}

// lineWriter splits what a process writes into lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		s := strings.TrimRight(string(w.buf.Next(i+1)), "\r\n")
		w.line(s)
	}
	return len(b), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.line(strings.TrimRight(w.buf.String(), "\r\n"))
		w.buf.Reset()
	}
}
