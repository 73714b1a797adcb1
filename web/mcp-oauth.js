// mcp-oauth.js: the browser API of mcp-oauth-wasm (types: mcp-oauth.d.ts).
//
// The OAuth engine is Go compiled to WebAssembly (mcp-oauth.wasm). This
// module is the thin JS side: it loads the wasm on first need, owns what
// only a page can do (popups, navigation, postMessage, BroadcastChannel,
// Web Locks, storage events), and keeps the hot path in JS: a valid cached
// token and the fetch wrapper never wait for the wasm, and MCP response
// streams (SSE included) flow through the browser's own fetch untouched.

export const VERSION = '0.1.0';

// Where the callback page delivers the authorization response: a
// BroadcastChannel and postMessage type, and a short-lived localStorage key
// per state (COOP can sever the popup from its opener).
const CALLBACK_MESSAGE = 'mcp-oauth-callback';
const CALLBACK_KEY = 'mcp-oauth-callback:';
const POPUP_MARKER_KEY = 'mcp-oauth-popup:';
const CALLBACK_TTL_MS = 10 * 60 * 1000;
const REFRESH_SKEW_S = 30;
const DEFAULT_POPUP = { width: 600, height: 700, timeoutMs: 10 * 60 * 1000 };
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

export class McpOAuthError extends Error {
  constructor({ code, message, oauthError, oauthErrorDescription, status } = {}) {
    super(message || code || 'mcp-oauth error');
    this.name = 'McpOAuthError';
    this.code = code || 'invalid_config';
    if (oauthError) this.oauthError = oauthError;
    if (oauthErrorDescription) this.oauthErrorDescription = oauthErrorDescription;
    if (status) this.status = status;
  }
}

const fail = (code, message) => new McpOAuthError({ code, message });
const abortedError = () => fail('aborted', 'the sign-in was aborted');

// abortable settles like promise, except that it rejects with aborted as
// soon as signal aborts (after calling onAbort), whatever promise does.
function abortable(promise, signal, onAbort) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      if (onAbort) onAbort();
      reject(abortedError());
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

