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

// withLock is lock, plus the barrier above when the records live in Web
// Storage (other tabs see them). isNewer(current, expected) tells a value
// written since the last holder left (outside the lock: a new sign-in,
// storage.setTokens, another tab) from a stale view of an older one: the
// wait is only for the second, so a write outside the lock costs nothing.
export function withLock(name, fn, { webStorage, watchedKey, signal, timeoutMs, isNewer = () => false } = {}) {
  if (!webStorage || !globalThis.indexedDB) return lock(name, fn, { signal, timeoutMs });
  return lock(name, async () => {
    const expected = await barrier('get', name).catch(() => undefined);
    if (expected !== undefined) {
      const deadline = Date.now() + 500;
      const settled = () => { const v = webStorage.getItem(watchedKey); return v === expected || isNewer(v, expected); };
      while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    try {
      return await fn();
    } finally {
      await barrier('put', name, webStorage.getItem(watchedKey)).catch(() => {});
    }
  }, { signal, timeoutMs });
}
