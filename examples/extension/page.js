// The extension page: ?mcp=<MCP server URL>. It signs in itself, or asks
// the service worker to.
import { load } from './lib/mcp-oauth.js';
import { createClient, initialize } from './auth.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const mcpUrl = new URLSearchParams(location.search).get('mcp') || '';
const mcpOAuth = await load();
const client = createClient(mcpOAuth, mcpUrl, 'mcp-oauth-page');
$('status').textContent = 'Ready';

$('connect').addEventListener('click', async () => {
  try {
    await client.authorize();
    $('status').textContent = `Signed in; initialize answered ${await initialize(client)}`;
  } catch (e) {
    $('status').textContent = e instanceof mcpOAuth.McpOAuthError ? `Failed (${e.code}): ${e.message}` : `Failed: ${e}`;
  }
});

$('connect-sw').addEventListener('click', async () => {
  const r = await chrome.runtime.sendMessage({ type: 'sign-in', mcpUrl });
  $('sw-status').textContent = r.ok ? `Service worker signed in; initialize answered ${r.status}` : `Service worker failed (${r.error})`;
});