// toError turns a rejection from Go (a plain {code, message} object) or any
// thrown value into an McpOAuthError.
function toError(e) {
  if (e instanceof McpOAuthError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') return new McpOAuthError(e);
  if (e && e.name === 'AbortError') return fail('aborted', 'the operation was aborted');
  return fail('invalid_config', String(e && e.message || e));
}

async function goCall(promise) {
  try {
    return await promise;
  } catch (e) {
    throw toError(e);
  }
}

// ---- the wasm, started once per page, on first need ------------------------

let wasmUrlDefault = new URL('./mcp-oauth.wasm', import.meta.url);
let goApi = null;
let wasmModule = null;

// compileWasm fetches and compiles the wasm (streaming) once. A client
// created without a usable token starts the engine in the background, so a
// sign-in does not wait for it; a returning user with a valid token never
// fetches it.
function compileWasm() {
  if (!wasmModule) {
    wasmModule = (async () => {
      try {
        return await WebAssembly.compileStreaming(fetch(wasmUrlDefault));
      } catch {
        // A server that does not send application/wasm: compile from bytes.
        const resp = await fetch(wasmUrlDefault);
        if (!resp.ok) throw fail('network_error', `could not load ${wasmUrlDefault} (HTTP ${resp.status})`);
        return WebAssembly.compile(await resp.arrayBuffer());
      }
    })();
    wasmModule.catch(() => { wasmModule = null; });
  }
  return wasmModule;
}

function startWasm() {
  if (!goApi) {
    goApi = (async () => {
      const [module] = await Promise.all([
        compileWasm(),
        globalThis.Go ? null : import(new URL('./wasm_exec.js', import.meta.url).href),
      ]);
      const go = new globalThis.Go();
      const instance = await WebAssembly.instantiate(module, go.importObject);
      go.run(instance); // runs main until it waits; the API is then in place
      const api = globalThis.__mcpOAuthGo;
      if (!api) throw fail('invalid_config', 'mcp-oauth.wasm started but did not register its API');
      return api;
    })();
    goApi.catch(() => { goApi = null; }); // a failed load may be retried
  }
  return goApi;
}

// ---- rules mirrored from the engine for the fast path ----------------------

// canonicalMcpUrl is the MCP server's URL as this browser will fetch it
// (its own WHATWG parser), in the engine's canonical form: no fragment, no
// empty query, no lone "/" path. Only URLs in the grammar of canonicalurl.go
// are accepted, the ones on which the browser's reading and Go's agree;
// this value, not the option as written, is what the engine receives.
// TestBrowserCanonicalURLDifferential keeps the two in step.
const MCP_URL_CHARS = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?#%[\]]*$/;
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
function canonicalMcpUrl(raw, what = 'mcpUrl') {
  const bad = (code, why) => fail(code, `${what} ${JSON.stringify(String(raw))} ${why}`);
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw bad('invalid_config', 'is not an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('insecure_url', `has scheme ${JSON.stringify(u.protocol.slice(0, -1))}; only https (or http on localhost) is allowed`);
  if (!MCP_URL_CHARS.test(raw) || /%(?![0-9A-Fa-f]{2})/.test(raw)) throw bad('invalid_config', 'contains characters that browsers and this library may read differently (spaces, quotes, backslashes, non-ASCII, a stray %); percent-encode them');
  if (u.username || u.password) throw bad('insecure_url', 'carries user credentials in the URL');
  // The host and port as written must be what the browser will use: no
  // IPv4 shorthands, IPv6 spellings, leading zeros or empty ports.
  const written = (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(raw) || [])[1]?.toLowerCase();
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  if (written !== u.host && written !== `${u.host}:${defaultPort}`) throw bad('invalid_config', `is read by this browser as host ${JSON.stringify(u.host)}; write the host and port that way`);
  if (!/^(\[[0-9a-f:]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?)$/.test(u.hostname) || /(^|\.)xn--/.test(u.hostname)) {
    throw bad('invalid_config', 'must have a plain ASCII host name (letters, digits, "-", "_", dots; no IDN) or an IP address');
  }
  if (u.protocol === 'http:' && !LOOPBACK_HOSTS.includes(u.hostname)) throw bad('insecure_url', 'uses http on a non-loopback host; only https is allowed there');
  u.hash = '';
  if (!u.search) u.search = '';
  let s = u.href;
  if (u.pathname === '/' && !u.search) s = s.slice(0, -1);
  return s;
}

// freshToken mirrors Client.fresh (client.go): valid for at least the skew,
// capped at half the token's lifetime.
function freshToken(t, nowS) {
  if (!t.expires_at) return true;
  let skew = REFRESH_SKEW_S;
  if (t.issued_at > 0 && t.issued_at < t.expires_at) skew = Math.min(skew, Math.floor((t.expires_at - t.issued_at) / 2));
  return nowS + skew < t.expires_at;
}

const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, 'href').get; // a URL's own href, whatever a subclass overrides
const isHttpUrl = (s) => { try { return /^https?:$/.test(new URL(s).protocol); } catch { return false; } };
const sameOrigin = (a, b) => { try { return new URL(a).origin === new URL(b).origin; } catch { return false; } };
const stateOf = (url) => { try { const u = new URL(url); return u.searchParams.get('state') ?? new URLSearchParams(u.hash.slice(1)).get('state'); } catch { return null; } };

// ---- storage backends ------------------------------------------------------

const pageMemory = new Map(); // 'memory' storage: shared by this page's clients

function memoryBackend() {
  return {
    getItem: (k) => (pageMemory.has(k) ? pageMemory.get(k) : null),
    setItem: (k, v) => { pageMemory.set(k, String(v)); },
    removeItem: (k) => { pageMemory.delete(k); },
    keys: () => [...pageMemory.keys()],
    sync: true,
  };
}

function unavailableBackend(name, err) {
  const msg = `${name} is unavailable (${err && err.message || err}); the browser may block storage for this page (private mode, settings), or pass storage: 'memory'`;
  const throwIt = () => { throw fail('storage_error', msg); };
  return { getItem: throwIt, setItem: throwIt, removeItem: throwIt, keys: throwIt, sync: true };
}

function webStorageBackend(name, fallbackToMemory) {
  let s;
  try {
    s = globalThis[name];
    const probe = '__mcp-oauth-probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
  } catch (e) {
    return fallbackToMemory ? memoryBackend() : unavailableBackend(name, e);
  }
  const wrap = (what, fn) => (...a) => {
    try {
      return fn(...a);
    } catch (e) {
      const quota = e && (e.name === 'QuotaExceededError' || e.code === 22);
      throw fail('storage_error', `${name}.${what} failed${quota ? ' (storage is full)' : ''}: ${e && e.message || e}`);
    }
  };
  return {
    getItem: wrap('getItem', (k) => s.getItem(k)),
    setItem: wrap('setItem', (k, v) => s.setItem(k, v)),
    removeItem: wrap('removeItem', (k) => s.removeItem(k)),
    keys: wrap('key', () => { const out = []; for (let i = 0; i < s.length; i++) out.push(s.key(i)); return out; }),
    sync: true,
    webStorage: s,
  };
}

function makeStorage(option, fallbackToMemory) {
  if (option === undefined || option === 'localStorage') return webStorageBackend('localStorage', fallbackToMemory);
  if (option === 'sessionStorage') return webStorageBackend('sessionStorage', fallbackToMemory);
  if (option === 'memory') return memoryBackend();
  if (option && typeof option === 'object' && ['getItem', 'setItem', 'removeItem'].every((m) => typeof option[m] === 'function')) {
    const call = (m) => async (...a) => {
      try {
        return await option[m](...a);
      } catch (e) {
        throw fail('storage_error', `storage.${m} failed: ${e && e.message || e}`);
      }
    };
    const b = { getItem: call('getItem'), setItem: call('setItem'), removeItem: call('removeItem'), sync: false };
    if (typeof option.keys === 'function') b.keys = call('keys');
    return b;
  }
  throw fail('invalid_config', "storage must be 'localStorage', 'sessionStorage', 'memory', or an object with getItem, setItem and removeItem");
}

// ---- locks across tabs -----------------------------------------------------

const localLocks = new Map();
function lock(name, fn) {
  if (globalThis.navigator && navigator.locks && navigator.locks.request) return navigator.locks.request(name, () => fn());
  const prev = localLocks.get(name) || Promise.resolve();
  const next = prev.then(() => fn(), () => fn());
  localLocks.set(name, next.catch(() => {}));
  return next;
}

// A Web Lock orders refreshes across tabs, but in Chromium a tab in another
// process can be granted the lock a few milliseconds before it sees the
// previous holder's localStorage write, and would then spend the refresh
// token that was just rotated. So each holder records in IndexedDB (whose
// committed writes every tab sees) the value it left under the watched key,
// and the next holder waits (up to 500 ms) until its localStorage shows it.
let barrierDb = null;
function openBarrierDb() {
  if (!barrierDb) {
    barrierDb = new Promise((resolve, reject) => {
      const req = indexedDB.open('mcp-oauth-locks', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('last');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    barrierDb.catch(() => { barrierDb = null; });
  }
  return barrierDb;
}

async function barrier(op, name, value) {
  const db = await openBarrierDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('last', op === 'get' ? 'readonly' : 'readwrite');
    const req = op === 'get' ? tx.objectStore('last').get(name) : tx.objectStore('last').put(value, name);
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

function withLock(name, fn, webStorage, watchedKey) {
  if (!webStorage || !globalThis.indexedDB) return lock(name, fn);
  return lock(name, async () => {
    const expected = await barrier('get', name).catch(() => undefined);
    if (expected !== undefined) {
      const deadline = Date.now() + 500;
      while (webStorage.getItem(watchedKey) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    try {
      return await fn();
    } finally {
      await barrier('put', name, webStorage.getItem(watchedKey)).catch(() => {});
    }
  });
}

// ---- receiving the callback from the popup ---------------------------------

// sweepCallbackKeys removes relay entries and popup markers that expired,
// and relay entries too large to be an authorization response (callback.js
// never writes those; an older version could be made to): once per page,
// when the first client is created.
const MAX_RESPONSE_URL = 8192; // as in callback.js
let swept = false;
function sweepCallbackKeys() {
  if (swept) return;
  swept = true;
  try {
    const now = Date.now();
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k?.startsWith(CALLBACK_KEY)) {
        const raw = localStorage.getItem(k) || '';
        let at = 0;
        try { at = raw.length <= MAX_RESPONSE_URL + 100 ? JSON.parse(raw).at : 0; } catch {}
        if (!(now - at < CALLBACK_TTL_MS)) localStorage.removeItem(k);
      } else if (k?.startsWith(POPUP_MARKER_KEY)) {
        if (!(now - Number(localStorage.getItem(k)) < CALLBACK_TTL_MS)) localStorage.removeItem(k);
      }
    }
  } catch {}
}

function readRelay(state) {
  try {
    const raw = localStorage.getItem(CALLBACK_KEY + state);
    if (!raw) return null;
    localStorage.removeItem(CALLBACK_KEY + state);
    if (raw.length > MAX_RESPONSE_URL + 100) return null;
    const { url, at } = JSON.parse(raw);
    return Date.now() - at < CALLBACK_TTL_MS ? url : null;
  } catch {
    return null;
  }
}

// waitForCallback resolves with the callback URL for state, delivered by
// callback.html over postMessage, BroadcastChannel or the localStorage
// relay. A message from this sign-in's own popup is passed on whatever its
// state, so that a tampered response ends as state_mismatch (the engine's
// check), not as a silent wait; messages from elsewhere (another tab's
// sign-in) must carry this state.
//
// popup.closed alone is not trusted while a COOP page may have severed the
// popup from this window: then closed reads true while the user signs in.
// Severance happens when the first authorization-server page commits, so a
// popup that reads closed before it was ever seen at a cross-origin page
// (where reading its location throws) is taken as severed, and the sign-in
// waits for the callback, the timeout or the AbortSignal. A popup seen at
// the authorization server and then closed was closed by the user.
function waitForCallback({ popup, url, state, timeoutMs, signal, onLate }) {
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
      try { localStorage.removeItem(POPUP_MARKER_KEY + state); } catch {}
    };
    const done = (fn, v) => { cleanup(); fn(v); };
    const accept = (data, fromOwnPopup = false) => {
      if (data && data.type === CALLBACK_MESSAGE && typeof data.url === 'string' && (fromOwnPopup || stateOf(data.url) === state)) {
        try { localStorage.removeItem(CALLBACK_KEY + state); } catch {}
        if (late) { cleanup(); onLate(data.url); } else done(resolve, data.url);
      }
    };
    // The window reads closed, but a COOP page may have severed a popup the
    // user is still signing in with: reject now, and keep listening (until
    // the pending sign-in expires) so that a sign-in the user finishes
    // anyway still completes (tokenchange tells the app).
    const closedButListening = () => {
      late = true;
      timers.forEach((t) => clearInterval(t));
      timers.length = 0;
      if (signal) signal.removeEventListener('abort', onAbort);
      timers.push(setInterval(() => { const u = readRelay(state); if (u) accept({ type: CALLBACK_MESSAGE, url: u }); }, 1000));
      timers.push(setTimeout(cleanup, CALLBACK_TTL_MS));
      reject(fail('popup_closed', 'the sign-in window was closed before sign-in finished'));
    };
    const onMessage = (e) => { if (e.origin === location.origin) accept(e.data, e.source === popup); };
    const onStorage = (e) => { if (e.key === CALLBACK_KEY + state && e.newValue) { const u = readRelay(state); if (u) accept({ type: CALLBACK_MESSAGE, url: u }); } };
    const onAbort = () => { try { popup.close(); } catch {} done(reject, fail('aborted', 'the sign-in was aborted')); };

    addEventListener('message', onMessage);
    addEventListener('storage', onStorage);
    if (globalThis.BroadcastChannel) {
      bc = new BroadcastChannel(CALLBACK_MESSAGE);
      bc.onmessage = (e) => accept(e.data);
    }
    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
    }
    try { localStorage.setItem(POPUP_MARKER_KEY + state, String(Date.now())); } catch {}

    try {
      popup.location.href = url;
    } catch (e) {
      return done(reject, fail('popup_blocked', `the sign-in window could not be navigated: ${e.message}`));
    }
    let seenCrossOrigin = false;
    let closedAt = 0;
    timers.push(setInterval(() => {
      const u = readRelay(state);
      if (u) return accept({ type: CALLBACK_MESSAGE, url: u });
      if (!popup.closed) {
        closedAt = 0;
        if (!seenCrossOrigin) {
          try { void popup.location.href; } catch { seenCrossOrigin = true; }
        }
        return;
      }
      if (!seenCrossOrigin) return; // severed by COOP at the first page: wait
      // Closed, or severed by a later page's COOP (a federated login). A
      // user who closed the window is back on this page, which then has the
      // focus; a severed popup keeps it. A 1 s grace lets a callback that
      // was just posted arrive.
      if (!document.hasFocus()) { closedAt = 0; return; }
      if (!closedAt) closedAt = Date.now();
      if (Date.now() - closedAt > 1000) closedButListening();
    }, 250));
    timers.push(setTimeout(() => { try { popup.close(); } catch {} done(reject, fail('timeout', `sign-in did not finish within ${Math.round(timeoutMs / 1000)} s (popup.timeoutMs)`)); }, timeoutMs));
  });
}

function openPopup({ width, height }) {
  const left = Math.max(0, (screenX || 0) + ((outerWidth || width) - width) / 2);
  const top = Math.max(0, (screenY || 0) + ((outerHeight || height) - height) / 2);
  return window.open('about:blank', `mcp-oauth-${Math.random().toString(36).slice(2)}`, `popup=yes,width=${width},height=${height},left=${left},top=${top}`);
}

// ---- the client ------------------------------------------------------------

const clients = new Map(); // mcpUrl → Client, for handleRedirectCallback

function checkOptions(o) {
  if (!o || typeof o !== 'object') throw fail('invalid_config', 'createClient needs an options object with mcpUrl and redirectUri');
  for (const k of ['mcpUrl', 'redirectUri']) {
    if (typeof o[k] !== 'string' || !o[k]) throw fail('invalid_config', `option ${k} is required and must be a string`);
  }
  for (const k of ['clientName', 'clientMetadataUrl', 'clientId', 'clientSecret', 'clientIssuer', 'storageKeyPrefix']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw fail('invalid_config', `option ${k} must be a string`);
  }
  if (o.requireIssuerParameter !== undefined && typeof o.requireIssuerParameter !== 'boolean') throw fail('invalid_config', 'option requireIssuerParameter must be a boolean');
  if (o.scopes !== undefined && !(Array.isArray(o.scopes) && o.scopes.every((s) => typeof s === 'string'))) throw fail('invalid_config', 'option scopes must be an array of strings');
  if (o.additionalClientMetadata !== undefined && (typeof o.additionalClientMetadata !== 'object' || o.additionalClientMetadata === null || Array.isArray(o.additionalClientMetadata))) throw fail('invalid_config', 'option additionalClientMetadata must be an object');
  const mode = o.mode ?? 'popup';
  if (mode !== 'popup' && mode !== 'redirect' && typeof mode !== 'function') throw fail('invalid_config', "option mode must be 'popup', 'redirect' or a function");
  const popup = { ...DEFAULT_POPUP, ...(o.popup || {}) };
  for (const k of ['width', 'height', 'timeoutMs']) {
    if (!(Number.isFinite(popup[k]) && popup[k] > 0)) throw fail('invalid_config', `option popup.${k} must be a positive number`);
  }
  if (mode !== 'popup' && mode !== 'redirect') return { mode, popup };
  if (globalThis.location && !sameOrigin(o.redirectUri, location.href)) throw fail('invalid_config', `redirectUri ${o.redirectUri} must be on this page's origin (${location.origin}) in ${mode} mode`);
  return { mode, popup };
}

class Client extends EventTarget {
  #opts; #mode; #popupOpts; #storage; #prefix; #tokensKey; #resourceKey; #origin;
  #go = null; #cache = { tokensRaw: undefined, tokens: null, resourceRaw: undefined, issuer: null };

  constructor(options) {
    super();
    const { mode, popup } = checkOptions(options);
    this.#mode = mode;
    this.#popupOpts = popup;
    this.#opts = options;
    this.mcpUrl = canonicalMcpUrl(options.mcpUrl);
    this.#origin = new URL(this.mcpUrl).origin;
    this.#storage = makeStorage(options.storage, options.storageFallbackToMemory === true);
    this.#prefix = options.storageKeyPrefix || 'mcp-oauth';
    this.#tokensKey = `${this.#prefix}:v1:tokens:${this.mcpUrl}`;
    this.#resourceKey = `${this.#prefix}:v1:resource:${this.mcpUrl}`;
    this.fetch = this.fetch.bind(this);
    this.storage = {
      getTokens: async () => JSON.parse((await goCall((await this.#engine()).getTokens())) || 'null'),
      setTokens: async (t) => { await goCall((await this.#engine()).setTokens(JSON.stringify(t))); },
      getClientInfo: async () => JSON.parse((await goCall((await this.#engine()).getClientInfo())) || 'null'),
      setClientInfo: async (ci) => { await goCall((await this.#engine()).setClientInfo(JSON.stringify(ci))); },
      clear: () => this.clear(),
    };
    if (this.#storage.webStorage && globalThis.addEventListener) {
      // Another tab stored or removed tokens for this server.
      addEventListener('storage', (e) => {
        if (e.storageArea !== this.#storage.webStorage || (e.key !== this.#tokensKey && e.key !== null)) return;
        this.#cache.tokensRaw = undefined;
        let detail = null;
        try { detail = e.newValue ? JSON.parse(e.newValue) : null; } catch {}
        this.dispatchEvent(new CustomEvent('tokenchange', { detail }));
      });
    }
    clients.set(this.mcpUrl, this);
    sweepCallbackKeys();
    // No usable token: a sign-in (or a refresh) is likely, so start the
    // engine in the background now rather than after the user's click.
    if (this.#storage.sync) {
      let usable = null;
      try { usable = this.#freshFrom(this.#storage.getItem(this.#tokensKey), this.#storage.getItem(this.#resourceKey)); } catch {}
      // Discovery too (cached; it registers nothing), so that the click
      // only registers and authorizes.
      if (!usable) this.#engine().then((engine) => engine.prepare()).catch(() => {});
    }
  }

  // The engine's client for this server, created on first need.
  #engine() {
    if (!this.#go) {
      const o = this.#opts;
      const host = {
        storage: this.#storage,
        openAuthorizationUrl: (url, state, redirectUri, attempt) => this.#openAuthorizationUrl(url, state, redirectUri, attempt),
        withLock: (name, fn) => withLock(name, fn, this.#storage.webStorage, this.#tokensKey),
        emit: (type, json) => {
          const detail = JSON.parse(json);
          if (type === 'tokenchange') this.#cache.tokensRaw = undefined;
          this.dispatchEvent(new CustomEvent(type, { detail }));
        },
      };
      const goOptions = {
        mcpUrl: this.mcpUrl, redirectUri: o.redirectUri, scopes: o.scopes, clientName: o.clientName,
        clientMetadataUrl: o.clientMetadataUrl, clientId: o.clientId, clientSecret: o.clientSecret,
        clientIssuer: o.clientIssuer, requireIssuerParameter: o.requireIssuerParameter === true,
        additionalClientMetadata: o.additionalClientMetadata, storageKeyPrefix: this.#prefix,
        redirect: this.#mode === 'redirect',
      };
      this.#go = startWasm().then((api) => goCall(api.newClient(JSON.stringify(goOptions), host)));
      this.#go.catch(() => { this.#go = null; });
    }
    return this.#go;
  }

  // Called by the engine with the authorization URL; resolves with the
  // callback URL. attempt is the authorize() call's {window, signal}, or
  // undefined for a sign-in that client.fetch started (a 401 without a
  // click).
  async #openAuthorizationUrl(url, state, redirectUri, attempt) {
    const signal = attempt?.signal;
    if (signal?.aborted) throw abortedError();
    if (!isHttpUrl(url)) throw fail('insecure_url', 'refusing to open a non-http(s) authorization URL');
    if (typeof this.#mode === 'function') {
      const controller = new AbortController();
      if (signal) signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      const cb = await this.#mode(url, { signal: controller.signal, state, redirectUri });
      if (typeof cb !== 'string') throw fail('authorization_error', 'the mode function must resolve with the callback URL string');
      return cb;
    }
    // Popup mode. authorize() opened the window inside the click; a sign-in
    // started by fetch tries to open one now.
    let popup = attempt?.window;
    if (!popup || popup.closed) popup = openPopup(this.#popupOpts);
    if (!popup) throw fail('popup_blocked', 'the browser blocked the sign-in window; call authorize() from a click handler');
    try {
      return await waitForCallback({
        popup, url, state, timeoutMs: this.#popupOpts.timeoutMs, signal,
        onLate: (cb) => this.#completeLate(cb),
      });
    } finally {
      try { if (!popup.closed) popup.close(); } catch {}
    }
  }

  // authorize signs in. Its AbortSignal ends the sign-in at once, in every
  // phase and whatever a mode function does with it: the promise rejects
  // with aborted, the popup closes, and the engine's requests are cancelled.
  authorize({ signal, returnTo } = {}) {
    if (signal?.aborted) return Promise.reject(abortedError());
    if (this.#mode === 'popup') {
      // Before any await: popup blockers allow window.open only inside
      // the user's click.
      const win = openPopup(this.#popupOpts);
      if (!win) return Promise.reject(fail('popup_blocked', 'the browser blocked the sign-in window; call authorize() from a click handler'));
      const closeWin = () => { try { if (!win.closed) win.close(); } catch {} };
      return abortable(this.#authorizeInEngine({ window: win, signal }).finally(closeWin), signal, closeWin);
    }
    if (this.#mode === 'redirect') {
      return abortable((async () => {
        const target = returnTo ?? location.href;
        if (!sameOrigin(target, location.href)) throw fail('invalid_config', 'returnTo must be on this page\'s origin');
        const { url } = JSON.parse(await goCall((await this.#engine()).begin(target)));
        if (!isHttpUrl(url)) throw fail('insecure_url', 'refusing to open a non-http(s) authorization URL');
        if (signal?.aborted) throw abortedError();
        location.assign(url);
        return new Promise(() => {}); // the page is going away
      })(), signal);
    }
    return abortable(this.#authorizeInEngine({ signal }), signal);
  }

  // A sign-in reported as popup_closed that the user finished anyway.
  async #completeLate(callbackUrl) {
    try {
      await this.complete(callbackUrl);
    } catch (e) {
      const err = toError(e);
      this.dispatchEvent(new CustomEvent('warning', { detail: { code: err.code, message: err.message } }));
    }
  }

  async #authorizeInEngine(attempt) {
    const engine = await this.#engine();
    if (attempt.signal?.aborted) throw abortedError();
    return JSON.parse(await goCall(engine.authorize(attempt.signal, attempt)));
  }

  // Completes a redirect-mode sign-in (handleRedirectCallback).
  async complete(url) {
    return JSON.parse(await goCall((await this.#engine()).complete(url)));
  }

  // #freshTokens is the fast path: tokens from storage, parsed once per
  // stored value, still fresh, and issued by the authorization server that
  // discovery last named. null means "ask the engine".
  async #freshTokens() {
    const s = this.#storage;
    let raw = s.getItem(this.#tokensKey);
    let resRaw = s.getItem(this.#resourceKey);
    if (!s.sync) [raw, resRaw] = await Promise.all([raw, resRaw]);
    return this.#freshFrom(raw, resRaw);
  }

  #freshFrom(raw, resRaw) {
    const c = this.#cache;
    if (raw !== c.tokensRaw) {
      c.tokensRaw = raw;
      try { c.tokens = raw ? JSON.parse(raw) : null; } catch { c.tokens = null; }
    }
    if (resRaw !== c.resourceRaw) {
      c.resourceRaw = resRaw;
      try { c.issuer = resRaw ? JSON.parse(resRaw).authorization_server?.issuer ?? null : null; } catch { c.issuer = null; }
    }
    const t = c.tokens;
    if (!t || typeof t.access_token !== 'string' || !t.access_token) return null;
    if (c.issuer !== null && t.issuer !== c.issuer) return null;
    return freshToken(t, Date.now() / 1000) ? t : null;
  }

  async getAccessToken() {
    const s = this.#storage;
    const t = s.sync ? this.#freshFrom(s.getItem(this.#tokensKey), s.getItem(this.#resourceKey)) : await this.#freshTokens();
    if (t) return t.access_token;
    const json = await goCall((await this.#engine()).accessToken());
    return JSON.parse(json).access_token;
  }

  // fetch: Bearer for this MCP server's origin only; 401 → refresh or sign
  // in, 403 insufficient_scope → step-up, then the request is sent again.
  async fetch(input, init) {
    // Decide on, and send, one value: an absolute URL string, or a Request
    // made in this realm. A Request from another realm (an iframe's), or an
    // object whose string form changes between reads, must never have its
    // Bearer checked against one URL and sent to another.
    if (input instanceof URL) input = urlHref.call(input);
    let request = null;
    let url;
    if (typeof input === 'string') {
      try {
        url = new URL(input, globalThis.document?.baseURI ?? globalThis.location?.href).href;
      } catch {
        return fetch(input, init); // the browser's own error
      }
      input = url;
    } else {
      request = new Request(input, init); // converts the input once
      url = request.url;
    }
    if (new URL(url).origin !== this.#origin) return request ? fetch(request) : fetch(url, init);
    // The request may have to be sent again after a sign-in. A body that is
    // not a stream (the MCP SDK sends strings) is simply reused; only a
    // Request object or a stream body is cloned per attempt (cloning costs
    // ~1 ms per request in Chromium).
    const body = init?.body;
    const reusable = !request && (body == null || typeof body === 'string' || body instanceof ArrayBuffer ||
      ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData);
    if (!reusable && !request) request = new Request(url, init);
    const send = (headers) => (reusable ? fetch(url, { ...init, headers }) : fetch(new Request(request.clone(), { headers })));
    let op = { SentToken: '', Refreshed: false, Authorized: false, Authorizations: 0 };
    for (;;) {
      let token = '';
      try {
        token = await this.getAccessToken();
      } catch (e) {
        if (e.code !== 'auth_required') throw e;
      }
      const headers = new Headers(reusable ? init?.headers : request.headers);
      if (token) headers.set('Authorization', `Bearer ${token}`);
      op.SentToken = token;
      const resp = await send(headers);
      const challenge = resp.headers.get('WWW-Authenticate') || '';
      if (resp.status !== 401 && !(resp.status === 403 && /insufficient_scope/i.test(challenge))) return resp;
      const engine = await this.#engine();
      const r = JSON.parse(await goCall(engine.handleResponse(resp.status, challenge, JSON.stringify(op))));
      if (!r.retry) return resp;
      op = r.operation;
      if (resp.body) resp.body.cancel().catch(() => {});
    }
  }

  async clear() {
    await goCall((await this.#engine()).clear());
    this.#cache.tokensRaw = undefined;
  }
}

// ---- module API ------------------------------------------------------------

async function checkIfAuthRequired(mcpUrl, { headers, signal } = {}) {
  if (typeof mcpUrl !== 'string') throw fail('invalid_config', 'mcpUrl must be a string');
  const api = await startWasm();
  const p = goCall(api.checkIfAuthRequired(mcpUrl, JSON.stringify(headers || {})));
  if (!signal) return p;
  if (signal.aborted) throw fail('aborted', 'checkIfAuthRequired was aborted');
  return Promise.race([p, new Promise((_, reject) => signal.addEventListener('abort', () => reject(fail('aborted', 'checkIfAuthRequired was aborted')), { once: true }))]);
}

// scrubAddressBar removes the authorization response from the address bar,
// so a reload or a shared link does not carry the code or state.
function scrubAddressBar(url) {
  if (!globalThis.location || url !== location.href) return;
  const u = new URL(url);
  let changed = false;
  for (const p of RESPONSE_PARAMS) if (u.searchParams.has(p)) { u.searchParams.delete(p); changed = true; }
  if (u.hash && RESPONSE_PARAMS.some((p) => new URLSearchParams(u.hash.slice(1)).has(p))) { u.hash = ''; changed = true; }
  if (changed) history.replaceState(history.state, '', u.href);
}

async function handleRedirectCallback(url = globalThis.location?.href, options = {}) {
  if (typeof url !== 'string') throw fail('invalid_config', 'handleRedirectCallback needs the callback URL as a string');
  let params;
  try {
    const u = new URL(url);
    params = u.search ? u.searchParams : new URLSearchParams(u.hash.slice(1));
  } catch {
    throw fail('authorization_error', 'the callback URL is not a valid URL');
  }
  if (!params.has('code') && !params.has('error') && !params.has('state')) return null; // an ordinary page load: no wasm needed
  try {
    const api = await startWasm();
    const storage = makeStorage(options.storage, false);
    const pendingJson = await goCall(api.pendingFor({ storage }, options.storageKeyPrefix || 'mcp-oauth', url));
    if (!pendingJson) return null;
    const pending = JSON.parse(pendingJson);
    const client = clients.get(pending.mcp_url) || new Client({
      mcpUrl: pending.mcp_url, redirectUri: pending.redirect_uri, mode: 'redirect',
      storage: options.storage, storageKeyPrefix: options.storageKeyPrefix,
    });
    const result = await client.complete(url);
    const here = globalThis.location?.href || result.mcpUrl;
    result.returnTo = result.returnTo && sameOrigin(result.returnTo, here) ? result.returnTo : new URL('./', here).href;
    return result;
  } finally {
    scrubAddressBar(url);
  }
}

export async function load({ wasmUrl, eager = false } = {}) {
  if (wasmUrl !== undefined) wasmUrlDefault = new URL(wasmUrl, import.meta.url);
  if (eager) await startWasm();
  return Object.freeze({
    version: VERSION,
    checkIfAuthRequired,
    createClient: (options) => new Client(options),
    handleRedirectCallback,
    McpOAuthError,
  });
}
