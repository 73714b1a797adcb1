// client.js: the client of one MCP server, as createClient returns it. It
// owns what only a page can do and keeps the hot path in JS: a valid
// cached token and the fetch wrapper never wait for the wasm, and response
// streams (SSE included) are the browser's own. Everything else is the
// engine's (engine.js), reached through one host object.

import { CONTRACT } from './contract.js';
import { abortable, abortedError, fail, goCall, toError } from './errors.js';
import { startEngine } from './engine.js';
import { canonicalMcpUrl, isHttpUrl, sameOrigin, urlHref } from './urls.js';
import { makeStorage, storageKey } from './storage.js';
import { LOCK_TIMEOUT_MS, openBarrier, withLock } from './locks.js';
import { sweep } from './callback-channel.js';
import { DEFAULT_POPUP, functionAgent, popupAgent, redirectAgent } from './user-agents.js';
import { TokenCache } from './records.js';
import { recordsSnapshot } from './snapshot.js';
import { canRefreshWithoutEngine, refreshWithoutEngine } from './refresh.js';
import { TRACE_STEPS, traceOf } from './trace.js';
import { dpopKeys, dpopProof } from './dpop.js';

// Options that JavaScript handles. Every other option is the engine's: its
// name and type come from the engine (CONTRACT.options), and it is passed
// on as given; an option neither side knows is refused here.
export const JS_OPTIONS = ['mode', 'storage', 'storageFallbackToMemory', 'popup', 'lockTimeoutMs'];

const TYPE_CHECKS = {
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  'string[]': (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};
const TYPE_NAMES = { string: 'a string', boolean: 'a boolean', 'string[]': 'an array of strings', object: 'an object' };

// engineOptionsOf checks the engine's options among o (their names and
// types are the engine's), skipping the names in others, and returns them.
export function engineOptionsOf(o, others = JS_OPTIONS) {
  const engineOptions = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || others.includes(k)) continue;
    const type = CONTRACT.options[k];
    if (!type) throw fail('invalid_config', `unknown option ${k} (the options are ${[...Object.keys(CONTRACT.options), ...others].join(', ')})`);
    if (!TYPE_CHECKS[type](v)) throw fail('invalid_config', `option ${k} must be ${TYPE_NAMES[type]}`);
    engineOptions[k] = v;
  }
  return engineOptions;
}

// checkOptions throws every configuration error it can know without the
// engine, and splits the options between JS and the engine.
function checkOptions(o) {
  if (!o || typeof o !== 'object') throw fail('invalid_config', 'createClient needs an options object with mcpUrl and redirectUri');
  const engineOptions = engineOptionsOf(o);
  for (const k of ['mcpUrl', 'redirectUri']) {
    if (!o[k]) throw fail('invalid_config', `option ${k} is required`);
  }
  const mode = o.mode ?? 'popup';
  if (mode !== 'popup' && mode !== 'redirect' && typeof mode !== 'function') throw fail('invalid_config', "option mode must be 'popup', 'redirect' or a function");
  if (o.storageFallbackToMemory !== undefined && typeof o.storageFallbackToMemory !== 'boolean') throw fail('invalid_config', 'option storageFallbackToMemory must be a boolean');
  const lockTimeoutMs = o.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
  if (!(Number.isFinite(lockTimeoutMs) && lockTimeoutMs > 0)) throw fail('invalid_config', 'option lockTimeoutMs must be a positive number');
  const popup = { ...DEFAULT_POPUP, ...(o.popup || {}) };
  for (const k of ['width', 'height', 'timeoutMs']) {
    if (!(Number.isFinite(popup[k]) && popup[k] > 0)) throw fail('invalid_config', `option popup.${k} must be a positive number`);
  }
  if ((mode === 'popup' || mode === 'redirect') && globalThis.location && !sameOrigin(o.redirectUri, location.href)) {
    throw fail('invalid_config', `redirectUri ${o.redirectUri} must be on this page's origin (${location.origin}) in ${mode} mode`);
  }
  return { mode, popup, engineOptions, lockTimeoutMs };
}

// clients holds the clients of this page by MCP URL, for
// handleRedirectCallback, which finishes a sign-in through completeSignIn
// (a symbol: not part of the client's API).
export const clients = new Map();
export const completeSignIn = Symbol('completeSignIn');

let swept = false;

export class Client extends EventTarget {
  #agent; #storage; #prefix; #tokensKey; #resourceKey; #keys; #origin; #engineOptions; #lockTimeoutMs;
  #go = null;
  #goReady = null; // the engine's client, once it exists
  #dpop = null; // this client's DPoP key (dpop.js), where WebCrypto and IndexedDB are
  #dpopNonce = ''; // the MCP server's last DPoP-Nonce
  #cache = new TokenCache();
  #lostWrite = null; // a write-behind (snapshot.js) that failed during this sign-in

