//go:build !js

package main

// The recording proxy: Chromium sends every HTTP request through it
// (--proxy-server, with <-loopback> so that 127.0.0.1 is not bypassed), so
// it sees what neither Resource Timing nor one tab's Network events show in
// full: CORS preflights, the popup's navigations and redirects, the callback
// page's assets. Each request is logged with its start (request headers
// read) and end (response body written) on one clock, and with the phase
// the driver had set when it started.

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// request is one HTTP request the browser made.
type request struct {
	Phase    string  `json:"phase"`
	Method   string  `json:"method"`
	Host     string  `json:"host"`
	Path     string  `json:"path"` // without the query: a callback's query holds a code
	Status   int     `json:"status"`
	Bytes    int64   `json:"bytes"` // response body bytes as sent (compressed when it was)
	Encoding string  `json:"encoding,omitempty"`
	Dest     string  `json:"dest,omitempty"` // Sec-Fetch-Dest: document, script, empty (fetch), …
	StartMs  float64 `json:"startMs"`        // since the proxy started
	EndMs    float64 `json:"endMs"`
}

type recordingProxy struct {
	URL   string
	srv   *http.Server
	t0    time.Time
	mu    sync.Mutex
	phase string
	log   []request
}

func startProxy() (*recordingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &recordingProxy{URL: "http://" + ln.Addr().String(), t0: time.Now()}
	transport := &http.Transport{
		Proxy:               nil,
		DisableCompression:  true, // pass the browser's Accept-Encoding through untouched
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pr.In.Host
			pr.Out.Host = pr.In.Host
		},
		Transport:     transport,
		FlushInterval: -1,                         // event streams flow as they come
		ErrorLog:      log.New(io.Discard, "", 0), // a popup closed mid-request is not news
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(rp, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *recordingProxy) since() float64 {
	return float64(time.Since(p.t0).Nanoseconds()) / 1e6
}

func (p *recordingProxy) serve(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || r.URL.Host == "" || !isLoopbackHost(r.URL.Host) {
		// Only the bench's own servers are reachable; nothing leaves the machine.
		http.Error(w, "the bench proxy only forwards to 127.0.0.1", http.StatusForbidden)
		return
	}
	start := p.since()
	p.mu.Lock()
	phase := p.phase
	p.mu.Unlock()
	rec := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	rp.ServeHTTP(rec, r)
	end := p.since()
	p.mu.Lock()
	p.log = append(p.log, request{
		Phase: phase, Method: r.Method, Host: r.URL.Host, Path: r.URL.Path,
		Status: rec.status, Bytes: rec.n, Encoding: rec.Header().Get("Content-Encoding"),
		Dest: r.Header.Get("Sec-Fetch-Dest"), StartMs: start, EndMs: end,
	})
	p.mu.Unlock()
}

func isLoopbackHost(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	h = strings.Trim(h, "[]")
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// setPhase labels the requests that start from now on.
func (p *recordingProxy) setPhase(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// take returns the requests of phase and forgets them.
func (p *recordingProxy) take(phase string) []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out, keep []request
	for _, r := range p.log {
		if r.Phase == phase {
			out = append(out, r)
		} else {
			keep = append(keep, r)
		}
	}
	p.log = keep
	return out
}

// reset forgets every logged request.
func (p *recordingProxy) reset() {
	p.mu.Lock()
	p.log = nil
	p.phase = ""
	p.mu.Unlock()
}

func (p *recordingProxy) close() { _ = p.srv.Close() }

type countingWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	n           int64
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wroteHeader {
		c.status, c.wroteHeader = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// criticalPath is the number of sequential round trips among reqs: the
// longest chain of requests in which each one started after the previous
// one had finished.
func criticalPath(reqs []request) int {
	n := len(reqs)
	depth := make([]int, n)
	best := 0
	// Requests sorted by start; a request can follow only one that ended
	// before it started, hence started before it too.
	idx := sortedByStart(reqs)
	for a, i := range idx {
		d := 1
		for _, j := range idx[:a] {
			if reqs[j].EndMs <= reqs[i].StartMs && depth[j]+1 > d {
				d = depth[j] + 1
			}
		}
		depth[i] = d
		if d > best {
			best = d
		}
	}
	return best
}

func sortedByStart(reqs []request) []int {
	idx := make([]int, len(reqs))
	for i := range idx {
		idx[i] = i
	}
	for i := 1; i < len(idx); i++ { // insertion sort: tens of requests
		for j := i; j > 0 && reqs[idx[j]].StartMs < reqs[idx[j-1]].StartMs; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}
