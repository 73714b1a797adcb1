// Command nativeclient is the MCP conformance suite's client for the
// engine, run natively: `conformance/run.sh` (or `./build.sh conformance`)
// starts it with the scenario's MCP server URL as its last argument. It
// authorizes headlessly (mcpoauthtest.HeadlessUserAgent reads the
// authorization endpoint's redirect, as the suite's reference client does),
// then speaks enough MCP over Streamable HTTP to exercise 401 and 403
// handling: initialize, tools/list, tools/call of the first tool.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// cimdURL is the Client ID Metadata Document URL the suite expects
// (its reference client hard-wires the same one; the suite never fetches it).
const cimdURL = "https://conformance-test.local/client-metadata.json"

// suiteContext is MCP_CONFORMANCE_CONTEXT.
type suiteContext struct {
	Name              string `json:"name"`
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	ClientMetadataURL string `json:"client_metadata_url"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nativeclient [flags...] <mcp server URL>")
		os.Exit(2)
	}
	if err := run(os.Args[len(os.Args)-1]); err != nil {
		fmt.Fprintln(os.Stderr, "nativeclient:", err)
		if code := mcpoauth.CodeOf(err); code != "" {
			fmt.Fprintln(os.Stderr, "code:", code)
		}
		os.Exit(1)
	}
}

func run(serverURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var sc suiteContext
	if raw := os.Getenv("MCP_CONFORMANCE_CONTEXT"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &sc); err != nil {
			return fmt.Errorf("MCP_CONFORMANCE_CONTEXT is not JSON: %v", err)
		}
	}
	if sc.ClientMetadataURL == "" {
		sc.ClientMetadataURL = cimdURL
	}
	client, err := mcpoauth.NewClient(mcpoauth.Config{
		MCPURL:            serverURL,
		RedirectURI:       "http://localhost:3000/callback",
		ClientName:        "mcp-oauth-wasm conformance client",
		ClientID:          sc.ClientID,
		ClientSecret:      sc.ClientSecret,
		ClientMetadataURL: sc.ClientMetadataURL,
		UserAgent:         &mcpoauthtest.HeadlessUserAgent{},
		OnProgress: func(p mcpoauth.Progress) {
			fmt.Fprintf(os.Stderr, "progress: %s %s\n", p.Step, p.Detail)
		},
		OnWarning: func(e *mcpoauth.Error) { fmt.Fprintln(os.Stderr, "warning:", e) },
	})
	if err != nil {
		return err
	}
	s := &session{url: serverURL, http: &http.Client{Transport: client.Transport(nil)}}
	if _, err := s.request(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcp-oauth-wasm-conformance", "version": "0"},
	}); err != nil {
		return err
	}
	if err := s.notify(ctx, "notifications/initialized"); err != nil {
		return err
	}
	res, err := s.request(ctx, "tools/list", map[string]any{})
	if err != nil {
		return err
	}
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res, &list); err != nil {
		return fmt.Errorf("tools/list result: %v", err)
	}
	fmt.Fprintf(os.Stderr, "tools: %d\n", len(list.Tools))
	if len(list.Tools) > 0 {
		if _, err := s.request(ctx, "tools/call", map[string]any{"name": list.Tools[0].Name, "arguments": map[string]any{}}); err != nil {
			return err
		}
	}
	return nil
}

// session is a minimal MCP Streamable HTTP client.
type session struct {
	url       string
	http      *http.Client
	sessionID string
	nextID    int
}

func (s *session) post(ctx context.Context, msg map[string]any) (*http.Response, error) {
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.sessionID != "" {
		req.Header.Set("Mcp-Session-Id", s.sessionID)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		s.sessionID = id
	}
	return resp, nil
}

func (s *session) notify(ctx context.Context, method string) error {
	resp, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "method": method})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: HTTP %d", method, resp.StatusCode)
	}
	return nil
}

func (s *session) request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	s.nextID++
	id := s.nextID
	resp, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, bytes.TrimSpace(b))
	}
	var payloads [][]byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				payloads = append(payloads, []byte(strings.TrimSpace(line)))
			}
		}
	} else {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		payloads = append(payloads, b)
	}
	for _, p := range payloads {
		var msg struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(p, &msg) != nil || msg.ID == nil || *msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("%s: JSON-RPC error %d: %s", method, msg.Error.Code, msg.Error.Message)
		}
		return msg.Result, nil
	}
	return nil, fmt.Errorf("%s: no response with id %d", method, id)
}
