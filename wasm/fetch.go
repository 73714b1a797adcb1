//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// fetchRoundTrip is the engine's HTTP in the browser: the page's own
// fetch, in CORS mode, without cookies, never following redirects (metadata
// must be served at its URL; a token endpoint that redirects is refused),
// aborted when the request's context ends. Using it instead of net/http's
// client keeps ~0.85 MB out of the wasm; passing it as a function (not an
// http.RoundTripper) keeps TLS and X.509 code out too (mcpoauth.RoundTripFunc).
func fetchRoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	headers := map[string]any{}
	for k, vs := range req.Header {
		headers[k] = strings.Join(vs, ", ")
	}
	init := map[string]any{
		"method":      req.Method,
		"headers":     headers,
		"mode":        "cors",
		"credentials": "omit",
		"redirect":    "manual",
		"cache":       "no-store",
	}
	// safejs.ValueOf takes plain Go values only: JS values (the body, the
	// signal) are set on the converted object.
	initValue, err := safejs.ValueOf(init)
	if err != nil {
		return nil, err
	}
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		arr, err := global("Uint8Array").New(len(body))
		if err != nil {
			return nil, err
		}
		if _, err := safejs.CopyBytesToJS(arr, body); err != nil {
			return nil, err
		}
		if err := initValue.Set("body", arr); err != nil {
			return nil, err
		}
	}
	controller, err := global("AbortController").New()
	if err != nil {
		return nil, err
	}
	signal, _ := controller.Get("signal")
	if err := initValue.Set("signal", signal); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _, _ = controller.Call("abort") })

	p, err := safejs.Global().Call("fetch", req.URL.String(), initValue)
	if err != nil {
		stop()
		return nil, fmt.Errorf("fetch threw: %v", err)
	}
	resp, err := await(ctx, p, mcpoauth.CodeNetworkError)
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A TypeError: the browser says no more than "Failed to fetch".
		cause := errors.New(strings.TrimPrefix(err.Error(), "TypeError: "))
		return nil, &mcpoauth.NoAnswer{Reason: noAnswerReason(ctx, req.URL.String()), Err: cause}
	}
	status := jsInt(resp, "status")
	if jsString(resp, "type") == "opaqueredirect" {
		status = http.StatusFound // redirect: "manual" hides the status and Location
	}
	out := &http.Response{
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode: status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  responseHeaders(resp),
		Request: req,
	}
	body, _ := resp.Get("body")
	if body.IsNull() || body.IsUndefined() {
		stop()
		out.Body = http.NoBody
		return out, nil
	}
	reader, err := body.Call("getReader")
	if err != nil {
		stop()
		return nil, err
	}
	out.Body = &streamBody{ctx: ctx, reader: reader, stop: stop}
	return out, nil
}

func jsInt(v safejs.Value, name string) int {
	f, err := v.Get(name)
	if err != nil {
		return 0
	}
	n, _ := f.Int()
	return n
}

// responseHeaders copies the headers a CORS response exposes.
func responseHeaders(resp safejs.Value) http.Header {
	h := http.Header{}
	headers, err := resp.Get("headers")
	if err != nil {
		return h
	}
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v, _ := arg(args, 0).String()
		k, _ := arg(args, 1).String()
		h.Add(k, v) // fetch joins repeated headers with ", "; the challenge parser reads lists
		return nil
	})
	if err != nil {
		return h
	}
	defer cb.Release()
	_, _ = headers.Call("forEach", cb.Value())
	return h
}

// streamBody reads a fetch Response body stream chunk by chunk, so a body
// is never read further than the engine asks (an SSE stream stays open
// only until Close cancels it).
type streamBody struct {
	ctx    context.Context
	reader safejs.Value
	buf    []byte
	done   bool
	stop   func() bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done {
			return 0, io.EOF
		}
		res, err := await(b.ctx, mustCall(b.reader, "read"), mcpoauth.CodeNetworkError)
		if err != nil {
			return 0, err
		}
		done, _ := res.Get("done")
		if d, _ := done.Bool(); d {
			b.done = true
			continue
		}
		chunk, _ := res.Get("value")
		n, _ := chunk.Length()
		b.buf = make([]byte, n)
		if _, err := safejs.CopyBytesToGo(b.buf, chunk); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *streamBody) Close() error {
	if !b.done {
		b.done = true
		_, _ = b.reader.Call("cancel")
	}
	b.stop()
	return nil
}

func mustCall(v safejs.Value, method string) safejs.Value {
	r, err := v.Call(method)
	if err != nil {
		return safejs.Undefined()
	}
	return r
}

// noAnswerReason tells why a fetch got no answer, the way an inspector
// needs to know: a no-cors fetch of the same URL resolves (opaque) when
// the server is up but sends no CORS headers for this origin, and rejects
// again when nothing answers there.
func noAnswerReason(ctx context.Context, url string) string {
	init, err := safejs.ValueOf(map[string]any{"mode": "no-cors", "credentials": "omit", "cache": "no-store"})
	if err != nil {
		return mcpoauth.ReasonUnreachable
	}
	p, err := safejs.Global().Call("fetch", url, init)
	if err != nil {
		return mcpoauth.ReasonUnreachable
	}
	if _, err := await(ctx, p, mcpoauth.CodeNetworkError); err != nil {
		return mcpoauth.ReasonUnreachable
	}
	return mcpoauth.ReasonCORS
}
