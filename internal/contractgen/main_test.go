package main

import (
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
