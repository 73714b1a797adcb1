// common.js: what the bench pages (ours, sdk, sdk2) share and what is not
// auth code: a tiny MCP client (initialize, notifications/initialized,
// tools/list, ping) over any fetch function, and the bench's bookkeeping.
// Every page loads it the same way, so it cancels out of every comparison.

export const params = new URLSearchParams(location.search);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// deferred returns a promise with its resolve and reject.
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {}); // read by the driver; an unread rejection is not an error here
  return { promise, resolve, reject };
}

const PROTOCOL_VERSION = '2025-06-18';

// rpc sends one JSON-RPC message the Streamable HTTP way and returns the
// response object (null for a notification). Responses may be JSON or SSE.
export async function rpc(fetchFn, url, session, message) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  if (session.id) headers['Mcp-Session-Id'] = session.id;
  if (session.version) headers['Mcp-Protocol-Version'] = session.version;
  const resp = await fetchFn(url, { method: 'POST', headers, body: JSON.stringify(message) });
  if (!resp.ok) {
    await resp.body?.cancel();
    throw new Error(`${message.method}: HTTP ${resp.status} ${resp.headers.get('WWW-Authenticate') || ''}`);
  }
  const sid = resp.headers.get('Mcp-Session-Id');
  if (sid) session.id = sid;
  if (!('id' in message)) {
    await resp.body?.cancel();
    return null;
  }
  const text = await resp.text();
  if ((resp.headers.get('Content-Type') || '').includes('text/event-stream')) {
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      const msg = JSON.parse(data);
      if (msg.id === message.id) return msg;
    }
    throw new Error(`${message.method}: no response in the event stream`);
  }
  return JSON.parse(text);
}

let nextId = 1;

// connectAndListTools opens an MCP session and lists the tools; marks gets
// the time of the first successful (authorized) MCP response.
export async function connectAndListTools(fetchFn, url, marks = {}) {
  const session = { id: null, version: null };
  const init = await rpc(fetchFn, url, session, {
    jsonrpc: '2.0', id: nextId++, method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcp-oauth-wasm-bench', version: '0.0.0' } },
  });
  if (init.error) throw new Error(`initialize: ${init.error.message}`);
  marks.firstAuthorizedResponse = performance.now();
  session.version = init.result.protocolVersion;
  await rpc(fetchFn, url, session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  const list = await rpc(fetchFn, url, session, { jsonrpc: '2.0', id: nextId++, method: 'tools/list' });
  if (list.error) throw new Error(`tools/list: ${list.error.message}`);
  return { session, tools: list.result.tools.map((t) => t.name) };
}

// listTools sends tools/list in an open session (connectAndListTools'
// session) and returns the tools' names.
export async function listTools(fetchFn, url, session) {
  const list = await rpc(fetchFn, url, session, { jsonrpc: '2.0', id: nextId++, method: 'tools/list' });
  if (list.error) throw new Error(`tools/list: ${list.error.message}`);
  return list.result.tools.map((t) => t.name);
}

// expiredWarm is the warm page's expired-token case: in the page that has
// just connected (the engine, the SDK's code and the session all warm),
// expireToken() edits the stored tokens directly in localStorage, outside
// any lock the client may hold (so it is also the case of tokens written
// outside the refresh lock), then one tools/list goes through the client's
// fetch, which must see the token expired (ours: stored expires_at; the
// SDKs: the server's 401) and refresh it first. Timed from the call to the
// tools listed.
export async function expiredWarm({ expireToken, fetchFn, url, session }) {
  if (!session) throw new Error('no open session: connect first');
  expireToken();
  const t0 = performance.now();
  const tools = await listTools(fetchFn, url, session);
  return { tools, callToToolsMs: performance.now() - t0 };
}

// pingRequest is the request of the fetch-overhead measurement: a cheap
// MCP request (ping) in an open session.
export function pingInit(session, token) {
  const headers = {
    'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': session.id, 'Mcp-Protocol-Version': session.version,
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  return { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'ping' }) };
}

export const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

