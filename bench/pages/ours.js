// ours.js: the bench page for mcp-oauth-wasm (../mcp-oauth.js), popup mode.
//
// Popup mode is what a web app's user gets: the click on Connect calls
// client.authorize(), which opens the popup inside the click; the popup
// goes through oidc-provider with --interactions=auto (login and consent
// approved by redirects, no person needed) to ../callback.html, which hands
// the response back. The engine (the wasm) starts on first need, as in a
// real app: in the background when a client is created without a usable
// token (so before the click, if the click comes late enough), else inside
// authorize() or the first refresh.
//
// ?mode=new        load, then wait for the driver's click on #connect; then
//                  bench.expiredWarm() in the same page
// ?mode=returning  load, then straight to tools/list with the stored token
// &mcp=<MCP URL>
import { params, sleep, deferred, median, connectAndListTools, expiredWarm, hotPath, installBench, pairedRuns, pinger } from './common.js';

const bench = installBench(params.get('mode'));
const mcpUrl = params.get('mcp');

// The engine's start time and memory. Where web/engine.js exports
// engineStats() (the engine in a dedicated Worker, or on the page where it
// cannot be), the page asks it: {where, loadStart, ready, memoryBytes}, on
// the page's performance.now() clock. Before that export existed, the
// engine ran on the page and the bench saw its Go instance by wrapping the
// functions mcp-oauth.js may fetch, compile and instantiate with (they only
// pass through): the fallback below, installed before anything loads, and
// blind to a Worker's instance. instantiateStart is the first of them (the
// fetch and compile begin); instantiate(module) resolves with an Instance,
// instantiate(bytes) and instantiateStreaming with {module, instance}.
const wasm = { instantiateStart: null, instantiateEnd: null, instance: null };
for (const name of ['compileStreaming', 'compile', 'instantiateStreaming', 'instantiate']) {
  const original = WebAssembly[name];
  WebAssembly[name] = async function (...args) {
    if (wasm.instantiateStart === null) wasm.instantiateStart = performance.now();
    const result = await original.apply(this, args);
    const instance = result instanceof WebAssembly.Instance ? result : result && result.instance;
    if (instance) {
      wasm.instance = instance;
      wasm.instantiateEnd = performance.now();
    }
    return result;
  };
}
bench.wasm = wasm;

// engineInfo resolves with null (the engine not started) or {source, where,
// loadStart, ready, memoryBytes}: from engineStats() when engine.js has it,
// else from the wrappers (where: 'page'; ready: instantiated, the API a
// moment later). Called only after what is timed: engine.js is the module
// mcp-oauth.js imported (no request), but the import still takes a turn.
async function engineInfo() {
  const { engineStats } = await import('../engine.js');
  if (typeof engineStats === 'function') {
    const s = await engineStats();
    return s && { source: 'engineStats', where: s.where, loadStart: s.loadStart, ready: s.ready, memoryBytes: s.memoryBytes ?? 0 };
  }
  if (wasm.instantiateStart === null) return null;
  return {
    source: 'WebAssembly wrappers', where: 'page', loadStart: wasm.instantiateStart, ready: wasm.instantiateEnd,
    memoryBytes: wasm.instance ? wasm.instance.exports.mem.buffer.byteLength : 0,
  };
}
bench.engineInfo = engineInfo;
bench.wasmMemoryBytes = async () => (await engineInfo())?.memoryBytes ?? 0;

