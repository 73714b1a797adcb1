package mcpoauthtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MCPSession is an MCP client over Streamable HTTP just big enough for
// tests: JSON-RPC requests answered as JSON or SSE, notifications, the
// session id and protocol version headers. Give it an authorizing
// RoundTripper (mcpoauth.Client.Transport).
type MCPSession struct {
	HTTP *http.Client
	URL  string
	// SessionID is the Mcp-Session-Id the server assigned, if any.
	SessionID string
	// ProtocolVersion is what initialize negotiated.
	ProtocolVersion string
	nextID          int
}

// NewMCPSession returns a session for the MCP endpoint url.
func NewMCPSession(rt http.RoundTripper, url string) *MCPSession {
	return &MCPSession{HTTP: &http.Client{Transport: rt}, URL: url}
}

// HTTPError is a non-2xx answer from the MCP server.
type HTTPError struct {
	Status          int
	WWWAuthenticate string
	Body            string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("MCP server answered HTTP %d (WWW-Authenticate: %q): %s", e.Status, e.WWWAuthenticate, e.Body)
}

type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func (s *MCPSession) post(ctx context.Context, msg map[string]any) (*http.Response, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.SessionID != "" {
		req.Header.Set("Mcp-Session-Id", s.SessionID)
	}
	if s.ProtocolVersion != "" {
		req.Header.Set("Mcp-Protocol-Version", s.ProtocolVersion)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		s.SessionID = sid
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &HTTPError{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate"), Body: string(b)}
	}
	return resp, nil
}

// Call sends a JSON-RPC request and returns its result, read from a JSON
// body or from the SSE stream's data lines.
func (s *MCPSession) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	s.nextID++
	id := s.nextID
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	resp, err := s.post(ctx, msg)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var candidates [][]byte
	switch mt {
	case "application/json":
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		candidates = [][]byte{b}
	case "text/event-stream":
		// Read events until the response to our id arrives.
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
		var data []string
		for sc.Scan() {
			line := sc.Text()
			if d, ok := strings.CutPrefix(line, "data:"); ok {
				data = append(data, strings.TrimPrefix(d, " "))
				continue
			}
			if line == "" && len(data) > 0 {
				ev := []byte(strings.Join(data, "\n"))
				data = nil
				if r, ok, err := matchResponse(ev, id); ok || err != nil {
					return r, err
				}
			}
		}
		if len(data) > 0 {
			candidates = [][]byte{[]byte(strings.Join(data, "\n"))}
		} else if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading the SSE stream of %s: %w", method, err)
		}
	default:
		return nil, fmt.Errorf("%s: unexpected Content-Type %q", method, resp.Header.Get("Content-Type"))
	}
	for _, c := range candidates {
		if r, ok, err := matchResponse(c, id); ok || err != nil {
			return r, err
		}
	}
	return nil, fmt.Errorf("%s: no JSON-RPC response with id %d in the answer", method, id)
}

// matchResponse decodes one message (or a batch) and returns the result of
// the response with the given id.
func matchResponse(b []byte, id int) (json.RawMessage, bool, error) {
	b = bytes.TrimSpace(b)
	var msgs []rpcMessage
	if bytes.HasPrefix(b, []byte("[")) {
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, false, fmt.Errorf("malformed JSON-RPC batch %s: %w", b, err)
		}
	} else {
		var m rpcMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, false, fmt.Errorf("malformed JSON-RPC message %s: %w", b, err)
		}
		msgs = []rpcMessage{m}
	}
	for _, m := range msgs {
		if string(m.ID) != fmt.Sprint(id) || m.Method != "" {
			continue
		}
		if m.Error != nil {
			return nil, true, fmt.Errorf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)
		}
		return m.Result, true, nil
	}
	return nil, false, nil
}

func (s *MCPSession) Notify(ctx context.Context, method string) error {
	resp, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "method": method})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", method, resp.StatusCode)
	}
	return nil
}

// Initialize runs the MCP handshake: initialize, then
// notifications/initialized.
func (s *MCPSession) Initialize(ctx context.Context) error {
	res, err := s.Call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcp-oauth-wasm test client", "version": "0.0.0"},
	})
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(res, &ir); err != nil || ir.ProtocolVersion == "" {
		return fmt.Errorf("initialize: unusable result %s (%v)", res, err)
	}
	s.ProtocolVersion = ir.ProtocolVersion
	return s.Notify(ctx, "notifications/initialized")
}

// ListTools returns the names of the server's tools.
func (s *MCPSession) ListTools(ctx context.Context) ([]string, error) {
	res, err := s.Call(ctx, "tools/list", map[string]any{})
	if err != nil {
		return nil, fmt.Errorf("tools/list: %w", err)
	}
	var lr struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res, &lr); err != nil {
		return nil, fmt.Errorf("tools/list: %w", err)
	}
	var names []string
	for _, tl := range lr.Tools {
		names = append(names, tl.Name)
	}
	return names, nil
}

// CallTool calls a tool and returns the text of its content; a result with
// isError is an error.
func (s *MCPSession) CallTool(ctx context.Context, name string, args map[string]any) (string, error) {
	if args == nil {
		args = map[string]any{}
	}
	res, err := s.Call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", fmt.Errorf("tools/call %s: %w", name, err)
	}
	var cr struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res, &cr); err != nil {
		return "", fmt.Errorf("tools/call %s: %w", name, err)
	}
	var texts []string
	for _, c := range cr.Content {
		texts = append(texts, c.Text)
	}
	text := strings.Join(texts, "\n")
	if cr.IsError {
		return text, fmt.Errorf("tools/call %s: tool error: %s", name, text)
	}
	return text, nil
}