// pinger is one MCP ping through fetchFn in session (with token as
// Bearer, for a plain fetch), read to its end; a timed unit of pairedRuns.
export const pinger = (fetchFn, url, session, token = null) => async () => {
  const resp = await fetchFn(url, pingInit(session, token));
  await resp.text();
  if (!resp.ok) throw new Error(`ping: HTTP ${resp.status}`);
};

// hotPath measures, in a warm page with a valid token:
//  - getToken (the per-request token read) in µs per call: `iterations`
//    awaited calls timed together, `batches` times after one warm-up batch;
//  - the overhead of wrappedFetch over a plain fetch carrying the same
//    token to the same MCP endpoint (a ping in one session): `pairs`
//    requests each way (pairedRuns); the result is the median of the
//    paired differences per request.
export async function hotPath({ getToken, wrappedFetch, mcpUrl, iterations = 10000, batches = 5, pairs = 300 }) {
  for (let i = 0; i < iterations; i++) await getToken();
  const perCallUs = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) await getToken();
    perCallUs.push(((performance.now() - t0) * 1000) / iterations);
  }
  const token = await getToken();
  if (!token) throw new Error('no valid token for the hot path');
  const plainFetch = (u, init) => fetch(u, init);
  const { session } = await connectAndListTools(wrappedFetch, mcpUrl);
  const { a: plain, b: wrapped, diffs, n } = await pairedRuns(pinger(plainFetch, mcpUrl, session, token), pinger(wrappedFetch, mcpUrl, session), pairs);
  return {
    getTokenUs: median(perCallUs), getTokenBatchesUs: perCallUs,
    fetchOverheadMs: median(diffs), plainFetchMs: median(plain), wrappedFetchMs: median(wrapped), pairs: n,
  };
}

// pairedRuns times two one-request functions against each other: 10 of
// each to warm up, then runs of 5 (performance.now() is coarsened to
// 100 µs in a page that is not cross-origin isolated; a run of 5 gives
// 20 µs steps), the two alternating and their order swapped every other
// run. a and b are the per-request times of each run, diffs the paired
// differences b − a.
export async function pairedRuns(fnA, fnB, pairs) {
  const RUN = 5;
  const timed = async (fn, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return (performance.now() - t0) / n;
  };
  await timed(fnA, 10);
  await timed(fnB, 10);
  const diffs = [], a = [], b = [];
  const runs = Math.max(1, Math.round(pairs / RUN));
  for (let i = 0; i < runs; i++) {
    let ta, tb;
    if (i % 2) { tb = await timed(fnB, RUN); ta = await timed(fnA, RUN); }
    else { ta = await timed(fnA, RUN); tb = await timed(fnB, RUN); }
    a.push(ta); b.push(tb); diffs.push(tb - ta);
  }
  return { a, b, diffs, n: runs * RUN };
}

// installBench makes window.bench: the driver (bench/main.go) reads
// bench.ready, awaits bench.tokenStored / bench.done, calls bench.hot().
export function installBench(mode) {
  const ready = deferred(), tokenStored = deferred(), done = deferred();
  const bench = {
    mode, marks: {}, error: null,
    ready: ready.promise, tokenStored: tokenStored.promise, done: done.promise,
    _ready: ready, _tokenStored: tokenStored, _done: done,
    fail(e) {
      bench.error = String(e && e.stack || e);
      ready.reject(e); tokenStored.reject(e); done.reject(e);
    },
  };
  // Long tasks (50 ms or more) on the page's main thread since it loaded:
  // the page cannot react to the user while one runs (issue: page load →
  // signed in with no task over 50 ms).
  const longTasks = [];
  try {
    new PerformanceObserver((list) => { for (const t of list.getEntries()) longTasks.push(t.duration); })
      .observe({ type: 'longtask', buffered: true });
  } catch {}
  bench.longestTaskMs = () => Math.max(0, ...longTasks);
  // clickPoint is where the driver clicks Connect (its center), as soon as
  // the page is ready and the button enabled.
  bench.clickPoint = async () => {
    await bench.ready;
    const button = document.getElementById('connect');
    while (button.disabled) await sleep(1);
    const r = button.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  };
  window.bench = bench;
  addEventListener('unhandledrejection', (e) => bench.fail(e.reason));
  return bench;
}
