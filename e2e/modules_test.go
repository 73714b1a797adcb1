//go:build !js

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// staticImport matches a static import of a module of web/ (import … from
// './x.js', import './x.js', export … from './x.js'), over several lines if
// need be; import('./x.js') is dynamic, fetched when called, and is not
// one.
var staticImport = regexp.MustCompile(`(?m)^(?:import|export)\b[^;'"]*?(?:\bfrom\s*)?'(\./[^']+\.js)'`)

func webImports(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("web", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range staticImport.FindAllStringSubmatch(string(src), -1) {
		out = append(out, filepath.Base(m[1]))
	}
	return out
}

// TestModulesLoadInOneWave: each entry point (mcp-oauth.js for pages,
// engine-worker.js for the engine's Worker) imports every module its
// import graph reaches, so that a page without a bundler requests them all
// as soon as it has read the entry point, instead of level by level (a
// module only client.js imported was requested after client.js arrived:
// 7 ms more of import → ready in the bench, over HTTP/1.1's six
// connections). It fails when a module is added deeper in a graph and not
// to its entry point's list.
func TestModulesLoadInOneWave(t *testing.T) {
	for _, entry := range []string{"mcp-oauth.js", "engine-worker.js"} {
		direct := map[string]bool{}
		for _, m := range webImports(t, entry) {
			direct[m] = true
		}
		seen := map[string]bool{}
		queue := []string{entry}
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			for _, m := range webImports(t, f) {
				if !seen[m] {
					seen[m] = true
					queue = append(queue, m)
				}
			}
		}
		if len(seen) < 5 {
			t.Fatalf("%s: found only %d modules in its graph: the import pattern no longer reads web/", entry, len(seen))
		}
		var missing []string
		for m := range seen {
			if !direct[m] {
				missing = append(missing, m)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s's graph reaches %v, which %s does not import itself: add them to its imports", entry, missing, entry)
		}
	}
}
