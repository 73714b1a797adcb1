//go:build !js

package main

// The page server: web/'s browser module at /, bench/pages at /bench/, from
// memory, with every .js, .wasm and .html file precompressed (brotli q11
// and gzip -9, as a production static host would serve them) and cached in
// .cache/bench by content hash.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// asset is one file the page server serves.
type asset struct {
	name   string // URL path
	src    string // file on disk
	raw    []byte
	gz, br []byte
	ctype  string
	mod    time.Time
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".wasm": "application/wasm",
	".json": "application/json",
}

// webFiles are what a web app serves from web/: the npm package's files
// (web/package.json), but the types and the readme.
func webFiles(webDir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(webDir, "package.json"))
	if err != nil {
		return nil, err
	}
	var pkg struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return nil, fmt.Errorf("web/package.json: %w", err)
	}
	var out []string
	for _, f := range pkg.Files {
		if !strings.HasSuffix(f, ".d.ts") && !strings.HasSuffix(f, ".md") {
			out = append(out, f)
		}
	}
	return out, nil
}

// loadAssets reads web/'s module files and bench/pages, and compresses
// them (cached by content in cacheDir; the first run takes ~15 s for the
// wasm).
func loadAssets(webDir, pagesDir, cacheDir, node string) (map[string]*asset, error) {
	assets := map[string]*asset{}
	add := func(urlPath, src string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[filepath.Ext(src)]
		if !ok {
			return nil
		}
		assets[urlPath] = &asset{name: urlPath, src: src, raw: b, ctype: ct, mod: st.ModTime()}
		return nil
	}
	files, err := webFiles(webDir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := add("/"+f, filepath.Join(webDir, f)); err != nil {
			return nil, fmt.Errorf("%w (build the browser module first: ./build.sh)", err)
		}
	}
	entries, err := os.ReadDir(pagesDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := add("/bench/"+e.Name(), filepath.Join(pagesDir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	if err := compressAssets(assets, cacheDir, node); err != nil {
		return nil, err
	}
	return assets, nil
}

const compressScript = `
const z = require('zlib'), fs = require('fs');
const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
for (const j of jobs) {
  const b = fs.readFileSync(j.src);
  const br = z.brotliCompressSync(b, { params: {
    [z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_LGWIN]: 24,
    [z.constants.BROTLI_PARAM_SIZE_HINT]: b.length } });
  fs.writeFileSync(j.br + '.tmp', br); fs.renameSync(j.br + '.tmp', j.br);
  const gz = z.gzipSync(b, { level: 9 });
  fs.writeFileSync(j.gz + '.tmp', gz); fs.renameSync(j.gz + '.tmp', j.gz);
}
`

// compressAssets fills in gz and br, compressing with Node's zlib (brotli
// quality 11, window 24; gzip level 9) what the cache does not hold yet.
func compressAssets(assets map[string]*asset, cacheDir, node string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	type job struct{ Src, Br, Gz string }
	var jobs []job
	files := map[*asset][2]string{}
	for _, a := range assets {
		sum := sha256.Sum256(a.raw)
		base := filepath.Join(cacheDir, hex.EncodeToString(sum[:16]))
		br, gz := base+".br", base+".gz"
		files[a] = [2]string{br, gz}
		_, e1 := os.Stat(br)
		_, e2 := os.Stat(gz)
		if e1 != nil || e2 != nil {
			jobs = append(jobs, job{a.src, br, gz})
		}
	}
	if len(jobs) > 0 {
		logf("compressing %d files (brotli q11, gzip -9; cached in %s)", len(jobs), cacheDir)
		in, _ := json.Marshal(func() []map[string]string {
			var out []map[string]string
			for _, j := range jobs {
				out = append(out, map[string]string{"src": j.Src, "br": j.Br, "gz": j.Gz})
			}
			return out
		}())
		cmd := exec.Command(node, "-e", compressScript)
		cmd.Stdin = bytes.NewReader(in)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("compressing with node: %v\n%s", err, out)
		}
	}
	for a, f := range files {
		var err error
		if a.br, err = os.ReadFile(f[0]); err != nil {
			return err
		}
		if a.gz, err = os.ReadFile(f[1]); err != nil {
			return err
		}
	}
	return nil
}

type pageServer struct {
	URL      string
	assets   map[string]*asset
	encoding string // br (falls back to gzip), gzip or identity
	srv      *http.Server
}

func startPageServer(assets map[string]*asset, encoding string) (*pageServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &pageServer{URL: "http://" + ln.Addr().String(), assets: assets, encoding: encoding}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[path.Clean(r.URL.Path)]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages revalidate; scripts and the wasm are fresh for an hour, so a
	// returning user's browser takes them from its cache.
	if strings.HasSuffix(a.name, ".html") {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "max-age=3600")
	}
	body := a.raw
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case s.encoding == "br" && accepts(ae, "br"):
		body = a.br
		h.Set("Content-Encoding", "br")
	case (s.encoding == "br" || s.encoding == "gzip") && accepts(ae, "gzip"):
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	http.ServeContent(w, r, "", a.mod, bytes.NewReader(body))
}

func accepts(acceptEncoding, enc string) bool {
	for part := range strings.SplitSeq(acceptEncoding, ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func (s *pageServer) close() { _ = s.srv.Close() }
