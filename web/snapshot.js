// snapshot.js: in the engine's Worker, a client's storage as the engine
// sees it. A client's storage lives on the page, and each read is a round trip to
// it. A sign-in (client.js's authorize) brings a snapshot of the records
// it will read (its storage prefix, except the tokens and their refresh
// plan, which are always read afresh): while it runs, reads of those keys
// are answered from the snapshot and writes update it as well as the page.
export function snapshots(host) {
  const page = host.storage;
  let current = null;
  let active = 0;
  const inScope = (k) => current && k.startsWith(current.base) && !current.fresh.some((f) => k.startsWith(f));
  const storage = {
    getItem: (k) => (inScope(k) ? (current.records[k] ?? null) : page.getItem(k)),
    setItem: (k, v) => {
      if (inScope(k)) current.records[k] = String(v);
      return page.setItem(k, v);
    },
    removeItem: (k) => {
      if (inScope(k)) delete current.records[k];
      return page.removeItem(k);
    },
  };
  if (page.keys) storage.keys = () => page.keys();
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
