// user-agents.js: the three ways of showing the authorization page, behind
// one interface:
//
//   start(signal)          runs synchronously inside authorize(), in the
//                          user's click: returns the attempt {signal, ...}
//                          (the popup agent opens its window here, before
//                          any await, or popup blockers refuse it)
//   open(url, {state, redirectUri, attempt})
//                          called by the engine: resolves with the callback
//                          URL; attempt is undefined for a sign-in that
//                          client.fetch started without a click
//   finish(attempt)        releases what start took
//   navigates              true for redirect mode: the page goes away, and
//                          the engine never calls open
//
// The engine checks what comes back (state, iss, the redirect URI); these
// only carry it.

import { abortedError, fail } from './errors.js';
import { CALLBACK_MESSAGE, CALLBACK_TTL_MS, forget, isRelayEvent, markStarted, readRelay } from './callback-channel.js';
import { stateOf } from './urls.js';

export const DEFAULT_POPUP = { width: 600, height: 700, timeoutMs: 10 * 60 * 1000 };

export function openPopup({ width, height }) {
  const left = Math.max(0, (screenX || 0) + ((outerWidth || width) - width) / 2);
  const top = Math.max(0, (screenY || 0) + ((outerHeight || height) - height) / 2);
  return window.open('about:blank', `mcp-oauth-${Math.random().toString(36).slice(2)}`, `popup=yes,width=${width},height=${height},left=${left},top=${top}`);
}

const blocked = () => fail('popup_blocked', 'the browser blocked the sign-in window; call authorize() from a click handler');
const closeQuietly = (w) => { try { if (w && !w.closed) w.close(); } catch {} };

// popupAgent shows the page in a popup. onLate receives a callback URL
// that arrives after the sign-in was reported popup_closed.
export function popupAgent(popupOptions, { onLate, pollMs, hasFocus } = {}) {
  return {
    navigates: false,
    start(signal) {
      const win = openPopup(popupOptions);
      if (!win) throw blocked();
      return { signal, window: win };
    },
    async open(url, { state, attempt }) {
      let popup = attempt?.window;
      const own = !popup || popup.closed; // not the window the click opened
      if (own) popup = openPopup(popupOptions);
      if (!popup) throw blocked();
      if (attempt) attempt.window = popup; // a second round (a refused step-up) reuses it
      try {
        const callbackUrl = await waitForCallback({ popup, url, state, timeoutMs: popupOptions.timeoutMs, signal: attempt?.signal, onLate, pollMs, hasFocus });
        // The window stays open: the engine may send it to the
        // authorization server again, and closing a window costs this
        // thread several milliseconds just when the engine needs it for
        // the code exchange. authorize() closes it when it ends (finish);
        // a window opened here without a click's attempt is closed later.
        if (own && !attempt) setTimeout(() => closeQuietly(popup), 1000);
        return callbackUrl;
      } catch (e) {
        closeQuietly(popup);
        throw e;
      }
    },
    finish(attempt) { closeQuietly(attempt?.window); },
  };
}

// functionAgent hands the page to the app's function (a test's, or
// chrome.identity.launchWebAuthFlow). The function gets a signal of its
// own; the sign-in ends at the caller's abort whether or not it listens.
export function functionAgent(fn) {
  return {
    navigates: false,
    start(signal) { return { signal }; },
    async open(url, { state, redirectUri, attempt }) {
      const controller = new AbortController();
      const signal = attempt?.signal;
      if (signal) signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      const cb = await fn(url, { signal: controller.signal, state, redirectUri });
      if (cb === undefined) throw fail('popup_closed', 'the mode function resolved without a callback URL (the authorization window was closed)');
      if (typeof cb !== 'string') throw fail('authorization_error', 'the mode function must resolve with the callback URL string');
      return cb;
    },
    finish() {},
  };
}

// redirectAgent navigates the whole page (Client.authorize does it).
export function redirectAgent() {
  return {
    navigates: true,
    start(signal) { return { signal }; },
    open() { throw fail('auth_required', 'this client uses redirect mode: call authorize() to sign in'); },
    finish() {},
  };
}

