module github.com/mcp-oauth-wasm/mcp-oauth-wasm

go 1.26.8

require golang.org/x/oauth2 v0.38.0
