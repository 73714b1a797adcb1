package mcpoauth

import (
	"bytes"
	"io"
	"net/http"
)

// Transport returns an http.RoundTripper for talking to the MCP server
// natively (the browser's equivalent is client.fetch in mcp-oauth.js): it
// adds the Bearer token to requests for the MCP server's origin only, and
// answers 401 and 403 through HandleResponse, resending the request when
// new tokens were stored. base carries the requests (default
// http.DefaultTransport). Response bodies, SSE streams included, are
// passed through untouched.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &authTransport{c: c, base: base}
}

type authTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Tokens only go to the MCP server they were issued for.
	if !sameOrigin(req.URL, t.c.mcp) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	body, err := replayableBody(req)
	if err != nil {
		return nil, err
	}
	op := &Operation{}
	for {
		r := req.Clone(ctx)
		r.Body = body()
		op.SentToken = ""
		tok, err := t.c.AccessToken(ctx)
		op.DPoP = false
		switch {
		case err == nil && tok.TokenType == dpopTokenType:
			h, err := t.c.DPoPHeaders(ctx, r.Method, r.URL.String(), tok.AccessToken)
			if err != nil {
				return nil, err
			}
			r.Header.Set("Authorization", h.Get("Authorization"))
			r.Header.Set("DPoP", h.Get("DPoP"))
			op.SentToken, op.DPoP = tok.AccessToken, true
		case err == nil:
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			op.SentToken = tok.AccessToken
		case CodeOf(err) != CodeAuthRequired:
			return nil, err
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
			return resp, err
		}
		retry, err := t.c.HandleResponse(ctx, resp.StatusCode, resp.Header, op)
		if err != nil || !retry {
			if err != nil {
				resp.Body.Close()
				return nil, err
			}
			return resp, nil
		}
		resp.Body.Close()
	}
}

// replayableBody returns a function that yields a fresh copy of req's body
// for each attempt.
func replayableBody(req *http.Request) (func() io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return func() io.ReadCloser { return http.NoBody }, nil
	}
	if req.GetBody != nil {
		return func() io.ReadCloser {
			b, err := req.GetBody()
			if err != nil {
				return io.NopCloser(&errReader{err})
			}
			return b
		}, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	return func() io.ReadCloser { return io.NopCloser(bytes.NewReader(data)) }, nil
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }
