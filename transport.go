package mcpoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Every request the engine makes goes through an injected
// http.RoundTripper (fetch in the browser), never http.Client: linking
// net/http's client costs ~0.85 MB of brotli'd wasm, and a RoundTripper
// does not follow redirects, which is what we want for metadata.

// maxResponseBytes bounds every body the engine reads: metadata, a
// registration and a token response are a few KB (Keycloak's metadata,
// among the largest, is about 7 KB; a token response with large JWTs
// perhaps 20 KB).
const maxResponseBytes = 64 << 10

// maxJSONValues bounds the values (array elements and object members) of a
// JSON document the engine decodes. The engine runs on the page's only
// thread, and decoding costs per value: 16,000 one-letter strings in
// 64 KiB took 50–60 ms in Chromium, a real metadata document has a few
// hundred values. Counting them is a linear scan that costs well under a
// millisecond (TestBrowserScopeFloodStaysResponsive).
const maxJSONValues = 4096

// defaultRequestTimeout bounds one request, body included, so a server
// that never finishes its answer gives a timeout, not a hang.
const defaultRequestTimeout = 30 * time.Second

// RoundTripFunc sends one HTTP request, as http.RoundTripper.RoundTrip
// does. The browser module hands the engine its fetch this way rather than
// as an http.RoundTripper: converting any value to http.RoundTripper makes
// *http.Response, and through it net/http's TLS and X.509 types, reachable
// for interface calls, which keeps ~0.13 MB of their code in the wasm.
type RoundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip makes a RoundTripFunc an http.RoundTripper for native callers.
func (f RoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type httpClient struct {
	do      RoundTripFunc
	timeout time.Duration
	trace   func(Trace) // trace.go; nil: none
}

// response is a fully read, bounded HTTP response.
type response struct {
	url    string
	status int
	header http.Header
	body   []byte
}

// send performs req and reads at most maxResponseBytes of its body. what
// names the request in error messages ("token request").
func (h httpClient) send(ctx context.Context, req *http.Request, what string) (r *response, err error) {
	start := time.Now()
	defer func() {
		if r != nil {
			h.traceExchange(what, req, start, r.status, r.header, r.body, nil)
		} else {
			h.traceExchange(what, req, start, 0, nil, nil, err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	resp, err := h.roundTrip(ctx, req, what)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx, fmt.Sprintf("the %s to %s to finish", what, req.URL.Redacted()))
		}
		return nil, wrapError(CodeNetworkError, err, "reading the %s response from %s failed: %v", what, req.URL.Redacted(), err)
	}
	if len(body) > maxResponseBytes {
		return nil, &Error{Code: CodeMetadataInvalid, Status: resp.StatusCode,
			Message: fmt.Sprintf("the %s response from %s is larger than %d bytes; refusing to read it", what, req.URL.Redacted(), maxResponseBytes)}
	}
	return &response{url: req.URL.String(), status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// NoAnswer is what a RoundTripFunc returns when a request got no answer it
// could read, and it can tell why: Reason is "cors" (the server answered,
// but not to this page's origin) or "unreachable" (nothing answered). The
// browser module tells them apart with a no-cors probe of the same URL.
type NoAnswer struct {
	Reason string // ReasonCORS or ReasonUnreachable
	Err    error
}

// The reasons of a NoAnswer (and of a network_error's Reason).
const (
	ReasonCORS        = "cors"
	ReasonUnreachable = "unreachable"
)

func (n *NoAnswer) Error() string { return n.Reason + ": " + n.Err.Error() }
func (n *NoAnswer) Unwrap() error { return n.Err }

// roundTrip sends req with ctx and maps transport failures to network_error
// (naming the URL, and why when the transport knows), timeout or aborted.
// The caller closes the body.
func (h httpClient) roundTrip(ctx context.Context, req *http.Request, what string) (*http.Response, error) {
	resp, err := h.do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx, fmt.Sprintf("the %s to %s", what, req.URL.Redacted()))
		}
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, networkError(req, what, err)
	}
	return resp, nil
}

