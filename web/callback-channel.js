// callback-channel.js: how the authorization response gets from the
// callback page (callback.js) to the page that opened the popup. Both
// sides live here, so that they cannot drift apart.
//
// A COOP page on the way can sever the popup from its opener, so the
// callback page uses every same-origin channel it has: postMessage to the
// opener (to this origin only), a BroadcastChannel, and a short-lived
// localStorage key that the app also polls. The storage relay is written
// only for a sign-in this origin started (a marker the app writes before it
// navigates the popup) and only for a response the size of one: a page on
// another origin can open callback.html in windows it owns, with any
// state, and must not be able to fill this origin's storage.

import { CONTRACT } from './contract.js';

export const CALLBACK_MESSAGE = 'mcp-oauth-callback';
const RELAY_KEY = 'mcp-oauth-callback:';
const MARKER_KEY = 'mcp-oauth-popup:';
// A sign-in and its relay live as long as the engine's pending sign-in.
export const CALLBACK_TTL_MS = CONTRACT.pendingLifetimeSeconds * 1000;
// An authorization response is a few hundred bytes; anything near this is
// not one, and is never stored.
const MAX_RESPONSE_URL = 8192;
const MAX_STATE = 512;

const ls = () => globalThis.localStorage;

// ---- the app's side --------------------------------------------------------

// markStarted records that this page started a popup sign-in with state.
export function markStarted(state) {
  try { ls().setItem(MARKER_KEY + state, String(Date.now())); } catch {}
}

// forget removes the marker and any relay entry of state.
export function forget(state) {
  try {
    ls().removeItem(MARKER_KEY + state);
    ls().removeItem(RELAY_KEY + state);
  } catch {}
}

// readRelay takes the response relayed for state through localStorage, if
// there is a fresh one of a plausible size.
export function readRelay(state) {
  try {
    const raw = ls().getItem(RELAY_KEY + state);
    if (!raw) return null;
    ls().removeItem(RELAY_KEY + state);
    if (raw.length > MAX_RESPONSE_URL + 100) return null;
    const { url, at } = JSON.parse(raw);
    return Date.now() - at < CALLBACK_TTL_MS && typeof url === 'string' ? url : null;
  } catch {
    return null;
  }
}

// isRelayEvent reports whether a storage event is the relay for state.
export const isRelayEvent = (e, state) => e.key === RELAY_KEY + state && !!e.newValue;

// sweep removes relay entries and markers that expired, and relay entries
// too large to be a response (callback.js never writes those; an older
// version could be made to).
export function sweep() {
  try {
    const s = ls();
    const now = Date.now();
    for (let i = s.length - 1; i >= 0; i--) {
      const k = s.key(i);
      if (k?.startsWith(RELAY_KEY)) {
        const raw = s.getItem(k) || '';
        let at = 0;
        try { at = raw.length <= MAX_RESPONSE_URL + 100 ? JSON.parse(raw).at : 0; } catch {}
        if (!(now - at < CALLBACK_TTL_MS)) s.removeItem(k);
      } else if (k?.startsWith(MARKER_KEY)) {
        if (!(now - Number(s.getItem(k)) < CALLBACK_TTL_MS)) s.removeItem(k);
      }
    }
  } catch {}
}

// ---- the callback page's side ----------------------------------------------

// startedHere reports whether a page of this origin started a popup sign-in
// with state, less than CALLBACK_TTL_MS ago.
export function startedHere(state) {
  if (!state || state.length > MAX_STATE) return false;
  try {
    const at = Number(ls().getItem(MARKER_KEY + state));
    return at > 0 && Date.now() - at < CALLBACK_TTL_MS;
  } catch {
    return false;
  }
}

// deliver hands the response URL to the app over every channel. A window
// another origin opened gets here too: postMessage (to this origin only)
// and the BroadcastChannel stay on this origin, where the app takes only
// the response for a state it is waiting for.
export function deliver(url, state) {
  const message = { type: CALLBACK_MESSAGE, url };
  try { if (window.opener) window.opener.postMessage(message, location.origin); } catch {}
  try { const bc = new BroadcastChannel(CALLBACK_MESSAGE); bc.postMessage(message); bc.close(); } catch {}
  if (startedHere(state) && url.length <= MAX_RESPONSE_URL) {
    try { ls().setItem(RELAY_KEY + state, JSON.stringify({ url, at: Date.now() })); } catch {}
  }
}