try {
  const t0 = performance.now();
  const { load } = await import('../mcp-oauth.js');
  const mcpOAuth = await load();
  const client = mcpOAuth.createClient({
    mcpUrl,
    redirectUri: new URL('../callback.html', location.href).href,
    mode: 'popup',
    clientName: 'mcp-oauth-wasm bench',
  });
  const t1 = performance.now();
  bench.marks.importStart = t0;
  bench.marks.ready = t1;
  bench.client = client;
  bench._ready.resolve({ importToReadyMs: t1 - t0 });

  // expireToken makes the stored access token expired (and unusable):
  // expires_at in the past, so the engine refreshes it.
  bench.expireToken = () => {
    const key = `mcp-oauth:v1:tokens:${client.mcpUrl}`;
    const t = JSON.parse(localStorage.getItem(key));
    if (!t) throw new Error(`no stored tokens under ${key}`);
    const now = Math.floor(Date.now() / 1000);
    t.access_token = `expired-${now}`;
    t.issued_at = now - 3700;
    t.expires_at = now - 100;
    localStorage.setItem(key, JSON.stringify(t));
    return true;
  };

  bench.expiredWarm = () => expiredWarm({ expireToken: bench.expireToken, fetchFn: client.fetch, url: mcpUrl, session: bench.session });

  bench.hot = async (opts) => ({ ...(await hotPath({ getToken: () => client.getAccessToken(), wrappedFetch: client.fetch, mcpUrl, ...opts })), ...(await dpopCost()) });

  // dpopCost: the cost of one DPoP proof (RFC 9449) signed in JavaScript
  // (dpop.js, what client.fetch does) and through the engine (its
  // dpopHeaders: a call into the Worker, which asks the page's key to
  // sign), with a throwaway key. The bench's servers speak Bearer, so
  // these are the proofs alone.
  async function dpopCost() {
    const { dpopKeys, dpopProof } = await import('../dpop.js');
    const keys = dpopKeys(`bench-dpop:${Math.random()}`);
    await keys.renew();
    const args = { method: 'POST', url: mcpUrl, accessToken: 'a'.repeat(43) };
    const time = async (fn, n) => { for (let i = 0; i < 10; i++) await fn(); const t0 = performance.now(); for (let i = 0; i < n; i++) await fn(); return (performance.now() - t0) / n; };
    const jsMs = await time(() => dpopProof(keys, args), 200);
    const { startEngine } = await import('../engine.js');
    const api = await startEngine();
    const host = {
      storage: { getItem: () => null, setItem() {}, removeItem() {} }, withLock: (_n, fn) => fn(), emit() {}, openAuthorizationUrl() {},
      dpopPublicKey: () => keys.publicJwk(), dpopSign: (b) => keys.sign(b), dpopNewKey: () => keys.renew(),
    };
    const engine = await api.newClient(JSON.stringify({ mcpUrl, redirectUri: new URL('../callback.html', location.href).href }), host, true);
    const engineMs = await time(() => engine.dpopHeaders(undefined, args.method, args.url, args.accessToken), 100);
    await keys.remove();
    return { dpopProofJsMs: jsMs, dpopProofEngineMs: engineMs };
  }

  // DPoP beside Bearer (ours alone: the SDKs' auth() has no DPoP). The
  // driver calls bench.dpopClickPoint(url) with the bench's second MCP
  // server (mcpserver.mjs --dpop, the same oidc-provider), which creates a
  // client for it with dpop: 'require' and enables #connect-dpop; it
  // clicks that button (the popup opens inside the click, as Connect's),
  // awaits bench.dpopSignedIn, then bench.dpopFetch(pairs): MCP pings
  // through client.fetch on the Bearer client and on the DPoP client (a
  // proof signed in JavaScript for each, and the server verifying it),
  // alternating in runs of 5 (pairedRuns).
  const dpopSignedIn = deferred();
  bench.dpopSignedIn = dpopSignedIn.promise;
  let dpopClient = null;
  bench.dpopClickPoint = async (dpopMcpUrl) => {
    dpopClient = mcpOAuth.createClient({
      mcpUrl: dpopMcpUrl, redirectUri: new URL('../callback.html', location.href).href, mode: 'popup', clientName: 'mcp-oauth-wasm bench (DPoP)', dpop: 'require',
    });
    const button = document.getElementById('connect-dpop');
    button.onclick = () => dpopClient.authorize().then((t) => dpopSignedIn.resolve({ tokenType: t.token_type }), (e) => bench.fail(e));
    button.disabled = false;
    const r = button.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  };
  bench.dpopFetch = async (pairs) => {
    const bearer = await connectAndListTools(client.fetch, mcpUrl);
    const dpop = await connectAndListTools(dpopClient.fetch, dpopClient.mcpUrl);
    const { a, b, diffs, n } = await pairedRuns(pinger(client.fetch, mcpUrl, bearer.session), pinger(dpopClient.fetch, dpopClient.mcpUrl, dpop.session), pairs);
    return { bearerFetchMs: median(a), dpopFetchMs: median(b), dpopOverheadMs: median(diffs), pairs: n, tools: dpop.tools };
  };

  if (bench.mode === 'returning') {
    const { tools } = await connectAndListTools(client.fetch, mcpUrl, bench.marks);
    const toolsDone = performance.now();
    const engine = await engineInfo();
    bench._done.resolve({
      tools, toolsDoneMs: toolsDone, firstAuthorizedResponseMs: bench.marks.firstAuthorizedResponse,
      wasmStartedBeforeTools: engine !== null && engine.loadStart < toolsDone,
      wasmMemoryBytes: engine ? engine.memoryBytes : 0,
      engine,
    });
  } else {
    const button = document.getElementById('connect');
    button.addEventListener('click', (ev) => {
      const clickTs = ev.timeStamp;
      (async () => {
        await client.authorize(); // opens the popup before its first await
        const tokenTs = performance.now();
        const token = await client.getAccessToken();
        if (!token) throw new Error('authorize() resolved without a stored token');
        const engine = await engineInfo();
        bench._tokenStored.resolve({
          clickToTokenMs: tokenTs - clickTs,
          readyToClickMs: clickTs - bench.marks.ready,
          wasmStartMs: engine && engine.ready != null ? engine.ready - engine.loadStart : null,
          clickToWasmReadyMs: engine && engine.ready != null ? engine.ready - clickTs : null,
          wasmMemoryBytes: engine ? engine.memoryBytes : 0,
          engine,
        });
        await sleep(500); // keeps the next requests out of the driver's connect window
        const { tools, session } = await connectAndListTools(client.fetch, mcpUrl);
        bench.session = session;
        bench._done.resolve({ tools, wasmMemoryBytes: await bench.wasmMemoryBytes() });
      })().catch((e) => bench.fail(e));
    });
    button.disabled = false;
  }
} catch (e) {
  bench.fail(e);
}
