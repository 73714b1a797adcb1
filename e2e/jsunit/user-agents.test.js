// user-agents.js: the popup's state machine (COOP severing, closing, late
// responses, the timeout, aborts) and the channels it listens on, with a
// stand-in popup whose state the tests set.
import { expect } from './node_modules/chai/index.js';
import { CALLBACK_MESSAGE } from '/callback-channel.js';
import { functionAgent, waitForCallback } from '/user-agents.js';

// fakePopup is a popup window as waitForCallback sees it: closed, a
// location that throws once the window is on another origin, close().
function fakePopup() {
  const loc = { href: 'about:blank' };
  return {
    closed: false,
    crossOrigin: false,
    navigatedTo: '',
    get location() {
      if (this.crossOrigin) throw new DOMException('Blocked a frame', 'SecurityError');
      return { set href(v) { loc.href = v; }, get href() { return loc.href; } };
    },
    set location(v) { loc.href = v; },
    close() { this.closed = true; },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const settled = (p) => p.then((v) => ({ ok: v }), (e) => ({ code: e.code }));
const race = (p, ms) => Promise.race([settled(p), sleep(ms).then(() => 'pending')]);
const cb = (state, extra = '') => `${location.origin}/callback.html?code=c&state=${state}${extra}`;
let n = 0;
const newState = () => `state-${Date.now()}-${n++}`;

describe('user-agents.js: the popup', () => {
  it('a popup that reads closed before it was seen at the authorization server is taken as severed by COOP: it waits, and ends at the abort', async () => {
    const popup = fakePopup();
    const ac = new AbortController();
    const p = waitForCallback({ popup, url: 'https://as.example/authorize', state: newState(), timeoutMs: 60000, signal: ac.signal, pollMs: 20, hasFocus: () => true });
    popup.closed = true;
    expect(await race(p, 1500)).to.equal('pending');
    const t0 = performance.now();
    ac.abort();
    expect(await race(p, 100)).to.deep.equal({ code: 'aborted' });
    expect(performance.now() - t0).to.be.below(100);
  });

  it('a popup seen at the authorization server and closed while the page has the focus is popup_closed in about a second; a response after that still arrives (onLate)', async () => {
    const popup = fakePopup();
    const state = newState();
    let late = null;
    const p = waitForCallback({ popup, url: 'https://as.example/authorize', state, timeoutMs: 60000, pollMs: 20, hasFocus: () => true, onLate: (u) => { late = u; } });
    popup.crossOrigin = true;
    await sleep(100);
    const t0 = performance.now();
    popup.closed = true;
    expect(await race(p, 3000)).to.deep.equal({ code: 'popup_closed' });
    expect(performance.now() - t0).to.be.within(900, 1600);
    const bc = new BroadcastChannel(CALLBACK_MESSAGE);
    bc.postMessage({ type: CALLBACK_MESSAGE, url: cb(state) });
    bc.close();
    await sleep(200);
    expect(late).to.equal(cb(state));
  });

  it('closed while this page lacks the focus (a popup severed later keeps it) is not a cancel; the timeout ends it and closes the window', async () => {
    const popup = fakePopup();
    const p = waitForCallback({ popup, url: 'https://as.example/authorize', state: newState(), timeoutMs: 1500, pollMs: 20, hasFocus: () => false });
    popup.crossOrigin = true;
    await sleep(100);
    popup.closed = true;
    expect(await race(p, 1000)).to.equal('pending');
    expect(await race(p, 1500)).to.deep.equal({ code: 'timeout' });
  });

  it('a BroadcastChannel message for another state is ignored; one for this state resolves', async () => {
    const popup = fakePopup();
    const state = newState();
    const p = waitForCallback({ popup, url: 'https://as.example/authorize', state, timeoutMs: 60000, pollMs: 20 });
    const bc = new BroadcastChannel(CALLBACK_MESSAGE);
    bc.postMessage({ type: CALLBACK_MESSAGE, url: cb('someone-else') });
    expect(await race(p, 300)).to.equal('pending');
    bc.postMessage({ type: CALLBACK_MESSAGE, url: cb(state) });
    bc.close();
    expect(await race(p, 1000)).to.deep.equal({ ok: cb(state) });
  });

  it('the localStorage relay for this state is taken; the marker lives only while the sign-in waits', async () => {
    const popup = fakePopup();
    const state = newState();
    const p = waitForCallback({ popup, url: 'https://as.example/authorize', state, timeoutMs: 60000, pollMs: 20 });
    expect(Number(localStorage.getItem('mcp-oauth-popup:' + state))).to.be.above(0);
    localStorage.setItem('mcp-oauth-callback:' + state, JSON.stringify({ url: cb(state), at: Date.now() }));
    expect(await race(p, 1000)).to.deep.equal({ ok: cb(state) });
    expect(localStorage.getItem('mcp-oauth-callback:' + state)).to.equal(null);
    expect(localStorage.getItem('mcp-oauth-popup:' + state)).to.equal(null);
  });

  it('a message from its own window passes whatever its state (the engine then refuses it as state_mismatch)', async () => {
    const frame = document.createElement('iframe');
    document.body.append(frame);
    const popup = frame.contentWindow;
    const p = waitForCallback({ popup, url: 'about:blank#signing-in', state: newState(), timeoutMs: 60000, pollMs: 20 });
    // Sent by the frame's own script, so the event's source is the frame.
    new popup.Function('m', 'parent.postMessage(m, "*")')({ type: CALLBACK_MESSAGE, url: cb('tampered') });
    const got = await race(p, 1000);
    frame.remove();
    expect(got).to.deep.equal({ ok: cb('tampered') });
  });

  it('an already-aborted signal rejects at once and never navigates the popup', async () => {
    const popup = fakePopup();
    const ac = new AbortController();
    ac.abort();
    expect(await race(waitForCallback({ popup, url: 'https://as.example/authorize', state: newState(), timeoutMs: 60000, signal: ac.signal }), 50)).to.deep.equal({ code: 'aborted' });
    expect(popup.location.href).to.equal('about:blank');
  });
});

describe('user-agents.js: a mode function', () => {
  it('gets a signal of its own that aborts with the caller\'s, and must resolve with a string', async () => {
    const ac = new AbortController();
    let seen = null;
    const agent = functionAgent(async (url, { signal, state }) => { seen = signal; expect(state).to.equal('s1'); return 42; });
    const attempt = agent.start(ac.signal);
    const r = await settled(agent.open('https://as.example/authorize', { state: 's1', redirectUri: 'x', attempt }));
    expect(r).to.deep.equal({ code: 'authorization_error' });
    expect(seen.aborted).to.equal(false);
    ac.abort();
    expect(seen.aborted).to.equal(true);
  });
});
