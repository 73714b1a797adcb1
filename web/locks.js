// locks.js: the lock around a refresh, across tabs (Web Locks), bounded in
// time and ended by the caller's AbortSignal.

import { fail } from './errors.js';

// LOCK_TIMEOUT_MS bounds the wait for the lock: a tab that holds it longer
// is stuck, and the caller gets a timeout rather than a wait without end.
export const LOCK_TIMEOUT_MS = 30000;

const localLocks = new Map();

// lock runs fn while holding the lock name; the wait ends with signal
// (aborted) or after timeoutMs (timeout).
export async function lock(name, fn, { signal, timeoutMs = LOCK_TIMEOUT_MS } = {}) {
  if (signal?.aborted) throw fail('aborted', `the wait for the lock ${name} was aborted`);
  if (globalThis.navigator?.locks?.request) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const bound = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await navigator.locks.request(name, { signal: bound }, () => fn());
    } catch (e) {
      if (e?.name !== 'AbortError' && e?.name !== 'TimeoutError') throw e;
      if (signal?.aborted) throw fail('aborted', `the wait for the lock ${name} was aborted`);
      if (timeout.aborted) throw fail('timeout', `waited ${timeoutMs / 1000} s (lockTimeoutMs) for the lock ${name}, which another tab or call holds`);
      throw e;
    }
  }
  // No Web Locks (a worker without them): serialize within this page.
  const prev = localLocks.get(name) || Promise.resolve();
  const next = prev.then(() => fn(), () => fn());
  localLocks.set(name, next.catch(() => {}));
  return next;
}

// A Web Lock orders refreshes across tabs, but in Chromium a tab in another
// process can be granted the lock a few milliseconds before it sees the
// previous holder's localStorage write, and would then spend the refresh
// token that was just rotated. So each holder that changed the watched
// value records in IndexedDB (whose committed writes every tab sees) a
// digest of the value it replaced, and the next holder waits (up to
// 500 ms) only while its localStorage still shows exactly that value: a
// stale view of the previous holder's write. Any other value (the new one,
// or one written outside the lock: a new sign-in, storage.setTokens,
// another tab, a test that edits storage) costs no wait.
const STALE_WAIT_MS = 500;
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

// openBarrier opens the barrier's database ahead of the first refresh
// (opening it costs several milliseconds the first time in a page).
export function openBarrier() {
  if (globalThis.indexedDB) openBarrierDb().catch(() => {});
}

async function barrier(op, name, value) {
  const db = await openBarrierDb();
  return new Promise((resolve, reject) => {
    // relaxed: other tabs must see the write, a crash need not keep it.
    const tx = db.transaction('last', op === 'get' ? 'readonly' : 'readwrite', { durability: 'relaxed' });
    const req = op === 'get' ? tx.objectStore('last').get(name) : tx.objectStore('last').put(value, name);
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

// digest names a stored value without keeping it (the tokens stay out of
// IndexedDB): its length and FNV-1a hash. Equality is all it is used for.
export function digest(value) {
  if (value === null || value === undefined) return 'none';
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${value.length}:${(h >>> 0).toString(16)}`;
}

// withLock is lock, plus the barrier above when the records live in Web
// Storage (other tabs see them). fn receives changing(): a holder that
// knows it is about to replace the watched value (a refresh, before its
// request) calls it, so that the barrier's record is written meanwhile
// rather than after.
export function withLock(name, fn, { webStorage, watchedKey, signal, timeoutMs } = {}) {
  if (!webStorage || !globalThis.indexedDB) return lock(name, () => fn(() => {}), { signal, timeoutMs });
  return lock(name, async () => {
    const last = await barrier('get', name).catch(() => undefined);
    if (last && typeof last.replaced === 'string') {
      const deadline = Date.now() + STALE_WAIT_MS;
      while (digest(webStorage.getItem(watchedKey)) === last.replaced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    const before = digest(webStorage.getItem(watchedKey));
    let early = null;
    const changing = () => { early ??= barrier('put', name, { replaced: before }).catch(() => {}); };
    try {
      return await fn(changing);
    } finally {
      const changed = digest(webStorage.getItem(watchedKey)) !== before;
      if (early) await early;
      if (changed && !early) await barrier('put', name, { replaced: before }).catch(() => {});
      if (!changed && early) await barrier('put', name, {}).catch(() => {}); // announced, but nothing changed
    }
  }, { signal, timeoutMs });
}
