package mcpoauth

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// URL rules shared by every step: which URLs may be used, how the MCP
// server's canonical resource URI is formed, and how a Protected Resource
// Metadata "resource" is matched against it. One implementation each.

// isLoopbackHost reports whether host (without port) is one of the loopback
// names the MCP spec lets use plain http: localhost, 127.0.0.1 and ::1.
func isLoopbackHost(host string) bool { return slices.Contains(loopbackHosts, strings.ToLower(host)) }

// loopbackHosts are the hosts (IPv6 without brackets) where plain http is
// allowed; the browser layer reads them from the Contract.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// parseSecureURL parses raw as an absolute http(s) URL and enforces the
// spec's transport rule (MCP authorization, "Communication Security"): https
// everywhere, except loopback hosts. what names the URL in error messages.
func parseSecureURL(what, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, newError(CodeInvalidConfig, "%s is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "%s %q is not a valid URL", what, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "http":
	case "":
		return nil, newError(CodeInvalidConfig, "%s %q is not an absolute URL", what, raw)
	default:
		return nil, newError(CodeInsecureURL, "%s %q has scheme %q; only https (or http on localhost) is allowed", what, raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, newError(CodeInvalidConfig, "%s %q has no host", what, raw)
	}
	if strings.EqualFold(u.Scheme, "http") && !isLoopbackHost(u.Hostname()) {
		return nil, newError(CodeInsecureURL, "%s %q uses http on a non-loopback host; only https is allowed there", what, raw)
	}
	if u.User != nil {
		return nil, newError(CodeInsecureURL, "%s %q carries user credentials in the URL", what, raw)
	}
	return u, nil
}

// normalizeOrigin lower-cases scheme and host and drops a default port.
func normalizeOrigin(u *url.URL) *url.URL {
	n := *u
	n.Scheme = strings.ToLower(u.Scheme)
	host, port := u.Hostname(), u.Port()
	if (n.Scheme == "https" && port == "443") || (n.Scheme == "http" && port == "80") {
		port = ""
	}
	host = strings.ToLower(host)
	if port != "" {
		n.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		n.Host = "[" + host + "]"
	} else {
		n.Host = host
	}
	return &n
}

// origin returns scheme://host[:port] of u, normalized.
func origin(u *url.URL) string {
	n := normalizeOrigin(u)
	return n.Scheme + "://" + n.Host
}

// sameOrigin reports whether a and b share scheme, host and port.
func sameOrigin(a, b *url.URL) bool { return origin(a) == origin(b) }

// resourceMatches reports whether a Protected Resource Metadata "resource"
// identifies the MCP server at mcp: the same URI, or a path prefix of it on
// the same origin that ends at a path-segment boundary ("/api" covers
// "/api/mcp", not "/apix"). Anything else may be a token-phishing setup
// (RFC 9728 §3.3, MCP "Protected Resource Metadata validation"). Both are
// compared in their canonical form (canonicalMCPURL: dot segments
// resolved as the browser resolves them); a resource outside that grammar
// matches nothing.
func resourceMatches(resource string, mcp *url.URL) bool {
	if strings.Contains(resource, "#") {
		return false
	}
	r, _, err := canonicalMCPURL("resource", resource)
	if err != nil || !sameOrigin(r, mcp) {
		return false
	}
	if r.RawQuery != "" && r.RawQuery != mcp.RawQuery {
		return false
	}
	prefix := strings.TrimSuffix(r.EscapedPath(), "/")
	path := strings.TrimSuffix(mcp.EscapedPath(), "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// wellKnownURL builds origin + "/.well-known/" + name + suffix, the form
// RFC 8414 §3.1 and RFC 9728 §3.1 use: the well-known segment goes between
// the host and the path.
func wellKnownURL(base *url.URL, name, suffix string) string {
	suffix = strings.TrimSuffix(suffix, "/")
	return origin(base) + "/.well-known/" + name + suffix
}
