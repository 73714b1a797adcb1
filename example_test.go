//go:build !js

package mcpoauth_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
	"github.com/mcp-oauth-wasm/mcp-oauth-wasm/mcpoauthtest"
)

// A native Go MCP client: the engine signs in on the first 401 (through
// the UserAgent, here one that follows the authorization server's
// redirects) and sends the Bearer token from then on.
func Example() {
	server := mcpoauthtest.NewServer(mcpoauthtest.Options{}) // an authorization server and MCP server
	defer server.Close()

	client, err := mcpoauth.NewClient(mcpoauth.Config{
		MCPURL:      server.MCPURL(),
		RedirectURI: "http://127.0.0.1:9/callback",
		UserAgent:   &mcpoauthtest.HeadlessUserAgent{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	httpClient := &http.Client{Transport: client.Transport(nil)}
	resp, err := httpClient.Post(server.MCPURL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	tokens, _ := client.Tokens(context.Background())
	fmt.Println(tokens.TokenType, tokens.Issuer == server.Issuer())
	// Output:
	// 200 OK
	// Bearer true
}

// Redirect mode (no UserAgent): begin, send the user to the URL, and
// complete with the URL the authorization server redirected back to.
func ExampleClient_BeginAuthorization() {
	server := mcpoauthtest.NewServer(mcpoauthtest.Options{})
	defer server.Close()
	ctx := context.Background()

	client, _ := mcpoauth.NewClient(mcpoauth.Config{MCPURL: server.MCPURL(), RedirectURI: "http://127.0.0.1:9/callback"})
	req, err := client.BeginAuthorization(ctx, mcpoauth.AuthorizeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a browser the page navigates to req.URL; here the headless user
	// agent follows it to the redirect URI.
	callback, _ := (&mcpoauthtest.HeadlessUserAgent{}).OpenAuthorizationURL(ctx, req)

	tokens, _, err := client.CompleteAuthorization(ctx, callback)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tokens.AccessToken != "", tokens.Resource == server.MCPURL())
	// Output: true true
}

// Errors carry a stable code.
func ExampleCodeOf() {
	_, err := mcpoauth.NewClient(mcpoauth.Config{MCPURL: "http://mcp.example.com/mcp", RedirectURI: "https://app.example/cb"})
	fmt.Println(mcpoauth.CodeOf(err))
	// Output: insecure_url
}

// CheckIfAuthRequired asks the server without signing in.
func ExampleCheckIfAuthRequired() {
	server := mcpoauthtest.NewServer(mcpoauthtest.Options{})
	defer server.Close()
	required, err := mcpoauth.CheckIfAuthRequired(context.Background(), nil, server.MCPURL(), nil)
	fmt.Println(required, err)
	// Output: true <nil>
}
