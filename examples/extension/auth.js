// The sign-in both the page and the service worker use: function mode with
// chrome.identity.launchWebAuthFlow, records in chrome.storage.local (a
// service worker has no localStorage).

/**
 * @param {import('mcp-oauth-wasm').McpOAuth} mcpOAuth
 * @param {string} mcpUrl
 * @param {string} prefix storage key prefix: the page and the worker sign in separately here
 */
export function createClient(mcpOAuth, mcpUrl, prefix) {
  return mcpOAuth.createClient({
    mcpUrl,
    redirectUri: chrome.identity.getRedirectURL('callback'), // https://<extension-id>.chromiumapp.org/callback
    mode: (url) => chrome.identity.launchWebAuthFlow({ url, interactive: true }),
    storage: mcpOAuth.chromeStorage(),
    storageKeyPrefix: prefix,
    clientName: 'mcp-oauth-wasm extension example',
  });
}

/**
 * initialize on the MCP server with the client's token: proof it works.
 * @param {import('mcp-oauth-wasm').McpOAuthClient} client
 */
export async function initialize(client) {
  const resp = await client.fetch(client.mcpUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'extension', version: '0.1.0' } } }),
  });
  return resp.status;
}
