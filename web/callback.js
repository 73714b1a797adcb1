// callback.js: the page the authorization server redirects back to.
//
// Popup mode: hand the response URL to the app (callback-channel.js). No
// wasm is loaded here.
// Redirect mode (no popup waiting): complete the sign-in with the module
// and go back to the page that started it.
//
// Text from the URL (error_description is chosen by whoever built the
// link) is only ever written with textContent.

import { deliver, startedHere, sweep } from './callback-channel.js';

const status = document.getElementById('status');
const say = (text) => { if (status) status.textContent = text; };

const url = location.href;
const params = location.search ? new URLSearchParams(location.search) : new URLSearchParams(location.hash.slice(1));
const state = params.get('state') || '';

async function main() {
  if (!params.has('code') && !params.has('error')) {
    say('Signing in…');
    return;
  }
  sweep();
  if (window.opener || startedHere(state)) {
    deliver(url, state);
    // Drop the code from this window's address bar and history.
    history.replaceState(null, '', location.pathname);
    say(params.has('error') ? `Sign-in did not complete (${params.get('error')}). You can close this window.` : 'Signed in. You can close this window.');
    // The app that opened this window closes it when its sign-in ends: it
    // may first send it to the authorization server again (a step-up the
    // server refused for the client's registration). Severed from the app
    // (COOP on the way), this window closes itself.
    if (!window.opener) setTimeout(() => window.close(), 300);
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
