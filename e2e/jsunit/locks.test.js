// locks.js: the refresh lock's barrier waits only for a stale view of the
// previous holder's write, never for a value written outside the lock.
import { expect } from './node_modules/chai/index.js';
import { digest, withLock } from '/locks.js';

describe('locks.js', () => {
  const key = 'locks-test:tokens';
  const opts = (name) => ({ webStorage: localStorage, watchedKey: key, timeoutMs: 5000 });
  const timed = async (name, fn = async () => {}) => {
    const t0 = performance.now();
    await withLock(name, fn, opts(name));
    return performance.now() - t0;
  };

  it('digest tells values apart without keeping them', () => {
    expect(digest(null)).to.equal('none');
    expect(digest('{"access_token":"a"}')).to.equal(digest('{"access_token":"a"}'));
    expect(digest('{"access_token":"a"}')).to.not.equal(digest('{"access_token":"b"}'));
    expect(digest('{"access_token":"secret-token"}')).to.not.include('secret');
  });

  it('a value written outside the lock after a holder changed it costs no wait', async () => {
    const name = `locks-test-${Math.random()}`;
    localStorage.setItem(key, 'R1');
    await timed(name, async () => { localStorage.setItem(key, 'R2'); }); // a refresh: R1 → R2
    localStorage.setItem(key, 'R3 (a new sign-in, or a test expiring the token)');
    expect(await timed(name)).to.be.below(400); // no 500 ms wait
  });

  it('a stale view of the previous holder\'s write waits until the write shows', async () => {
    const name = `locks-test-${Math.random()}`;
    localStorage.setItem(key, 'R1');
    await timed(name, async () => { localStorage.setItem(key, 'R2'); });
    localStorage.setItem(key, 'R1'); // as a tab that has not seen R2 yet
    setTimeout(() => localStorage.setItem(key, 'R2'), 150);
    const waited = await timed(name);
    expect(waited).to.be.within(140, 480); // ended by the write, not the 500 ms bound
    // and it gives up after 500 ms if the write never shows
    await timed(name, async () => { localStorage.setItem(key, 'R3'); });
    localStorage.setItem(key, 'R2');
    expect(await timed(name)).to.be.within(480, 1500);
    localStorage.removeItem(key);
  });
});

describe('locks.js: changing()', () => {
  it('a holder that announces its change leaves the same record; one that changes nothing after all leaves none', async () => {
    const key = 'locks-test:tokens';
    const o = { webStorage: localStorage, watchedKey: key, timeoutMs: 5000 };
    const name = `locks-test-${Math.random()}`;
    localStorage.setItem(key, 'R1');
    await withLock(name, async (changing) => { changing(); localStorage.setItem(key, 'R2'); }, o);
    localStorage.setItem(key, 'R1'); // a stale view: waits until R2 shows
    setTimeout(() => localStorage.setItem(key, 'R2'), 150);
    let t0 = performance.now();
    await withLock(name, async () => {}, o);
    expect(performance.now() - t0).to.be.within(140, 480);
    await withLock(name, async (changing) => { changing(); }, o); // announced, then a network error: unchanged
    t0 = performance.now();
    await withLock(name, async () => {}, o);
    expect(performance.now() - t0).to.be.below(400); // no wait for a change that never happened
    localStorage.removeItem(key);
  });
});