  constructor(options) {
    super();
    const { mode, popup, engineOptions, lockTimeoutMs } = checkOptions(options);
    this.mcpUrl = canonicalMcpUrl(options.mcpUrl);
    this.#origin = new URL(this.mcpUrl).origin;
    this.#storage = makeStorage(options.storage, options.storageFallbackToMemory === true);
    this.#prefix = options.storageKeyPrefix || CONTRACT.defaultStorageKeyPrefix;
    // The engine receives the URL the browser will fetch, not the option.
    this.#engineOptions = { ...engineOptions, mcpUrl: this.mcpUrl, storageKeyPrefix: this.#prefix };
    this.#lockTimeoutMs = lockTimeoutMs;
    this.#tokensKey = storageKey(this.#prefix, 'tokens', this.mcpUrl);
    this.#resourceKey = storageKey(this.#prefix, 'resource', this.mcpUrl);
    this.#keys = { tokens: this.#tokensKey, resource: this.#resourceKey, plan: storageKey(this.#prefix, 'refreshPlan', this.mcpUrl) };
    if (globalThis.indexedDB && globalThis.crypto?.subtle) this.#dpop = dpopKeys(`${this.#prefix}:${this.mcpUrl}`);
    if (mode === 'popup') this.#agent = popupAgent(popup, { onLate: (cb) => this.#completeLate(cb) });
    else if (mode === 'redirect') this.#agent = redirectAgent();
    else this.#agent = functionAgent(mode);
    this.fetch = this.fetch.bind(this);
    const engineCall = async (method, ...args) => goCall((await this.#engine())[method](undefined, ...args));
    this.storage = {
      getTokens: async () => JSON.parse((await engineCall('getTokens')) || 'null'),
      setTokens: async (t) => { await engineCall('setTokens', JSON.stringify(t)); },
      getClientInfo: async () => JSON.parse((await engineCall('getClientInfo')) || 'null'),
      setClientInfo: async (ci) => { await engineCall('setClientInfo', JSON.stringify(ci)); },
      clear: () => this.clear(),
    };
    if (this.#storage.webStorage && globalThis.addEventListener) {
      // Another tab stored or removed tokens for this server.
      addEventListener('storage', (e) => {
        if (e.storageArea !== this.#storage.webStorage || (e.key !== this.#tokensKey && e.key !== null)) return;
        this.#cache.invalidate();
        let detail = null;
        try { detail = e.newValue ? JSON.parse(e.newValue) : null; } catch {}
        this.dispatchEvent(new CustomEvent('tokenchange', { detail }));
      });
    }
    if (this.#storage.webStorage) setTimeout(openBarrier, 0); // before the first refresh needs it
    clients.set(this.mcpUrl, this);
    if (!swept) {
      swept = true;
      sweep();
    }
    // No usable token, and none that refresh.js can refresh: a sign-in is
    // likely, so start the engine and its discovery (cached; it registers
    // nothing) now rather than after the user's click.
    if (this.#storage.sync) {
      let skip = false;
      try { skip = Boolean(this.#usableNow()) || canRefreshWithoutEngine(this.#storage, this.#keys); } catch {}
      if (!skip) this.#engine().then((engine) => engine.prepare(undefined)).catch(() => {});
    }
  }

  // The engine's client for this server, created on first need.
  #engine() {
    if (!this.#go) {
      const host = {
        storage: this.#storage,
        // A sign-in's writes of its own records, sent without waiting for
        // them (snapshot.js): applied here in order; a failure is kept so
        // that the authorization page is not shown after it.
        writeBehind: (op, key, value) => {
          if (op !== 'setItem' && op !== 'removeItem') throw fail('storage_error', `writeBehind: unknown operation ${op}`);
          try {
            return this.#storage[op](key, value);
          } catch (e) {
            this.#lostWrite ??= toError(e);
            throw e;
          }
        },
        openAuthorizationUrl: (url, state, redirectUri, attempt) => {
          if (this.#lostWrite) return Promise.reject(this.#lostWrite);
          if (attempt?.signal?.aborted || attempt?.calledOff?.aborted) return Promise.reject(abortedError('the sign-in'));
          if (!isHttpUrl(url)) return Promise.reject(fail('insecure_url', 'refusing to open a non-http(s) authorization URL'));
          return this.#agent.open(url, { state, redirectUri, attempt: attempt || undefined });
        },
        withLock: (name, fn, signal) => withLock(name, fn, {
          webStorage: this.#storage.webStorage, watchedKey: this.#tokensKey, signal, timeoutMs: this.#lockTimeoutMs,
        }),
        ...(this.#dpop && {
          dpopPublicKey: () => this.#dpop.publicJwk(),
          dpopSign: (input) => this.#dpop.sign(input),
          dpopNewKey: () => this.#dpop.renew(),
        }),
        emit: (type, json) => {
          const detail = JSON.parse(json);
          if (type === 'tokenchange') this.#cache.invalidate();
          this.dispatchEvent(new CustomEvent(type, { detail }));
        },
      };
      this.#go = startEngine().then((api) => goCall(api.newClient(JSON.stringify(this.#engineOptions), host, this.#agent.navigates)));
      this.#go.then((engine) => { this.#goReady = engine; }, () => { this.#go = null; });
    }
    return this.#go;
  }

  // authorize signs in. Its AbortSignal ends the sign-in at once, in every
  // phase and whatever a mode function does with it: the promise rejects
  // with aborted, the popup closes, and the engine's requests are cancelled.
  authorize({ signal, returnTo } = {}) {
    if (signal?.aborted) return Promise.reject(abortedError('the sign-in'));
    if (this.#agent.navigates) return abortable(this.#navigate(returnTo, signal), signal, null, 'the sign-in');
    const attempt = { signal };
    // When the engine runs and this call comes with a user's gesture (so
    // the popup will open), the engine gets the sign-in before the popup
    // opens, so that it registers while the browser creates the window
    // (window.open holds this thread 27–60 ms); it reaches the window
    // through attempt once it needs it. A popup blocked all the same calls
    // that sign-in off. Without a gesture the popup is blocked: nothing is
    // sent.
    let early = null;
    let callOff = null;
    if (this.#goReady && globalThis.navigator?.userActivation?.isActive === true && (!signal || typeof AbortSignal.any === 'function')) {
      callOff = new AbortController();
      attempt.signal = signal ? AbortSignal.any([signal, callOff.signal]) : callOff.signal;
      // The engine may ask for the window before the call-off reaches it
      // (nothing to fetch: a stored registration): it is refused here.
      attempt.calledOff = callOff.signal;
      early = this.#authorizeWith(this.#goReady, attempt);
    }
    try {
      Object.assign(attempt, this.#agent.start(signal)); // the popup opens here, inside the click
    } catch (e) {
      callOff?.abort();
      early?.catch(() => {});
      return Promise.reject(toError(e));
    }
    // Else the engine gets it as soon as it runs.
    const work = early ?? this.#engine().then((engine) => this.#authorizeWith(engine, attempt));
    const finish = () => this.#agent.finish(attempt);
    return abortable(work.finally(finish), signal, finish, 'the sign-in');
  }

  // #authorizeWith calls the engine's authorize at once (its message leaves
  // now), with the records it will read (recordsSnapshot, snapshot.js), so
  // that it need not ask this page for each of them (a round trip each,
  // slow while the page is busy with the popup).
  async #authorizeWith(engine, attempt) {
    if (attempt.signal?.aborted) throw abortedError('the sign-in');
    this.#lostWrite = null;
    return JSON.parse(await goCall(engine.authorize(attempt.signal, attempt, recordsSnapshot(this.#storage, this.#prefix))));
  }

  async #navigate(returnTo, signal) {
    const target = returnTo ?? location.href;
    if (!sameOrigin(target, location.href)) throw fail('invalid_config', "returnTo must be on this page's origin");
    const { url } = JSON.parse(await goCall((await this.#engine()).begin(signal, target)));
    if (!isHttpUrl(url)) throw fail('insecure_url', 'refusing to open a non-http(s) authorization URL');
    if (signal?.aborted) throw abortedError('the sign-in');
    location.assign(url);
    return new Promise(() => {}); // the page is going away
  }

  // A sign-in reported as popup_closed that the user finished anyway.
  async #completeLate(callbackUrl) {
    try {
      await this[completeSignIn](callbackUrl);
    } catch (e) {
      const err = toError(e);
      this.dispatchEvent(new CustomEvent('warning', { detail: { code: err.code, message: err.message } }));
    }
  }

  // completeSignIn finishes a redirect-mode sign-in (handleRedirectCallback).
  async [completeSignIn](url, { signal } = {}) {
    return JSON.parse(await goCall((await this.#engine()).complete(signal, url)));
  }

  // #usableNow reads a sync backend's records: the tokens if the fast path
  // may use them.
  #usableNow() {
    const s = this.#storage;
    return this.#cache.usable(s.getItem(this.#tokensKey), s.getItem(this.#resourceKey), Date.now() / 1000);
  }

  async getAccessToken({ signal } = {}) {
    return (await this.#usableTokens(signal))[CONTRACT.tokenFields.accessToken];
  }

  // #usableTokens is the tokens record getAccessToken's token comes from:
  // from storage while fresh, else refreshed (refresh.js, else the engine).
  async #usableTokens(signal) {
    if (signal?.aborted) throw abortedError('getAccessToken');
    const s = this.#storage;
    const t = s.sync ? this.#usableNow()
      : this.#cache.usable(...(await Promise.all([s.getItem(this.#tokensKey), s.getItem(this.#resourceKey)])), Date.now() / 1000);
    if (t) return t;
    const work = (async () => {
      const refreshed = await this.#refreshWithoutEngine(signal);
      if (refreshed) return refreshed;
      return JSON.parse(await goCall((await this.#engine()).accessToken(signal)));
    })();
    return abortable(work, signal, null, 'getAccessToken');
  }

  // #refreshWithoutEngine refreshes from the engine's stored plan
  // (refresh.js), or resolves null: then the engine refreshes.
  #refreshWithoutEngine(signal) {
    return refreshWithoutEngine({
      storage: this.#storage, keys: this.#keys, signal, timeoutMs: this.#lockTimeoutMs,
      handOff: async (status, contentType, body) => goCall((await this.#engine()).refreshAnswer(signal, status, contentType, body)),
      onProgress: (detail) => this.dispatchEvent(new CustomEvent('progress', { detail })),
      onTrace: (detail) => this.dispatchEvent(new CustomEvent('trace', { detail })),
      onTokens: (detail) => {
        this.#cache.invalidate();
        this.dispatchEvent(new CustomEvent('tokenchange', { detail }));
      },
    });
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
    let target;
    if (typeof input === 'string') {
      try {
        target = new URL(input, globalThis.document?.baseURI ?? globalThis.location?.href);
      } catch {
        return fetch(input, init); // the browser's own error
      }
    } else {
      request = new Request(input, init); // converts the input once
      target = new URL(request.url);
    }
    const url = target.href;
    if (target.origin !== this.#origin) return request ? fetch(request) : fetch(url, init);
    const signal = request ? request.signal : init?.signal;
    // The request may have to be sent again after a sign-in. A body that is
    // not a stream (the MCP SDK sends strings) is simply reused; only a
    // Request object or a stream body is cloned per attempt (cloning costs
    // ~1 ms per request in Chromium).
    const body = init?.body;
    const reusable = !request && (body == null || typeof body === 'string' || body instanceof ArrayBuffer ||
      ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData);
    if (!reusable && !request) request = new Request(url, init);
    const send = (headers) => (reusable ? fetch(url, { ...init, headers }) : fetch(new Request(request.clone(), { headers })));
    const method = request ? request.method : (init?.method || 'GET').toUpperCase();
    let operation = ''; // the engine's, opaque here
    for (;;) {
      let tokens = null;
      try {
        tokens = await this.#usableTokens(signal);
      } catch (e) {
        if (e.code !== 'auth_required') throw e;
      }
      const token = tokens?.[CONTRACT.tokenFields.accessToken] || '';
      // A DPoP-bound token goes with a proof, signed here by this client's
      // key without the wasm (dpop.js), with the nonce the MCP server sent
      // last.
      const dpop = tokens?.[CONTRACT.tokenFields.tokenType] === 'DPoP' && this.#dpop !== null;
      const headers = new Headers(reusable ? init?.headers : request.headers);
      if (dpop) {
        headers.set('Authorization', `DPoP ${token}`);
        headers.set('DPoP', await dpopProof(this.#dpop, { method, url, nonce: this.#dpopNonce, accessToken: token }));
      } else if (token) headers.set('Authorization', `Bearer ${token}`);
      const started = performance.now();
      const resp = await send(headers);
      this.#dpopNonce = resp.headers.get('DPoP-Nonce') || this.#dpopNonce;
      const challenge = resp.headers.get('WWW-Authenticate') || '';
      if (resp.status !== 401 && !(resp.status === 403 && /insufficient_scope/i.test(challenge))) return resp;
      this.#traceChallenge(resp, url, method, started);
      const r = await this.#handOff(signal, resp.status, challenge, operation, token, dpop, resp.headers.get('DPoP-Nonce') || '');
      if (!r.retry) return resp;
      operation = JSON.stringify(r.operation);
      if (resp.body) resp.body.cancel().catch(() => {});
    }
  }

  // authorizationHeaders is what client.fetch would add to a request of
  // method to url: {Authorization: 'Bearer …'} or, for a DPoP-bound token,
  // {Authorization: 'DPoP …', DPoP: proof}; {} for another origin's URL or
  // without a token. For requests the caller builds itself (an SSE
  // reconnect, a WebSocket).
  async authorizationHeaders(url, method = 'GET', { signal } = {}) {
    const target = new URL(String(url), globalThis.document?.baseURI ?? globalThis.location?.href);
    if (target.origin !== this.#origin) return {};
    let tokens;
    try {
      tokens = await this.#usableTokens(signal);
    } catch (e) {
      if (e.code === 'auth_required') return {};
      throw e;
    }
    const token = tokens[CONTRACT.tokenFields.accessToken];
    if (tokens[CONTRACT.tokenFields.tokenType] === 'DPoP' && this.#dpop) {
      return { Authorization: `DPoP ${token}`, DPoP: await dpopProof(this.#dpop, { method: String(method).toUpperCase(), url: target.href, nonce: this.#dpopNonce, accessToken: token }) };
    }
    return { Authorization: `Bearer ${token}` };
  }

  // #handOff gives the engine a 401 or 403 (status, challenge) to a request
  // sent with token: it refreshes, signs in or steps up (a popup sign-in
  // opens its window here), and resolves with {retry, operation}.
  async #handOff(signal, status, challenge, operation, token, dpop = false, dpopNonce = '') {
    const engine = await this.#engine();
    const attempt = { signal };
    try {
      return JSON.parse(await abortable(goCall(engine.handleResponse(signal, status, challenge, operation, token, attempt, dpop, dpopNonce)), signal));
    } finally {
      this.#agent.finish(attempt);
    }
  }

  // authProvider is the client as the MCP TypeScript SDK v2's transports
  // take it (their minimal AuthProvider): token() before every request
  // (undefined when not signed in), onUnauthorized() on a 401 (refresh, or
  // sign in), after which the transport retries once. A 403
  // insufficient_scope makes v2 throw InsufficientScopeError: call
  // stepUp({scope: error.requiredScope}), then the request again.
  get authProvider() {
    let sent = '';
    return {
      token: async () => {
        try {
          sent = await this.getAccessToken();
        } catch (e) {
          if (e.code !== 'auth_required') throw e;
          sent = '';
        }
        return sent || undefined;
      },
      // No trace event for this 401: the transport does not say which
      // request it answers, or when it left (the engine traces its own).
      onUnauthorized: async ({ response }) => {
        await this.#handOff(undefined, response.status, response.headers.get('WWW-Authenticate') || '', '', sent);
      },
    };
  }

  // stepUp asks for more scope (RFC 6750 §3.1 insufficient_scope, as the
  // server named it): a new authorization for the union of the scopes held
  // and scope, as on a 403 to client.fetch. From a click, so that its
  // popup may open.
  async stepUp({ scope, signal } = {}) {
    if (typeof scope !== 'string' || !scope.trim() || /["\\]/.test(scope)) throw fail('invalid_config', 'stepUp needs the scope the server asked for (a string of scope tokens)');
    if (signal?.aborted) throw abortedError('stepUp');
    let token = '';
    try { token = await this.getAccessToken({ signal }); } catch (e) { if (e.code !== 'auth_required') throw e; }
    const r = await this.#handOff(signal, 403, `Bearer error="insufficient_scope", scope="${scope.trim()}"`, '', token);
    if (!r.retry) throw fail('insufficient_scope', `the authorization server did not grant ${scope}`);
  }

  #traceChallenge(resp, url, method, started) {
    this.dispatchEvent(new CustomEvent('trace', { detail: traceOf(TRACE_STEPS.challenge, method, url, started, resp) }));
  }

  // signOut revokes the tokens at the authorization server (RFC 7009, the
  // refresh token first) and forgets them here; tokenchange fires in every
  // tab. It resolves with {revoked, reason?}: revoked is false, with the
  // reason, when the server has no revocation endpoint or refused.
  async signOut({ signal } = {}) {
    if (signal?.aborted) throw abortedError('signOut');
    const work = (async () => JSON.parse(await goCall((await this.#engine()).signOut(signal))))();
    const result = await abortable(work, signal, null, 'signOut');
    this.#cache.invalidate();
    await this.#dpop?.remove().catch(() => {}); // the key dies with its tokens
    return result;
  }

  async clear({ signal } = {}) {
    if (signal?.aborted) throw abortedError('clear');
    await goCall((await this.#engine()).clear(signal));
    this.#cache.invalidate();
    await this.#dpop?.remove().catch(() => {});
  }
}