// networkError says which request got no answer, and what to fix.
func networkError(req *http.Request, what string, err error) *Error {
	u := req.URL.Redacted()
	e := &Error{Code: CodeNetworkError, URL: u, Err: err}
	var na *NoAnswer
	if !errors.As(err, &na) {
		e.Message = fmt.Sprintf("the %s to %s failed before any answer came back (%v); in a browser this usually means the server does not allow requests from this page's origin (CORS), or it is unreachable", what, u, err)
		return e
	}
	e.Reason = na.Reason
	switch na.Reason {
	case ReasonCORS:
		fix := "its answers need an Access-Control-Allow-Origin header that allows this page's origin"
		if req.Method != http.MethodGet || req.Header.Get("Authorization") != "" || req.Header.Get("Content-Type") == "application/json" {
			fix += fmt.Sprintf(", and it must answer the CORS preflight (OPTIONS) of this %s, allowing its method and headers (Content-Type, Authorization)", req.Method)
		}
		e.Message = fmt.Sprintf("the %s to %s was blocked by the browser: the server answered, but not to this page's origin (CORS); %s", what, u, fix)
	default:
		e.Message = fmt.Sprintf("the %s to %s got no answer: nothing answered at that address (the server is down, or the URL is wrong)", what, u)
	}
	return e
}

// get sends a GET that asks for JSON. It sends no custom headers beyond
// Accept, so in a browser it is a CORS "simple request" with no preflight.
func (h httpClient) get(ctx context.Context, url, what string) (*response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "cannot build the %s for %q: %v", what, url, err)
	}
	req.Header.Set("Accept", "application/json")
	return h.send(ctx, req, what)
}

// postForm sends an application/x-www-form-urlencoded POST, a CORS simple
// request unless extra headers (HTTP Basic) are added by the caller.
func (h httpClient) postForm(ctx context.Context, url string, form string, header http.Header, what string) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form))
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "cannot build the %s for %q: %v", what, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	setFormHeaders(req.Header)
	return h.send(ctx, req, what)
}

// setFormHeaders sets what a form POST to the token endpoint says it
// sends and accepts.
func setFormHeaders(h http.Header) {
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Accept", "application/json")
}

// postJSON sends a JSON POST (RFC 7591 registration).
func (h httpClient) postJSON(ctx context.Context, url string, body []byte, what string) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "cannot build the %s for %q: %v", what, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return h.send(ctx, req, what)
}

// decodeJSONObject decodes r's body into v after checking that the server
// said it is JSON. The error names the URL and what came instead (an HTML
// error page is the usual surprise).
func (r *response) decodeJSONObject(v any) error {
	if ct := r.header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return fmt.Errorf("%s answered with Content-Type %q, not JSON", r.url, ct)
		}
	}
	body := strings.TrimSpace(string(r.body))
	if !strings.HasPrefix(body, "{") {
		return fmt.Errorf("%s did not answer with a JSON object", r.url)
	}
	if n := countJSONValues(body); n > maxJSONValues {
		return fmt.Errorf("%s answered with a JSON document of more than %d values; that is not a document this client reads", r.url, maxJSONValues)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("%s answered with malformed JSON: %v", r.url, err)
	}
	return nil
}

// oauthErrorBody is the RFC 6749 §5.2 error response, also used by RFC 7591.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
}

// oauthError decodes an RFC 6749 §5.2 error body if there is one.
func (r *response) oauthError() oauthErrorBody {
	var e oauthErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e
}

// countJSONValues counts the separators of a JSON text outside strings (a
// comma or colon per further value), stopping early once past the limit.
func countJSONValues(s string) int {
	n, inString := 0, false
	for i := 0; i < len(s) && n <= maxJSONValues; i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			n++
		}
	}
	return n
}
