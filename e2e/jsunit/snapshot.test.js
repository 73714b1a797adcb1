// snapshot.js: during a sign-in that brought a snapshot, the engine's reads
// of the snapshot's records are answered in the Worker; the tokens and
// their refresh plan are always read from the page.
import { expect } from './node_modules/chai/index.js';
import { recordsSnapshot, snapshots, withSnapshot } from '/snapshot.js';
import { CONTRACT } from '/contract.js';

describe('snapshot.js', () => {
  const base = 'p:v1:';
  const fresh = ['p:v1:tokens:', 'p:v1:refresh-plan:'];
  const page = () => {
    const calls = [];
    const map = new Map([['p:v1:resource:m', 'R'], ['p:v1:tokens:m', 'T']]);
    return {
      calls,
      storage: {
        getItem: async (k) => { calls.push('get ' + k); return map.has(k) ? map.get(k) : null; },
        setItem: async (k, v) => { calls.push('set ' + k); map.set(k, v); },
        removeItem: async (k) => { calls.push('remove ' + k); map.delete(k); },
      },
    };
  };

  it('answers the snapshot\'s records in the Worker during the call, and the tokens from the page', async () => {
    const p = page();
    const records = snapshots({ storage: p.storage, emit() {} });
    const s = records.host.storage;
    const snap = JSON.stringify({ base, fresh, records: { 'p:v1:resource:m': 'R', 'p:v1:client:i': 'C' } });
    const seen = await records.during(snap, async () => [await s.getItem('p:v1:resource:m'), await s.getItem('p:v1:client:i'),
      await s.getItem('p:v1:pending:x'), await s.getItem('p:v1:tokens:m')]);
    expect(seen).to.deep.equal(['R', 'C', null, 'T']);
    expect(p.calls).to.deep.equal(['get p:v1:tokens:m']);
  });

  it('writes go to the page and into the snapshot; after the call every read asks the page', async () => {
    const p = page();
    const records = snapshots({ storage: p.storage });
    const s = records.host.storage;
    const snap = JSON.stringify({ base, fresh, records: {} });
    await records.during(snap, async () => {
      await s.setItem('p:v1:pending:x', 'P');
      expect(await s.getItem('p:v1:pending:x')).to.equal('P');
      await s.removeItem('p:v1:pending:x');
      expect(await s.getItem('p:v1:pending:x')).to.equal(null);
    });
    expect(p.calls).to.deep.equal(['set p:v1:pending:x', 'remove p:v1:pending:x']);
    await s.getItem('p:v1:resource:m');
    expect(p.calls.at(-1)).to.equal('get p:v1:resource:m');
    expect('keys' in s).to.equal(false); // the page's backend lists no keys, so neither does this
  });

  it('withSnapshot passes authorize its snapshot and keeps the client\'s other members', async () => {
    const records = snapshots({ storage: page().storage });
    let during = null;
    const client = { mcpUrl: 'https://m/mcp', authorize: async () => { during = await records.host.storage.getItem('p:v1:client:i'); return 'done'; }, clear: () => 'cleared' };
    const c = withSnapshot(client, records);
    expect(await c.authorize(undefined, {}, JSON.stringify({ base, fresh, records: { 'p:v1:client:i': 'C' } }))).to.equal('done');
    expect(during).to.equal('C');
    expect(c.mcpUrl).to.equal('https://m/mcp');
    expect(c.clear()).to.equal('cleared');
  });
});

describe('snapshot.js: the page\'s side', () => {
  it('recordsSnapshot holds the client\'s records and the key list, never the tokens or their refresh plan; snapshots reads it', async () => {
    const base = `p:${CONTRACT.storageKeyVersion}:`;
    const map = new Map([
      [`${base}${CONTRACT.storageKinds.tokens}:m`, 'T'], [`${base}${CONTRACT.storageKinds.refreshPlan}:m`, 'PLAN'],
      [`${base}client:i`, 'C'], ['other-app:x', 'X'], ['q:v1:client:i', 'Q'],
    ]);
    const storage = { sync: true, keys: () => [...map.keys()], getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) };
    const snap = recordsSnapshot(storage, 'p');
    expect(JSON.parse(snap).records).to.deep.equal({ [`${base}client:i`]: 'C' });
    expect(JSON.parse(snap).keys).to.deep.equal([...map.keys()]);
    const records = snapshots({ storage: { getItem: async (k) => `page:${k}`, setItem: async () => {}, removeItem: async () => {}, keys: async () => [] } });
    const s = records.host.storage;
    const seen = await records.during(snap, async () => [await s.getItem(`${base}client:i`), await s.getItem(`${base}${CONTRACT.storageKinds.tokens}:m`), (await s.keys()).length]);
    expect(seen).to.deep.equal(['C', `page:${base}${CONTRACT.storageKinds.tokens}:m`, 5]);
    expect(recordsSnapshot({ ...storage, sync: false }, 'p')).to.equal(null);
    expect(recordsSnapshot({ ...storage, keys: undefined }, 'p')).to.equal(null);
  });
});

