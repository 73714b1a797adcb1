// snapshot.js: in the engine's Worker, a client's storage as the engine
// sees it. A client's storage lives on the page, and each read is a round trip to
// it. A sign-in (client.js's authorize) brings a snapshot of the records
// it will read (its storage prefix, except the tokens and their refresh
// plan, which are always read afresh) and of the storage's key list: while
// it runs, reads of those records and keys() are answered from the
// snapshot, and writes update it as well as the page.
//
// Writes to the snapshot's records do not wait for the page either
// (write-behind): a round trip costs 2–7 ms while the page is busy with
// the popup, and a sign-in made four of them. The page applies them in
// the order they were made (postMessage keeps order, and a storage with a
// snapshot is synchronous) through host.writeBehind, before anything the
// engine asks afterwards. A write that fails there is not lost silently:
// - the page remembers it, and host.openAuthorizationUrl refuses to show
//   the authorization page after it (client.js), so a sign-in whose
//   pending record was not stored never reaches the authorization server;
// - the engine gets the failure (a storage_error) from its next storage
//   call of the sign-in.
// The tokens and their refresh plan are written as before, awaited.
// Both sides of the snapshot live here, so that they cannot drift apart:
// recordsSnapshot makes it on the page, snapshots reads it in the Worker.

import { CONTRACT } from './contract.js';

// recordsSnapshot is, as JSON, a client's stored records (its storage
// prefix) from a sync backend that lists its keys, except the tokens and
// their refresh plan, which the engine always reads afresh (refresh.js and
// other tabs write them under the refresh lock), and the backend's key
// list; null for another backend, or when reading fails.
export function recordsSnapshot(storage, prefix) {
  if (!storage.sync || !storage.keys) return null;
  const base = `${prefix}:${CONTRACT.storageKeyVersion}:`;
  const fresh = [CONTRACT.storageKinds.tokens, CONTRACT.storageKinds.refreshPlan].map((k) => `${base}${k}:`);
  const records = {};
  let keys;
  try {
    keys = storage.keys();
    for (const k of keys) {
      if (k.startsWith(base) && !fresh.some((f) => k.startsWith(f))) records[k] = storage.getItem(k);
    }
  } catch {
    return null;
  }
  return JSON.stringify({ base, fresh, records, keys });
}

// snapshots wraps a client's host for the engine, as the top of this file
// says: during(snapshot, fn) answers fn's reads from the snapshot.
export function snapshots(host) {
  const page = host.storage;
  const writeBehind = typeof host.writeBehind === 'function' ? host.writeBehind : null;
  let current = null;
  let active = 0;
  const inScope = (k) => current && k.startsWith(current.base) && !current.fresh.some((f) => k.startsWith(f));
  const failed = () => (current?.failed ? Promise.reject(current.failed) : null);
  const listed = (k, present) => {
    if (!current?.keys) return;
    const i = current.keys.indexOf(k);
    if (present && i < 0) current.keys.push(k);
    else if (!present && i >= 0) current.keys.splice(i, 1);
  };
  const write = (op, k, v) => {
    const snap = current;
    if (op === 'setItem') snap.records[k] = String(v);
    else delete snap.records[k];
    if (!writeBehind) return page[op](k, v);
    writeBehind(op, k, v).catch((e) => { snap.failed ??= e; });
    return undefined;
  };
  const storage = {
    getItem: (k) => failed() ?? (inScope(k) ? (current.records[k] ?? null) : page.getItem(k)),
    setItem: (k, v) => {
      listed(k, true);
      return failed() ?? (inScope(k) ? write('setItem', k, v) : page.setItem(k, v));
    },
    removeItem: (k) => {
      listed(k, false);
      return failed() ?? (inScope(k) ? write('removeItem', k) : page.removeItem(k));
    },
  };
  if (page.keys) storage.keys = () => failed() ?? (current?.keys ? [...current.keys] : page.keys());
  return {
    host: { ...host, storage },
    async during(snapshot, fn) {
      if (!snapshot) return fn();
      // Calls that overlap share the first snapshot, which holds every
      // write since (a later one could miss an earlier call's writes).
      current ??= JSON.parse(snapshot);
      active++;
      try {
        return await fn();
      } finally {
        if (--active === 0) current = null;
      }
    },
  };
}

// withSnapshot is the engine's client with an authorize that takes the
// snapshot as its third argument.
export function withSnapshot(client, records) {
  const out = { ...client };
  out.authorize = (signal, attempt, snapshot) => records.during(snapshot, () => client.authorize(signal, attempt));
  return out;
}
