// Command nativeclient is the MCP conformance suite's client for the
// engine, run natively: `conformance/run.sh` (or `./build.sh conformance`)
// starts it with the scenario's MCP server URL as its last argument. It
// authorizes headlessly (mcpoauthtest.HeadlessUserAgent reads the
// authorization endpoint's redirect, as the suite's reference client does),
// then speaks enough MCP over Streamable HTTP to exercise 401 and 403
// handling: initialize, tools/list, tools/call of the first tool.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/dpopkey"
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
	// A DPoP key: dpop 'auto' binds the tokens only where both servers
	// offer DPoP (the auth/dpop scenarios); everywhere else, Bearer.
	key, err := dpopkey.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpop key:", err)
		os.Exit(1)
	}
	client, err := mcpoauth.NewClient(mcpoauth.Config{
		DPoPKey:           key,
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
	s := mcpoauthtest.NewMCPSession(client.Transport(nil), serverURL)
	if err := s.Initialize(ctx); err != nil {
		return err
	}
	tools, err := s.ListTools(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tools: %v\n", tools)
	if len(tools) > 0 {
		if _, err := s.CallTool(ctx, tools[0], nil); err != nil {
			return err
		}
	}
	return nil
}
