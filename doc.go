// Package mcpoauth is the OAuth engine of mcp-oauth-wasm: everything the MCP
// authorization specification asks of a client, in plain Go with no
// syscall/js, so it runs and is tested natively.
//
// The browser layer (package main in ./wasm) supplies what only a browser
// has, through small interfaces defined here:
//
//   - [Store]: where records live (localStorage in the browser);
//   - [UserAgent]: how the authorization page is shown (popup, redirect, or a
//     function supplied by an extension or a test);
//   - [Locker]: mutual exclusion across tabs (Web Locks) around refresh;
//   - an [net/http.RoundTripper]: HTTP (fetch in the browser).
//
// One file per protocol step: challenge.go (WWW-Authenticate), discovery.go
// (RFC 9728 and RFC 8414 metadata), registration.go (pre-registered, CIMD,
// RFC 7591), authorization.go (PKCE request and RFC 9207 response checks),
// token.go (code exchange and refresh), storage.go (records), client.go (the
// flow that ties them together), errors.go (stable error codes).
package mcpoauth
