// Types for mcp-oauth-wasm/worker: the same API as mcp-oauth.js.
export * from './mcp-oauth.js';
