// Entry point of pages/sdk2-auth.bundle.js: the MCP TypeScript SDK v2's
// client package (@modelcontextprotocol/client), of which only what
// pages/sdk2.js calls: auth() and the WWW-Authenticate parser, the same
// three names as sdk-entry.js takes from v1 (v2 has no deep import paths:
// everything comes from the package's root, and esbuild keeps only what
// these reach). npm ci && npm run build; go run ./bench does it when the
// bundle is missing or stale.
export { auth, extractWWWAuthenticateParams, UnauthorizedError } from '@modelcontextprotocol/client';
