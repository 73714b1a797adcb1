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
// An authorization response is a few hundred bytes; anything near this
// is not one, and is never stored.
const MAX_RESPONSE_URL = 8192;

const status = document.getElementById('status');
const say = (text) => { if (status) status.textContent = text; };

const url = location.href;
const params = location.search ? new URLSearchParams(location.search) : new URLSearchParams(location.hash.slice(1));
const state = params.get('state') || '';

function sweepOldRelays() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith(CALLBACK_KEY)) continue;
      let at = 0;
      try { at = JSON.parse(localStorage.getItem(k) || '{}').at; } catch {}
      if (!(Date.now() - at < TTL_MS)) localStorage.removeItem(k);
    }
  } catch {}
}

// startedHere reports whether a page of this origin started a popup
// sign-in with this state (mcp-oauth.js writes the marker before it
// navigates the popup), and not too long ago. Only then is the response
// relayed through localStorage: a page on another origin can open this
// page in windows it owns, with any state, and must not be able to fill
// this origin's storage.
function startedHere() {
  if (!state || state.length > 512) return false;
  try {
    const at = Number(localStorage.getItem(POPUP_MARKER_KEY + state));
    return at > 0 && Date.now() - at < TTL_MS;
  } catch {
    return false;
  }
}

async function main() {
  if (!params.has('code') && !params.has('error')) {
    say('Signing in…');
    return;
  }
  sweepOldRelays();
  const started = startedHere();
  if (window.opener || started) {
    // A window another origin opened gets here too; postMessage (to this
    // origin only) and the BroadcastChannel stay on this origin, where the
    // app takes only the response for a state it is waiting for.
    const message = { type: CALLBACK_MESSAGE, url };
    try { if (window.opener) window.opener.postMessage(message, location.origin); } catch {}
    try { const bc = new BroadcastChannel(CALLBACK_MESSAGE); bc.postMessage(message); bc.close(); } catch {}
    if (started && url.length <= MAX_RESPONSE_URL) {
      try { localStorage.setItem(CALLBACK_KEY + state, JSON.stringify({ url, at: Date.now() })); } catch {}
    }
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
