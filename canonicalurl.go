package mcpoauth

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// The MCP server's URL as the browser will fetch it.
//
// A browser reads a URL with the WHATWG URL Standard; Go's net/url reads it
// with RFC 3986. The two differ on dot segments ("%2e%2e" is ".." to a
// browser), IPv4 shorthands ("127.1"), ports with leading zeros, backslashes,
// IDN hosts, raw spaces and more. A token is sent to the URL the browser
// fetches, so the engine must check that same URL: an MCP URL is accepted
// only in a grammar on which both readings agree, and its canonical form is
// computed here the way the WHATWG parser serializes it. Anything outside
// the grammar is refused (invalid_config), never guessed at.
//
// web/mcp-oauth.js computes the same canonical URL with the browser's own
// parser (canonicalMcpUrl) and passes that to the engine;
// TestBrowserCanonicalURLDifferential feeds both over a thousand generated
// awkward URLs and requires the same answer.
//
// The grammar:
//   - scheme http or https (any case), then "://";
//   - no userinfo (insecure_url);
//   - host: a DNS name of labels [A-Za-z0-9_-]+ (one trailing dot allowed),
//     with no "xn--" (IDN) label and not ending in a numeric label unless
//     the host is an IPv4 address in canonical dotted-quad form; or an IPv6
//     address in brackets written as the browser serializes it;
//   - port: decimal, no leading zero, 1–65535; a default port is dropped;
//   - path, query and fragment: only unreserved and sub-delimiter
//     characters, ":", "@", "/", "?", and %XX escapes (no spaces, quotes,
//     backslashes, non-ASCII...: percent-encode them);
//   - dot segments ".", "..", and their %2e forms are resolved as the
//     browser resolves them; the fragment and an empty query are dropped;
//     a lone "/" path is dropped (MCP "Canonical Server URI").

// mcpURLChars are the characters an MCP URL may contain as written.
const mcpURLChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=:@/?#%[]"

// canonicalMCPURL checks raw against the grammar above and returns it
// parsed and as its canonical string. what names the option in errors.
func canonicalMCPURL(what, raw string) (*url.URL, string, error) {
	if raw == "" {
		return nil, "", newError(CodeInvalidConfig, "%s is empty", what)
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		return nil, "", newError(CodeInvalidConfig, "%s %q is not an absolute URL", what, raw)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return nil, "", newError(CodeInsecureURL, "%s %q has scheme %q; only https (or http on localhost) is allowed", what, raw, scheme)
	}
	for i := 0; i < len(raw); i++ {
		if !strings.ContainsRune(mcpURLChars, rune(raw[i])) {
			return nil, "", newError(CodeInvalidConfig, "%s %q contains %q, which browsers and this library may read differently; percent-encode it", what, raw, string(raw[i]))
		}
		if raw[i] == '%' && (i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2])) {
			return nil, "", newError(CodeInvalidConfig, "%s %q has a %% that does not start a %%XX escape", what, raw)
		}
	}
	rest, ok = strings.CutPrefix(rest, "//")
	if !ok {
		return nil, "", newError(CodeInvalidConfig, "%s %q must start with %s://", what, raw, scheme)
	}
	rest, _, _ = strings.Cut(rest, "#") // the fragment is never sent
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(authority, "@") {
		return nil, "", newError(CodeInsecureURL, "%s %q carries user credentials in the URL", what, raw)
	}
	host, err := canonicalAuthority(scheme, authority)
	if err != nil {
		return nil, "", newError(CodeInvalidConfig, "%s %q: %v", what, raw, err)
	}
	if scheme == "http" && !isLoopbackHost(strings.Trim(hostOnly(host), "[]")) {
		return nil, "", newError(CodeInsecureURL, "%s %q uses http on a non-loopback host; only https is allowed there", what, raw)
	}
	canonical := scheme + "://" + host
	if path = resolveDotSegments(path); path != "/" || query != "" {
		canonical += path
	}
	if query != "" {
		canonical += "?" + query
	}
	u, err := url.Parse(canonical)
	if err != nil {
		return nil, "", wrapError(CodeInvalidConfig, err, "%s %q is not a valid URL: %v", what, raw, err)
	}
	return u, canonical, nil
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hostOnly drops the port from a canonical host[:port].
func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		return hostport[:i]
	}
	return hostport
}

