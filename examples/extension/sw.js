// The service worker: it signs in when the page asks it to. It imports the
// package's worker entry (no import() in a service worker).
import { load } from './lib/worker.js';
import { createClient, initialize } from './auth.js';

chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type !== 'sign-in') return false;
  (async () => {
    const mcpOAuth = await load();
    const client = createClient(mcpOAuth, message.mcpUrl, 'mcp-oauth-sw');
    await client.authorize();
    reply({ ok: true, status: await initialize(client) });
  })().catch((/** @type {any} */ e) => reply({ ok: false, error: `${e.code}: ${e.message}` }));
  return true; // reply comes later
});
