package mcpoauth

import (
	"net/url"
	"strings"
	"testing"
)

// TestCanonicalMCPURL: the engine reads an MCP URL as the browser does
// (WHATWG), or refuses it. The expected canonical forms are what Chromium's
// URL parser gives (TestBrowserCanonicalURLDifferential checks the same
// rule against the browser itself, over a thousand generated URLs).
func TestCanonicalMCPURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		code     Code // when refused
	}{
		// Dot segments, plain and percent-encoded, resolved as the browser
		// resolves them (the token-for-another-server attack of issue 10).
		{in: "https://host/h/mcp/%2e%2e/%2e%2e/m/mcp", want: "https://host/m/mcp"},
		{in: "https://host/h/mcp/%2E%2E/%2e./x", want: "https://host/x"},
		{in: "https://host/a/./b/.%2e/c", want: "https://host/a/c"},
		{in: "https://host/a/b/..", want: "https://host/a/"},
		{in: "https://host/a/%2e", want: "https://host/a/"},
		{in: "https://host/../../x", want: "https://host/x"},
		{in: "https://host/a/..", want: "https://host"},
		{in: "https://host/a%2eb/...", want: "https://host/a%2eb/..."},
		// Case, default ports, fragments, empty query, lone slash.
		{in: "HTTPS://MCP.Example.COM:443/mcp#fragment", want: "https://mcp.example.com/mcp"},
		{in: "https://host/", want: "https://host"},
		{in: "https://host/?", want: "https://host"},
		{in: "https://host?x=1", want: "https://host/?x=1"},
		{in: "https://host/mcp?", want: "https://host/mcp"},
		{in: "http://localhost:80/mcp", want: "http://localhost/mcp"},
		{in: "https://host:8443/mcp", want: "https://host:8443/mcp"},
		{in: "https://host/%7Euser/mcp", want: "https://host/%7Euser/mcp"},
		{in: "https://a_b.example./mcp", want: "https://a_b.example./mcp"},
		{in: "http://[::1]:8080/", want: "http://[::1]:8080"},
		{in: "https://[::ffff:7f00:1]/", want: "https://[::ffff:7f00:1]"},
		{in: "https://[2001:db8::1:0:0:1]/", want: "https://[2001:db8::1:0:0:1]"},
		// Where the two readings differ: refused, never guessed.
		{in: "http://127.1/mcp", code: CodeInvalidConfig},
		{in: "http://0x7f.1/mcp", code: CodeInvalidConfig},
		{in: "http://127.000.0.1/mcp", code: CodeInvalidConfig},
		{in: "http://127.0.0.1./mcp", code: CodeInvalidConfig},
		{in: "https://host.123/mcp", code: CodeInvalidConfig},
		{in: "https://host:0443/mcp", code: CodeInvalidConfig},
		{in: "https://host:/mcp", code: CodeInvalidConfig},
		{in: "https://host:65536/mcp", code: CodeInvalidConfig},
		{in: "http://[0:0::1]/mcp", code: CodeInvalidConfig},
		{in: "https://[::ffff:127.0.0.1]/", code: CodeInvalidConfig},
		{in: "http://[fe80::1%25eth0]/", code: CodeInvalidConfig},
		{in: `https://host\mcp`, code: CodeInvalidConfig},
		{in: "https://host/a b", code: CodeInvalidConfig},
		{in: "https://host/a\tb", code: CodeInvalidConfig},
		{in: "https://bücher.de/mcp", code: CodeInvalidConfig},
		{in: "https://xn--bcher-kva.de/mcp", code: CodeInvalidConfig},
		{in: "https://ho%41st/mcp", code: CodeInvalidConfig},
		{in: "https://host/%zz", code: CodeInvalidConfig},
		{in: "https://host/it's", code: CodeInvalidConfig},
		{in: "https:///host/mcp", code: CodeInvalidConfig},
		{in: "https:host/mcp", code: CodeInvalidConfig},
		{in: "mcp.example.com/mcp", code: CodeInvalidConfig},
		{in: "", code: CodeInvalidConfig},
		{in: "https://user:pw@host/mcp", code: CodeInsecureURL},
		{in: "javascript:alert(1)", code: CodeInsecureURL},
		{in: "http://mcp.example.com/mcp", code: CodeInsecureURL},
	} {
		u, got, err := canonicalMCPURL("mcpUrl", tc.in)
		if tc.code != "" {
			if CodeOf(err) != tc.code {
				t.Errorf("%q: got %q (%v), want %s", tc.in, got, err, tc.code)
			} else if !strings.Contains(err.Error(), "mcpUrl") {
				t.Errorf("%q: the error does not name the option: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q (%v), want %q", tc.in, got, err, tc.want)
			continue
		}
		if u.String() != got {
			t.Errorf("%q: the parsed URL %q is not the canonical string %q", tc.in, u, got)
		}
	}
}

