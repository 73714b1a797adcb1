// The MCP TypeScript SDK needs a bundler; mcp-oauth-wasm does not. This
// page bundles only the SDK (npm run build:static) and loads the package's
// modules as they are, through an import map.
export { Client } from '@modelcontextprotocol/sdk/client/index.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
