// refresh.js: a refresh without the engine. After a reload with an expired
// access token, starting the wasm would cost more than the refresh itself,
// so the engine stores beside the tokens the refresh request it would send
// (a RefreshPlan, refreshplan.go). This sends exactly that, with the stored
// refresh token, under the lock the plan names, and keeps the answer only
// when it can tell that the engine would read it the same way: an HTTP 200
// JSON object of plain values with an ASCII access token, token_type
// Bearer and an integral expires_in within the engine's bounds. Any other
// answer goes to the engine (handOff), while the lock is still held: the
// server may already have rotated the refresh token it spent.
// e2e's TestBrowserRefreshWithoutEngine compares both readings over a
// table of answers, and what each stores.

import { CONTRACT } from './contract.js';
import { abortedError } from './errors.js';
import { withLock } from './locks.js';
import { freshToken, issuerOf } from './records.js';
import { TRACE_STEPS, traceOf } from './trace.js';

const F = CONTRACT.tokenFields;
const P = CONTRACT.refreshPlanFields;

// The RFC 6749 §5.1 / §5.2 members the engine reads. encoding/json matches
// member names case-insensitively (with Unicode folding), JSON.parse does
// not: an answer with a member that differs from one of these only in case
// (or any non-ASCII member name) is the engine's to read.
const MEMBERS = ['access_token', 'token_type', 'refresh_token', 'scope', 'expires_in', 'error'];
const VSCHAR = /^[\x20-\x7e]+$/; // RFC 6749 Appendix A
const MEDIA_TYPE = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;
const MAX_ANSWER = 16384; // token answers are a few hundred bytes