// TestResourceMatchesWholeSegments: a PRM resource covers the MCP URL when
// it is the URL or a path prefix ending at a segment boundary, compared in
// canonical form.
func TestResourceMatchesWholeSegments(t *testing.T) {
	mcp, _, err := canonicalMCPURL("mcpUrl", "https://host/h/mcp/%2e%2e/%2e%2e/m/mcp")
	if err != nil {
		t.Fatal(err)
	}
	for resource, want := range map[string]bool{
		"https://host/h/mcp":         false, // the attacker's claim: the browser fetches /m/mcp
		"https://host/m/mcp":         true,
		"https://host/m":             true,
		"https://host/m/":            true,
		"https://host":               true,
		"https://HOST:443/m/mcp":     true,
		"https://host/x/../m/mcp":    true,
		"https://host/m/mc":          false,
		"https://host/m/mcpx":        false,
		"https://host/m/mcp/more":    false,
		"https://other/m/mcp":        false,
		"http://host/m/mcp":          false,
		"https://host/m/mcp#frag":    false,
		"https://host/m/mcp?tenant":  false,
		"https://host/m/%2e%2e/h/mc": false,
	} {
		if got := resourceMatches(resource, mcp); got != want {
			t.Errorf("resource %q for %s: %v, want %v", resource, mcp, got, want)
		}
	}
	x, _, _ := canonicalMCPURL("mcpUrl", "https://host/h/mcpx")
	if resourceMatches("https://host/h/mcp", x) {
		t.Errorf("/h/mcp must not cover /h/mcpx")
	}
}

// FuzzCanonicalMCPURL: any string is refused or canonicalized, never
// panics; a canonical URL is its own canonical form, parses to itself, and
// has no dot segment, fragment or default port left.
func FuzzCanonicalMCPURL(f *testing.F) {
	for _, s := range []string{
		"https://host/h/mcp/%2e%2e/%2e%2e/m/mcp", "http://127.1/", "https://[::1]:443/a/./b", "HTTPS://X.Y:0443/",
		"https://h?x#y", "http://[::ffff:7f00:1]:80/..", "https://a..b/", "https://h/%2E/%2e%2E/.", "https:\\\\h/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, c, err := canonicalMCPURL("mcpUrl", raw)
		if err != nil {
			if CodeOf(err) != CodeInvalidConfig && CodeOf(err) != CodeInsecureURL {
				t.Fatalf("%q: error without a config code: %v", raw, err)
			}
			return
		}
		if u.String() != c {
			t.Fatalf("%q: parsed %q != canonical %q", raw, u, c)
		}
		_, again, err := canonicalMCPURL("mcpUrl", c)
		if err != nil || again != c {
			t.Fatalf("%q: canonical %q is not stable: %q, %v", raw, c, again, err)
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			if s := strings.ToLower(seg); s == "." || s == ".." || s == "%2e" || s == "%2e%2e" || s == ".%2e" || s == "%2e." {
				t.Fatalf("%q: canonical %q keeps a dot segment", raw, c)
			}
		}
		if u.Fragment != "" || u.User != nil || (u.Scheme == "https" && u.Port() == "443") {
			t.Fatalf("%q: canonical %q is not canonical", raw, c)
		}
		if _, err := url.Parse(c); err != nil {
			t.Fatal(err)
		}
	})
}