// waitForCallback navigates popup to url and resolves with the callback
// URL for state, delivered by callback.html (callback-channel.js). A
// message from this sign-in's own popup is passed on whatever its state,
// so that a tampered response ends as state_mismatch (the engine's check),
// not as a silent wait; messages from elsewhere (another tab's sign-in)
// must carry this state.
//
// popup.closed alone is not trusted while a COOP page may have severed the
// popup from this window: then closed reads true while the user signs in.
// Severance happens when the first authorization-server page commits, so a
// popup that reads closed before it was ever seen at a cross-origin page
// (where reading its location throws) is taken as severed, and the sign-in
// waits for the callback, the timeout or the AbortSignal. A popup seen at
// the authorization server and then closed was closed by the user when
// this page has the focus again (a severed popup keeps it).
export function waitForCallback({ popup, url, state, timeoutMs, signal, onLate, pollMs = 250, hasFocus = () => document.hasFocus() }) {
  return new Promise((resolve, reject) => {
    const timers = [];
    let bc = null;
    let late = false; // rejected as closed, still listening
    const cleanup = () => {
      timers.forEach((t) => clearInterval(t));
      removeEventListener('message', onMessage);
      removeEventListener('storage', onStorage);
      if (bc) bc.close();
      if (signal) signal.removeEventListener('abort', onAbort);
      forget(state);
    };
    const done = (fn, v) => { cleanup(); fn(v); };
    const accept = (data, fromOwnPopup = false) => {
      if (data && data.type === CALLBACK_MESSAGE && typeof data.url === 'string' && (fromOwnPopup || stateOf(data.url) === state)) {
        if (late) {
          cleanup();
          if (onLate) onLate(data.url);
        } else done(resolve, data.url);
      }
    };
    const relayed = () => { const u = readRelay(state); if (u) accept({ type: CALLBACK_MESSAGE, url: u }); return !!u; };
    // The window reads closed, but a COOP page may have severed a popup the
    // user is still signing in with: reject now, and keep listening (until
    // the pending sign-in expires) so that a sign-in the user finishes
    // anyway still completes (onLate).
    const closedButListening = () => {
      late = true;
      timers.forEach((t) => clearInterval(t));
      timers.length = 0;
      if (signal) signal.removeEventListener('abort', onAbort);
      timers.push(setInterval(relayed, 1000));
      timers.push(setTimeout(cleanup, CALLBACK_TTL_MS));
      reject(fail('popup_closed', 'the sign-in window was closed before sign-in finished'));
    };
    const onMessage = (e) => { if (e.origin === location.origin) accept(e.data, e.source === popup); };
    const onStorage = (e) => { if (isRelayEvent(e, state)) relayed(); };
    const onAbort = () => { closeQuietly(popup); done(reject, abortedError('the sign-in')); };

    if (signal?.aborted) return onAbort();
    addEventListener('message', onMessage);
    addEventListener('storage', onStorage);
    if (globalThis.BroadcastChannel) {
      bc = new BroadcastChannel(CALLBACK_MESSAGE);
      bc.onmessage = (e) => accept(e.data);
    }
    if (signal) signal.addEventListener('abort', onAbort);
    markStarted(state);

    try {
      popup.location.href = url;
    } catch (e) {
      return done(reject, fail('popup_blocked', `the sign-in window could not be navigated: ${e.message}`));
    }
    let seenCrossOrigin = false;
    let closedAt = 0;
    timers.push(setInterval(() => {
      if (relayed()) return;
      if (!popup.closed) {
        closedAt = 0;
        if (!seenCrossOrigin) {
          try { void popup.location.href; } catch { seenCrossOrigin = true; }
        }
        return;
      }
      if (!seenCrossOrigin) return; // severed by COOP at the first page: wait
      // Closed, or severed by a later page's COOP (a federated login). A
      // 1 s grace lets a callback that was just posted arrive.
      if (!hasFocus()) { closedAt = 0; return; }
      if (!closedAt) closedAt = Date.now();
      if (Date.now() - closedAt > 1000) closedButListening();
    }, pollMs));
    timers.push(setTimeout(() => {
      closeQuietly(popup);
      done(reject, fail('timeout', `sign-in did not finish within ${Math.round(timeoutMs / 1000)} s (popup.timeoutMs)`));
    }, timeoutMs));
  });
}
