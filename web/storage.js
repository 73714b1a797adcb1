// storage.js: the storage backends a client keeps its records in, and the
// one way their keys are built (the engine's, from contract.js).
//
// A backend is {getItem, setItem, removeItem, keys?, sync, webStorage?}:
// sync backends answer at once (the fast path reads them without a
// Promise); an app's own object may answer with Promises.

import { CONTRACT } from './contract.js';
import { fail } from './errors.js';

// storageKey is prefix:version:kind:id, as the engine writes it.
export function storageKey(prefix, kind, id) {
  const k = CONTRACT.storageKinds[kind];
  if (!k) throw fail('invalid_config', `no storage kind ${kind}`);
  return `${prefix}:${CONTRACT.storageKeyVersion}:${k}:${id}`;
}

// memoryBackend keeps records in a Map of its own: each client created
// with storage: 'memory' has its own, so clients never share tokens by
// accident (tests create many).
export function memoryBackend(map = new Map()) {
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => { map.set(k, String(v)); },
    removeItem: (k) => { map.delete(k); },
    keys: () => [...map.keys()],
    sync: true,
  };
}

const inWorker = () => typeof globalThis.WorkerGlobalScope === 'function' && globalThis instanceof globalThis.WorkerGlobalScope;

function unavailableBackend(name, err) {
  const msg = inWorker()
    ? `there is no ${name} in a worker: pass storage: chromeStorage() (an extension), 'memory', or an object with getItem, setItem and removeItem`
    : `${name} is unavailable (${(err && err.message) || err}); the browser may block storage for this page (private mode, settings), or pass storage: 'memory'`;
  const throwIt = () => { throw fail('storage_error', msg); };
  return { getItem: throwIt, setItem: throwIt, removeItem: throwIt, keys: throwIt, sync: true };
}

// webStorageBackend is localStorage or sessionStorage, probed once; every
// failure is a storage_error that says why (full, blocked).
export function webStorageBackend(name, fallbackToMemory) {
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
      throw fail('storage_error', `${name}.${what} failed${quota ? ' (storage is full)' : ''}: ${(e && e.message) || e}`);
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

// makeStorage turns the storage option into a backend.
export function makeStorage(option, fallbackToMemory) {
  if (option === undefined || option === 'localStorage') return webStorageBackend('localStorage', fallbackToMemory);
  if (option === 'sessionStorage') return webStorageBackend('sessionStorage', fallbackToMemory);
  if (option === 'memory') return memoryBackend();
  if (option && typeof option === 'object' && ['getItem', 'setItem', 'removeItem'].every((m) => typeof option[m] === 'function')) {
    const call = (m) => async (...a) => {
      try {
        return await option[m](...a);
      } catch (e) {
        throw fail('storage_error', `storage.${m} failed: ${(e && e.message) || e}`);
      }
    };
    const b = { getItem: call('getItem'), setItem: call('setItem'), removeItem: call('removeItem'), sync: false };
    if (typeof option.keys === 'function') b.keys = call('keys');
    return b;
  }
  throw fail('invalid_config', "storage must be 'localStorage', 'sessionStorage', 'memory', or an object with getItem, setItem and removeItem");
}

// chromeStorage is a storage backend over an extension's chrome.storage
// area (default chrome.storage.local; needs the "storage" permission):
// what a service worker, which has no localStorage, keeps its records in.
export function chromeStorage(area = globalThis.chrome?.storage?.local) {
  if (!area || typeof area.get !== 'function') {
    throw fail('invalid_config', 'chromeStorage() needs chrome.storage.local: run it in an extension with the "storage" permission, or pass a chrome.storage area');
  }
  return {
    getItem: async (k) => { const v = (await area.get(k))[k]; return typeof v === 'string' ? v : null; },
    setItem: (k, v) => area.set({ [k]: String(v) }),
    removeItem: (k) => area.remove(k),
    keys: async () => Object.keys(await area.get(null)),
  };
}
