// Entry point of pages/sdk-auth.bundle.js: the official MCP TypeScript SDK's
// OAuth client, and nothing else, bundled for the browser (npm ci && npm run
// build; go run ./bench does it when the bundle is missing or stale). These
// are what a browser app that signs in with the SDK calls itself, the way
// StreamableHTTPClientTransport calls them on a 401.
export { auth, extractWWWAuthenticateParams, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
