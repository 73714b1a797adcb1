// Package mcpoauthtest helps test MCP clients and servers that use
// mcp-oauth-wasm's engine without a browser: a headless UserAgent that
// completes an authorization by following redirects, and a configurable
// in-process authorization server and MCP server (see Server).
package mcpoauthtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// HeadlessUserAgent completes an authorization without a browser, as the
// MCP conformance suite's reference client does: it GETs the authorization
// URL and follows redirects (keeping cookies, which login/consent
// interactions need) until one points at the redirect URI, and returns
// that URL. It works with servers that approve without a form.
type HeadlessUserAgent struct {
	// Transport carries the requests. Default http.DefaultTransport.
	Transport http.RoundTripper
	// MaxRedirects bounds the chain. Default 20.
	MaxRedirects int
}

func (h *HeadlessUserAgent) OpenAuthorizationURL(ctx context.Context, req *mcpoauth.AuthorizationRequest) (string, error) {
	jar, _ := cookiejar.New(nil)
	max := h.MaxRedirects
	if max == 0 {
		max = 20
	}
	client := &http.Client{
		Transport: h.Transport,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	next := req.URL
	for i := 0; i <= max; i++ {
		if isRedirectURI(next, req.RedirectURI) {
			return next, nil
		}
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(r)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return "", fmt.Errorf("the authorization page %s answered HTTP %d without redirecting (it needs a person)", stripQuery(next), resp.StatusCode)
		}
		u, err := r.URL.Parse(loc)
		if err != nil {
			return "", fmt.Errorf("bad redirect Location %q: %v", loc, err)
		}
		next = u.String()
	}
	return "", fmt.Errorf("more than %d redirects while authorizing", max)
}

func isRedirectURI(candidate, redirectURI string) bool {
	c, err1 := url.Parse(candidate)
	r, err2 := url.Parse(redirectURI)
	return err1 == nil && err2 == nil && strings.EqualFold(c.Scheme, r.Scheme) && strings.EqualFold(c.Host, r.Host) && c.Path == r.Path
}

func stripQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}
