// Entry point of mcp-sdk.js, the browser bundle of the official MCP
// TypeScript SDK client that the demo page imports. Build: npm ci && npm run build
export { Client } from '@modelcontextprotocol/sdk/client/index.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
export { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