// canonicalAuthority returns host[:port] as the browser serializes it, or
// why the authority is outside the grammar.
func canonicalAuthority(scheme, authority string) (string, error) {
	host, port := authority, ""
	hasPort := false
	if strings.HasPrefix(authority, "[") {
		i := strings.IndexByte(authority, ']')
		if i < 0 {
			return "", fmt.Errorf("the IPv6 host has no closing bracket")
		}
		host, port = authority[:i+1], authority[i+1:]
		if port != "" {
			if port[0] != ':' {
				return "", fmt.Errorf("unexpected %q after the IPv6 host", port)
			}
			port, hasPort = port[1:], true
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port, hasPort = authority[:i], authority[i+1:], true
	}
	host = strings.ToLower(host)
	if err := checkHost(host); err != nil {
		return "", err
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if !isDigits(port) || err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", fmt.Errorf("port %q is not a number from 1 to 65535 written without leading zeros", port)
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			return host, nil
		}
		return host + ":" + port, nil
	}
	return host, nil
}

// checkHost accepts a lower-cased host that the browser serializes as
// written: an IPv6 literal in its canonical form, a canonical dotted-quad
// IPv4 address, or an ASCII DNS name that cannot be read as an IPv4
// address.
func checkHost(host string) error {
	if host == "" {
		return fmt.Errorf("the URL has no host")
	}
	if strings.HasPrefix(host, "[") {
		a, err := netip.ParseAddr(strings.Trim(host, "[]"))
		if err != nil || !a.Is6() || a.Zone() != "" || !strings.HasSuffix(host, "]") {
			return fmt.Errorf("host %s is not an IPv6 address", host)
		}
		if want := "[" + whatwgIPv6(a) + "]"; want != host {
			return fmt.Errorf("write the IPv6 host %s as %s, the form the browser uses", host, want)
		}
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	for _, l := range labels {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return fmt.Errorf("host %q is not a plain ASCII host name (letters, digits, '-', '_' and dots)", host)
		}
		if strings.HasPrefix(l, "xn--") {
			return fmt.Errorf("host %q is an internationalized (IDN) name, which this library does not accept: browsers and Go may map it differently", host)
		}
	}
	// The WHATWG parser reads a host whose last label is a number (decimal,
	// or 0x hex) as an IPv4 address, shorthands included ("127.1").
	last := labels[len(labels)-1]
	if isDigits(last) || strings.HasPrefix(last, "0x") && strings.Trim(last[2:], "0123456789abcdef") == "" {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() || a.String() != host {
			return fmt.Errorf("host %q would be read as an IPv4 address; write it as four decimal numbers (e.g. 127.0.0.1)", host)
		}
	}
	return nil
}

// whatwgIPv6 serializes an IPv6 address as the URL Standard does (§3.5
// "IPv6 serializer"): lower-case hex pieces without leading zeros, the
// first longest run of two or more zero pieces compressed to "::", and no
// dotted IPv4 tail (unlike RFC 5952 and net/netip for ::ffff:a.b.c.d).
func whatwgIPv6(a netip.Addr) string {
	b := a.As16()
	var pieces [8]uint16
	for i := range pieces {
		pieces[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	start, length := -1, 1
	for i := 0; i < 8; {
		if pieces[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			sb.WriteString("::")
			i += length - 1
			continue
		}
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), ":") {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(pieces[i]), 16))
	}
	return sb.String()
}

// resolveDotSegments removes "." and ".." segments from an escaped path the
// way the WHATWG path state does: "%2e" counts as ".", in either case; a
// ".." never climbs above the root; a dot segment at the end leaves a
// trailing slash. An empty path is "/".
func resolveDotSegments(path string) string {
	if path == "" {
		return "/"
	}
	segs := strings.Split(path[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch strings.ToLower(s) {
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".", "%2e":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}
