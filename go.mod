module github.com/mcp-oauth-wasm/mcp-oauth-wasm

go 1.26.8

require (
	github.com/hack-pad/safejs v0.1.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)
