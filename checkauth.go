package mcpoauth

import (
	"context"
	"net/http"
	"time"
)

// probe sends an unauthenticated GET and reads only its status and headers:
// the body is closed unread, since a GET on an MCP endpoint may open an
// endless SSE stream.
func (h httpClient) probe(ctx context.Context, url string, header http.Header) (int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, wrapError(CodeInvalidConfig, err, "cannot build a request for %q: %v", url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := h.roundTrip(ctx, req, probeWhat)
	if err != nil {
		h.traceExchange(probeWhat, req, start, 0, nil, nil, err)
		return 0, nil, err
	}
	resp.Body.Close()
	h.traceExchange(probeWhat, req, start, resp.StatusCode, resp.Header, nil, nil)
	return resp.StatusCode, resp.Header, nil
}

// probeWhat names the unauthenticated request in errors and traces.
const probeWhat = "request"

// CheckIfAuthRequired reports whether the MCP server at mcpURL wants
// authorization: true on 401 or 403 or a Bearer challenge, false on any
// other answer. A request that gets no answer is a network_error (a CORS
// block looks the same in a browser, so the engine does not guess), unlike
// FastMCP, which assumes true.
//
// fetch sends the request; nil means http.DefaultTransport (natively).
func CheckIfAuthRequired(ctx context.Context, fetch RoundTripFunc, mcpURL string, header http.Header) (bool, error) {
	u, _, err := canonicalMCPURL("mcpUrl", mcpURL)
	if err != nil {
		return false, err
	}
	if fetch == nil {
		fetch = defaultTransport()
	}
	if fetch == nil {
		return false, newError(CodeInvalidConfig, "no HTTP transport given")
	}
	status, h, err := httpClient{do: fetch, timeout: defaultRequestTimeout}.probe(ctx, u.String(), header)
	if err != nil {
		return false, err
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return true, nil
	}
	_, bearer := BearerChallengeFrom(h)
	return bearer, nil
}
