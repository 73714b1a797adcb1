package mcpoauth

import (
	"errors"
	"net/http"
	"time"
)

// A flow trace: one event per HTTP exchange the engine makes, for an
// inspector's timeline (Config.OnTrace; the client's `trace` event in the
// browser). It carries what a developer needs to see why a server is
// broken, and never a secret: no request body or header (tokens, codes,
// verifiers, client secrets and proofs travel there), only an allow-list
// of response headers, and a body only for the metadata documents, which
// are public by definition.

// Trace is one HTTP exchange.
type Trace struct {
	// Step names the exchange: one of the TraceStep values.
	Step   TraceStep `json:"step"`
	Method string    `json:"method"`
	URL    string    `json:"url"`
	// Status is the HTTP status; 0 when no answer could be read (Error
	// says why).
	Status int     `json:"status"`
	Ms     float64 `json:"ms"`
	// Headers are the response headers of TraceHeaders that were present
	// (a browser shows a cross-origin page only those the server exposes).
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the document of the metadata steps only.
	Body string `json:"body,omitempty"`
	// Error is the error code and reason of an exchange without an answer:
	// "network_error (cors)", "timeout", "aborted".
	Error string `json:"error,omitempty"`
}

// TraceStep names an HTTP exchange of the flow.
type TraceStep string

// The exchanges of the flow.
const (
	TraceChallenge      TraceStep = "challenge"                     // the unauthenticated request for the 401 challenge
	TraceResourceMeta   TraceStep = "resource_metadata"             // RFC 9728
	TraceAuthServerMeta TraceStep = "authorization_server_metadata" // RFC 8414 / OpenID
	TraceRegistration   TraceStep = "registration"                  // RFC 7591
	TraceClientCheck    TraceStep = "client_check"                  // is a stored registration still known
	TraceToken          TraceStep = "token"                         // the code exchange
	TraceRefresh        TraceStep = "refresh"
	TraceRevocation     TraceStep = "revocation" // RFC 7009
)

// TraceHeaders are the response headers a Trace may carry (lower case).
var TraceHeaders = []string{"content-type", "www-authenticate", "location", "cache-control", "retry-after", "dpop-nonce", "access-control-allow-origin"}

// traceSteps maps the engine's names of its requests (the what of its
// error messages) to trace steps.
var traceSteps = map[string]TraceStep{
	probeWhat:                               TraceChallenge,
	"protected resource metadata request":   TraceResourceMeta,
	"authorization server metadata request": TraceAuthServerMeta,
	"client registration request":           TraceRegistration,
	"client check request":                  TraceClientCheck,
	"token request":                         TraceToken,
	refreshWhat:                             TraceRefresh,
	"revocation request":                    TraceRevocation,
}

// traceExchange reports one exchange to h.trace, if set.
func (h httpClient) traceExchange(what string, req *http.Request, start time.Time, status int, header http.Header, body []byte, err error) {
	if h.trace == nil {
		return
	}
	step, ok := traceSteps[what]
	if !ok {
		return
	}
	t := Trace{Step: step, Method: req.Method, URL: req.URL.Redacted(), Status: status, Ms: float64(time.Since(start).Microseconds()) / 1000}
	for _, k := range TraceHeaders {
		if v := header.Get(k); v != "" {
			if t.Headers == nil {
				t.Headers = map[string]string{}
			}
			t.Headers[k] = v
		}
	}
	if step == TraceResourceMeta || step == TraceAuthServerMeta {
		t.Body = string(body)
	}
	if err != nil {
		t.Error = string(CodeOf(err))
		var e *Error
		if errors.As(err, &e) && e.Reason != "" {
			t.Error += " (" + e.Reason + ")"
		}
	}
	h.trace(t)
}
