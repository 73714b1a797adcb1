//go:build !js

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTypesCompile: under tsc --strict, with the installed package's types,
//   - every JavaScript snippet of README.md type-checks;
//   - the sample apps and the extension type-check (checkJs);
//   - the .d.ts files themselves have no errors;
//   - the .d.ts describes exactly what the runtime has: its exports, the
//     loaded API, a client's members, its storage adapter, the options, the
//     events and the error codes (e2e/types/surface.mjs writes the runtime's
//     side as Record<keyof T, true> literals, which fail on a key one side
//     lacks).
func TestTypesCompile(t *testing.T) {
	installExamples(t)
	npmInExamples(t, "run", "build:extension") // the extension imports its copy of the package
	dir := filepath.Join("examples", ".typecheck")
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "snippets"), 0o755); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```js\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d js snippets in README.md", len(blocks))
	}
	for i, b := range blocks {
		if err := os.WriteFile(filepath.Join(dir, "snippets", fmt.Sprintf("readme-%d.ts", i+1)), []byte(snippetModule(b[1])), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node := exec.Command("node", "../e2e/types/surface.mjs", "node_modules/mcp-oauth-wasm", "..", ".typecheck/surface.ts")
	node.Dir = "examples"
	if out, err := node.CombinedOutput(); err != nil {
		t.Fatalf("e2e/types/surface.mjs: %v\n%s", err, out)
	} else {
		t.Logf("%s", strings.TrimSpace(string(out)))
	}
	tsconfig := `{
  "compilerOptions": {
    "strict": true, "noEmit": true, "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler",
    "lib": ["ES2022", "DOM", "DOM.Iterable"], "types": ["chrome"], "allowJs": true, "checkJs": true, "skipLibCheck": true
  },
  "include": ["snippets/*.ts", "surface.ts", "../shared/*.js", "../*/main.js", "../*/callback.js", "../extension/*.js"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tsc := func(args ...string) {
		t.Helper()
		cmd := exec.Command("node_modules/.bin/tsc", args...)
		cmd.Dir = "examples"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("tsc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	tsc("-p", ".typecheck")
	// The declaration files themselves (skipLibCheck skips them above).
	tsc("--strict", "--noEmit", "--lib", "ES2022,DOM", "node_modules/mcp-oauth-wasm/mcp-oauth.d.ts", "node_modules/mcp-oauth-wasm/testing.d.ts")
}

// snippetModule makes a README snippet a module of its own, declaring the
// names a snippet takes from the app around it.
func snippetModule(code string) string {
	var pre []string
	if !strings.Contains(code, "const mcpOAuth") && strings.Contains(code, "mcpOAuth.") {
		pre = append(pre, "declare const mcpOAuth: import('mcp-oauth-wasm').McpOAuth;")
	}
	if strings.Contains(code, "connectButton") {
		pre = append(pre, "declare const connectButton: HTMLButtonElement;")
	}
	if strings.Contains(code, "show(") {
		pre = append(pre, "declare function show(text: string): void;")
	}
	return "// From README.md.\n" + strings.Join(pre, "\n") + "\n" + code + "\nexport {};\n"
}
