// storage.js: backends, their failures and fallbacks, and the key layout.
import { expect } from './node_modules/chai/index.js';
import { CONTRACT } from '/contract.js';
import { makeStorage, storageKey, webStorageBackend } from '/storage.js';

const code = (fn) => { try { fn(); return 'no error'; } catch (e) { return `${e.code}: ${e.message}`; } };

describe('storage.js', () => {
  it('storageKey builds the engine\'s key from the contract', () => {
    expect(storageKey('p', 'tokens', 'https://m/mcp')).to.equal(`p:${CONTRACT.storageKeyVersion}:${CONTRACT.storageKinds.tokens}:https://m/mcp`);
    expect(code(() => storageKey('p', 'nope', 'x'))).to.match(/^invalid_config/);
  });

  it("'memory' storage is per client: two backends share nothing", () => {
    const a = makeStorage('memory');
    const b = makeStorage('memory');
    a.setItem('k', 'v');
    expect(a.getItem('k')).to.equal('v');
    expect(b.getItem('k')).to.equal(null);
    expect(a.keys()).to.deep.equal(['k']);
  });

  it('a full localStorage fails with storage_error saying so, and touches nothing else', () => {
    const s = webStorageBackend('localStorage', false);
    localStorage.setItem('other-app', 'keep');
    const real = Storage.prototype.setItem;
    Storage.prototype.setItem = function () { throw new DOMException('quota', 'QuotaExceededError'); };
    try {
      expect(code(() => s.setItem('k', 'v'))).to.match(/^storage_error: localStorage.setItem failed \(storage is full\)/);
    } finally {
      Storage.prototype.setItem = real;
    }
    expect(localStorage.getItem('other-app')).to.equal('keep');
    localStorage.removeItem('other-app');
  });

  it('unavailable Web Storage: storage_error naming the fix, or memory when allowed', () => {
    const blocked = webStorageBackend('noSuchStorage', false);
    expect(code(() => blocked.getItem('k'))).to.match(/^storage_error: noSuchStorage is unavailable .*storage: 'memory'/);
    const fallback = webStorageBackend('noSuchStorage', true);
    fallback.setItem('k', 'v');
    expect(fallback.getItem('k')).to.equal('v');
  });

  it("an app's async object: results awaited, failures are storage_error", async () => {
    const m = new Map();
    const ok = makeStorage({ getItem: async (k) => m.get(k) ?? null, setItem: async (k, v) => { m.set(k, v); }, removeItem: async (k) => { m.delete(k); } });
    expect(ok.sync).to.equal(false);
    await ok.setItem('k', 'v');
    expect(await ok.getItem('k')).to.equal('v');
    const bad = makeStorage({ getItem: () => Promise.reject(new Error('nope')), setItem() {}, removeItem() {} });
    const err = await bad.getItem('k').catch((e) => e);
    expect(err.code).to.equal('storage_error');
    expect(err.message).to.contain('nope');
  });

  it('a storage option that is none of the kinds is invalid_config', () => {
    expect(code(() => makeStorage('indexedDB'))).to.match(/^invalid_config/);
    expect(code(() => makeStorage({ getItem() {} }))).to.match(/^invalid_config/);
  });
});
