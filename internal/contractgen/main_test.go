package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// TestGeneratedFilesAreCurrent fails when web/contract.js or the
// error-code union of web/mcp-oauth.d.ts differ from what the engine's
// Contract generates: a contracted value changed on one side only.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	js, err := contractJS()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, contractFile)); err != nil || string(got) != string(js) {
		t.Errorf("%s is not what the engine's Contract generates (%v): run ./build.sh generate; never edit it by hand", contractFile, err)
	}
	types, err := os.ReadFile(filepath.Join(root, typesFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := withCodes(string(types))
	if err != nil {
		t.Fatal(err)
	}
	if string(types) != want {
		t.Errorf("the error codes in %s are not the engine's: run ./build.sh generate", typesFile)
	}
	pkg, err := os.ReadFile(filepath.Join(root, packageFile))
	if err != nil {
		t.Fatal(err)
	}
	if wantPkg, err := withVersion(string(pkg)); err != nil || string(pkg) != wantPkg {
		t.Errorf("the version in %s is not the engine's %s (%v): run ./build.sh generate", packageFile, mcpoauth.Version, err)
	}
}

// TestPackageShipsEveryModule: the npm package's files list holds every ES
// module of web/ (one left out breaks the package's imports) and nothing of
// the demo.
func TestPackageShipsEveryModule(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, packageFile))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	modules, _ := filepath.Glob(filepath.Join(root, "web", "*.js"))
	for _, m := range modules {
		if b := filepath.Base(m); !slices.Contains(pkg.Files, b) {
			t.Errorf("web/%s is not in %s's files", b, packageFile)
		}
	}
	for _, f := range pkg.Files {
		if strings.HasPrefix(f, "demo") {
			t.Errorf("%s ships the demo (%s)", packageFile, f)
		}
	}
}

// TestJSUsesOnlyContractCodes: every error code web/*.js raises is one the
// engine defines.
func TestJSUsesOnlyContractCodes(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "web", "*.js"))
	codes := mcpoauth.BrowserContract().ErrorCodes
	uses := regexp.MustCompile(`fail\('([a-z_]+)'|code: '([a-z_]+)'`)
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uses.FindAllStringSubmatch(string(src), -1) {
			code := m[1] + m[2]
			n++
			if !slices.Contains(codes, mcpoauth.Code(code)) {
				t.Errorf("%s raises %q, which is not an engine error code", strings.TrimPrefix(f, root+"/"), code)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d error codes raised in web/*.js: the pattern no longer matches how they are raised", n)
	}
}
