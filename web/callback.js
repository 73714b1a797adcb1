// callback.js: the page the authorization server redirects back to.
//
// Popup mode: hand the response URL to the app over every same-origin
// channel (postMessage to the opener, a BroadcastChannel, a short-lived
// localStorage key the app polls), because a COOP page on the way may have
// severed window.opener. No wasm is loaded here.
// Redirect mode (no popup waiting): complete the sign-in with the module
// and go back to the page that started it.
//
// Text from the URL (error_description is chosen by whoever built the
// link) is only ever written with textContent.

const CALLBACK_MESSAGE = 'mcp-oauth-callback';
const CALLBACK_KEY = 'mcp-oauth-callback:';
const POPUP_MARKER_KEY = 'mcp-oauth-popup:';
const TTL_MS = 10 * 60 * 1000;

const status = document.getElementById('status');
const say = (text) => { status.textContent = text; };

const url = location.href;
const params = location.search ? new URLSearchParams(location.search) : new URLSearchParams(location.hash.slice(1));
const state = params.get('state') || '';

function sweepOldRelays() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith(CALLBACK_KEY)) continue;
      const { at } = JSON.parse(localStorage.getItem(k) || '{}');
      if (!(Date.now() - at < TTL_MS)) localStorage.removeItem(k);
    }
  } catch {}
}

function isPopup() {
  if (window.opener) return true;
  try { return localStorage.getItem(POPUP_MARKER_KEY + state) !== null; } catch { return false; }
}

async function main() {
  if (!params.has('code') && !params.has('error')) {
    say('Signing in…');
    return;
  }
  sweepOldRelays();
  if (isPopup()) {
    const message = { type: CALLBACK_MESSAGE, url };
    try { if (window.opener) window.opener.postMessage(message, location.origin); } catch {}
    try { const bc = new BroadcastChannel(CALLBACK_MESSAGE); bc.postMessage(message); bc.close(); } catch {}
    try { localStorage.setItem(CALLBACK_KEY + state, JSON.stringify({ url, at: Date.now() })); } catch {}
    // Drop the code from this window's address bar and history.
    history.replaceState(null, '', location.pathname);
    say(params.has('error') ? `Sign-in did not complete (${params.get('error')}). You can close this window.` : 'Signed in. You can close this window.');
    setTimeout(() => window.close(), 300);
    return;
  }
  try {
    const { load } = await import('./mcp-oauth.js');
    const mcpOAuth = await load();
    const result = await mcpOAuth.handleRedirectCallback(url);
    location.replace(result ? result.returnTo : './');
  } catch (e) {
    say(`Sign-in failed (${e.code || 'error'}): ${e.message}`);
  }
}

main();