describe('snapshot.js: write-behind', () => {
  const base = 'p:v1:';
  const fresh = ['p:v1:tokens:'];
  const host = (failOn = null) => {
    const calls = [];
    return {
      calls,
      storage: {
        getItem: async (k) => { calls.push('get ' + k); return null; },
        setItem: async (k) => { calls.push('set ' + k); },
        removeItem: async (k) => { calls.push('remove ' + k); },
        keys: async () => { calls.push('keys'); return []; },
      },
      writeBehind: async (op, k) => {
        calls.push(`behind ${op} ${k}`);
        if (k === failOn) throw { code: 'storage_error', message: 'localStorage.setItem failed (storage is full)' };
      },
    };
  };

  it('answers a write to the snapshot\'s records at once, and hands it to the page in order; tokens are written as before', async () => {
    const h = host();
    const records = snapshots(h);
    const s = records.host.storage;
    const snap = JSON.stringify({ base, fresh, records: {}, keys: ['other-app:x', 'p:v1:tokens:m'] });
    await records.during(snap, async () => {
      expect(s.setItem('p:v1:client:i', 'C')).to.equal(undefined); // not a Promise: the engine does not wait
      expect(s.setItem('p:v1:pending:a', 'P')).to.equal(undefined);
      expect(s.removeItem('p:v1:pending:a')).to.equal(undefined);
      expect(await s.getItem('p:v1:client:i')).to.equal('C');
      expect(await s.keys()).to.deep.equal(['other-app:x', 'p:v1:tokens:m', 'p:v1:client:i']);
      await s.setItem('p:v1:tokens:m', 'T');
    });
    expect(h.calls).to.deep.equal(['behind setItem p:v1:client:i', 'behind setItem p:v1:pending:a', 'behind removeItem p:v1:pending:a', 'set p:v1:tokens:m']);
    await s.keys();
    expect(h.calls.at(-1)).to.equal('keys'); // after the call, the page's list again
  });

  it('a write the page could not make fails the sign-in\'s next storage call with its error', async () => {
    const h = host('p:v1:client:i');
    const records = snapshots(h);
    const s = records.host.storage;
    const snap = JSON.stringify({ base, fresh, records: {}, keys: [] });
    const err = await records.during(snap, async () => {
      s.setItem('p:v1:client:i', 'C');
      await new Promise((r) => setTimeout(r, 0));
      await s.getItem('p:v1:client:i');
      return null;
    }).catch((e) => e);
    expect(err).to.deep.include({ code: 'storage_error', message: 'localStorage.setItem failed (storage is full)' });
    // The next sign-in starts clean.
    expect(await records.during(JSON.stringify({ base, fresh, records: { 'p:v1:client:i': 'C' }, keys: [] }), () => s.getItem('p:v1:client:i'))).to.equal('C');
  });
});

describe('snapshot.js: overlapping sign-ins', () => {
  it('share the first snapshot, so that neither loses the other\'s writes', async () => {
    const calls = [];
    const storage = { getItem: async (k) => { calls.push(k); return null; }, setItem: async () => {}, removeItem: async () => {} };
    const records = snapshots({ storage });
    const s = records.host.storage;
    const snap = (r) => JSON.stringify({ base: 'p:v1:', fresh: ['p:v1:tokens:'], records: r });
    let release;
    const first = records.during(snap({}), async () => {
      await s.setItem('p:v1:pending:a', 'A');
      await new Promise((r) => { release = r; });
      return s.getItem('p:v1:pending:a');
    });
    const second = await records.during(snap({ 'p:v1:client:i': 'C' }), async () => [await s.getItem('p:v1:pending:a'), await s.getItem('p:v1:client:i')]);
    release();
    expect(await first).to.equal('A');
    expect(second[0]).to.equal('A');
    expect(calls).to.deep.equal([]);
  });
});