// readTokenAnswer returns {accessToken, refreshToken, scope, expiresIn}
// for an answer the engine would accept and read the same way, else null.
export function readTokenAnswer(status, contentType, bytes) {
  if (status !== 200 || !MEDIA_TYPE.test(contentType || '') || bytes.length > MAX_ANSWER) return null;
  let o;
  try {
    // fatal: invalid UTF-8 is the engine's (it reads bytes); ignoreBOM:
    // a BOM stays, and JSON.parse refuses it as the engine does.
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const keys = Object.keys(o);
  if (keys.length > 64) return null;
  for (const k of keys) {
    if (!/^[\x20-\x7e]*$/.test(k)) return null;
    if (MEMBERS.includes(k.toLowerCase()) && !MEMBERS.includes(k)) return null;
    if (o[k] !== null && typeof o[k] === 'object') return null;
  }
  if ('error' in o) return null;
  const { access_token: at, token_type: tt, scope } = o;
  const rt = o.refresh_token ?? '';
  const expiresIn = o.expires_in ?? 0;
  if (typeof at !== 'string' || !VSCHAR.test(at)) return null;
  if (typeof tt !== 'string' || !VSCHAR.test(tt) || tt.toLowerCase() !== 'bearer') return null;
  if (typeof rt !== 'string' || (rt && !VSCHAR.test(rt))) return null;
  if (scope != null && (typeof scope !== 'string' || !/^[\x20-\x7e]*$/.test(scope))) return null;
  if (!Number.isInteger(expiresIn) || expiresIn < 0 || expiresIn > CONTRACT.maxTokenLifetimeSeconds) return null;
  return { accessToken: at, refreshToken: rt, scope: scope ?? null, expiresIn };
}

// refreshedTokens is the record the engine stores for answer tr to a
// refresh of prev (token_endpoint.go, tokensFromAnswer): the old refresh
// token when none came back (RFC 6749 §6), the requested scope when none
// was named (§5.1).
export function refreshedTokens(prev, plan, tr, nowS) {
  const t = { [F.accessToken]: tr.accessToken, [F.tokenType]: 'Bearer' };
  const rt = tr.refreshToken || prev[F.refreshToken];
  if (rt) t[F.refreshToken] = rt;
  const scope = tr.scope ?? prev[F.requestedScope];
  if (scope) t[F.scope] = scope;
  if (tr.expiresIn > 0) t[F.expiresAt] = nowS + tr.expiresIn;
  t[F.issuedAt] = nowS;
  t[F.issuer] = plan[P.issuer];
  if (prev[F.resource]) t[F.resource] = prev[F.resource];
  t[F.clientId] = plan[P.clientId];
  if (prev[F.requestedScope]) t[F.requestedScope] = prev[F.requestedScope];
  return t;
}

// planFor returns the stored plan when it may be used now, else null.
function planFor(storage, keys) {
  const plan = parse(storage.getItem(keys.plan));
  if (!plan || typeof plan[P.url] !== 'string' || typeof plan[P.lock] !== 'string') return null;
  return plan[P.validUntil] > Date.now() / 1000 ? plan : null;
}

// canRefreshWithoutEngine tells whether refreshWithoutEngine would try: a
// client that can does not start the engine in the background.
export function canRefreshWithoutEngine(storage, keys) {
  return storage.sync && planFor(storage, keys) !== null;
}

function parse(raw) {
  try {
    const v = raw ? JSON.parse(raw) : null;
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// refreshWithoutEngine refreshes the stored tokens from the stored plan.
// It resolves with the tokens now stored (refreshed here, by the engine
// through handOff, or by another tab meanwhile), or null when the plan
// does not apply (no plan, another client's or issuer's tokens, discovery
// to be redone, no refresh token, the request not sent): then the engine
// refreshes as it always did.
//
//   storage        a sync backend (storage.js)
//   keys           {tokens, resource, plan}: the storage keys
//   handOff(status, contentType, bodyBase64) → Promise<tokens JSON>
//   onProgress(detail), onTrace(detail), onTokens(tokens)   events, as the
//                  engine emits them
export async function refreshWithoutEngine({ storage, keys, signal, timeoutMs, handOff, onProgress, onTrace, onTokens }) {
  if (!storage.sync) return null;
  const plan = planFor(storage, keys);
  if (!plan) return null;
  return withLock(plan[P.lock], async (changing) => {
    const prev = parse(storage.getItem(keys.tokens));
    if (!prev || typeof prev[F.accessToken] !== 'string') return null;
    if (issuerOf(storage.getItem(keys.resource)) !== prev[F.issuer]) return null;
    if (freshToken(prev, Math.floor(Date.now() / 1000))) return prev; // refreshed meanwhile
    if (!prev[F.refreshToken] || prev[F.issuer] !== plan[P.issuer] || prev[F.clientId] !== plan[P.clientId] ||
        (prev[F.resource] || '') !== (plan[P.resource] || '')) return null;
    onProgress(plan[P.progress]);
    changing(); // the lock's record is written while the request is out
    const form = new URLSearchParams({ ...plan[P.form], refresh_token: prev[F.refreshToken] });
    let resp, bytes;
    const started = performance.now();
    try {
      // As the engine fetches (wasm/fetch.go): CORS, no cookies, no redirects.
      resp = await fetch(plan[P.url], { method: 'POST', headers: plan[P.header], body: form.toString(), credentials: 'omit', redirect: 'manual', cache: 'no-store', signal });
      bytes = new Uint8Array(await resp.arrayBuffer());
    } catch (e) {
      onTrace(traceOf(TRACE_STEPS.refresh, 'POST', plan[P.url], started, null, signal?.aborted ? 'aborted' : 'network_error'));
      if (signal?.aborted) throw abortedError('getAccessToken');
      return null; // not sent, or not read: the engine tries, and says why
    }
    onTrace(traceOf(TRACE_STEPS.refresh, 'POST', plan[P.url], started, resp));
    const status = resp.type === 'opaqueredirect' ? 302 : resp.status;
    const contentType = resp.headers.get('Content-Type') || '';
    const tr = readTokenAnswer(status, contentType, bytes);
    if (!tr) return JSON.parse(await handOff(status, contentType, base64(bytes)));
    const t = refreshedTokens(prev, plan, tr, Math.floor(Date.now() / 1000));
    storage.setItem(keys.tokens, JSON.stringify(t));
    onTokens(t);
    return t;
  }, { webStorage: storage.webStorage, watchedKey: keys.tokens, signal, timeoutMs });
}
