// remote.js: calls between the page and the engine's Worker, here over a
// MessageChannel with both ends in the page.
import { expect } from './node_modules/chai/index.js';
import { Peer } from '/remote.js';

function pair(root) {
  const { port1, port2 } = new MessageChannel();
  const server = new Peer(port2, root);
  const client = new Peer(port1);
  return { client, server, api: (methods, opts) => client.stub(methods, 0, opts) };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('remote.js', () => {
  it('calls methods with strings, numbers and booleans and returns their results', async () => {
    const { api } = pair({ add: (a, b) => a + b, echo: async (s, flag) => `${s}:${flag}` });
    const s = api(['add', 'echo']);
    expect(await s.add(2, 3)).to.equal(5);
    expect(await s.echo('x', true)).to.equal('x:true');
  });

  it('rejects with the error as a plain {code, message} object', async () => {
    const { api } = pair({ fail: () => { throw Object.assign(new Error('no'), { code: 'storage_error', status: 500 }); } });
    const err = await api(['fail']).fail().then(() => null, (e) => e);
    expect(err).to.deep.include({ code: 'storage_error', message: 'no', status: 500 });
  });

  it('an AbortSignal aborts on the other side, at once if already aborted', async () => {
    let seen;
    const { api } = pair({ wait: (signal) => { seen = signal; return new Promise((res) => signal.addEventListener('abort', () => res('aborted'))); } });
    const c = new AbortController();
    const p = api(['wait']).wait(c.signal);
    await tick();
    expect(seen.aborted).to.equal(false);
    c.abort();
    expect(await p).to.equal('aborted');
    const pre = new AbortController();
    pre.abort();
    let already;
    const { api: api2 } = pair({ check: (signal) => { already = signal.aborted; } });
    await api2(['check']).check(pre.signal);
    expect(already).to.equal(true);
  });

  it('a function calls back, and an object comes back as itself', async () => {
    const attempt = { signal: new AbortController().signal, window: {} };
    let back;
    const host = { open: (a) => { back = a; return 'opened'; }, storage: { getItem: (k) => `v(${k})` }, sync: true };
    const { api } = pair({
      run: async (fn, obj, h) => [await fn(21), await h.open(obj), await h.storage.getItem('k'), h.sync],
    });
    const out = await api(['run']).run((x) => x * 2, attempt, host);
    expect(out).to.deep.equal([42, 'opened', 'v(k)', true]);
    expect(back).to.equal(attempt);
  });

  it('handles made for a call are released when it settles, except for methods told to keep them', async () => {
    let held;
    const { api } = pair({ hold: (h) => { held = h; }, later: async () => held.ping() });
    const s = api(['hold', 'later'], { keep: ['hold'] });
    await s.hold({ ping: () => 'pong' });
    expect(await s.later()).to.equal('pong');
    const t = pair({ hold: (h) => { held = h; }, later: async () => held.ping() });
    await t.api(['hold', 'later']).hold({ ping: () => 'pong' });
    const err = await t.api(['later']).later().then(() => null, (e) => e);
    expect(err && err.message).to.match(/released/);
  });

  it('an object returned (an engine client) keeps its methods and data', async () => {
    const { api } = pair({ make: () => ({ mcpUrl: 'https://m/mcp', hello: (n) => `hi ${n}` }) });
    const obj = await api(['make']).make();
    expect(obj.mcpUrl).to.equal('https://m/mcp');
    expect(await obj.hello('x')).to.equal('hi x');
  });
});

describe('remote.js storage', () => {
  it('a storage backend with keys() lists its keys across (the engine reads them as an array)', async () => {
    const storage = { getItem: () => null, setItem() {}, removeItem() {}, keys: () => ['a', 'b'] };
    const { api } = pair({ list: async (host) => { const k = await host.storage.keys(); return [Array.isArray(k), k.length, ...k]; } });
    expect(await api(['list']).list({ storage })).to.deep.equal([true, 2, 'a', 'b']);
  });
});
