// ours.js: the bench page for mcp-oauth-wasm (../mcp-oauth.js), popup mode.
//
// Popup mode is what a web app's user gets: the click on Connect calls
// client.authorize(), which opens the popup inside the click; the popup
// goes through oidc-provider with --interactions=auto (login and consent
// approved by redirects, no person needed) to ../callback.html, which hands
// the response back. The wasm starts on first need (inside authorize()),
// as in a real app.
//
// ?mode=new        load, then wait for the driver's click on #connect
// ?mode=returning  load, then straight to tools/list with the stored token
// &mcp=<MCP URL>
import { params, sleep, connectAndListTools, hotPath, installBench } from './common.js';

const bench = installBench(params.get('mode'));
const mcpUrl = params.get('mcp');

// See the Go instance that mcp-oauth.js creates (for its memory and its
// start time) without changing mcp-oauth.js: wrap the functions it may
// fetch, compile and instantiate with. The wrappers only pass through.
// instantiateStart is the first of them (the fetch and compile begin);
// instantiate(module) resolves with an Instance, instantiate(bytes) and
// instantiateStreaming with {module, instance}.
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
bench.wasmMemoryBytes = () => (wasm.instance ? wasm.instance.exports.mem.buffer.byteLength : 0);
bench.wasm = wasm;

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

  bench.hot = (opts) => hotPath({ getToken: () => client.getAccessToken(), wrappedFetch: client.fetch, mcpUrl, ...opts });

  if (bench.mode === 'returning') {
    const { tools } = await connectAndListTools(client.fetch, mcpUrl, bench.marks);
    const toolsDone = performance.now();
    bench._done.resolve({
      tools, toolsDoneMs: toolsDone, firstAuthorizedResponseMs: bench.marks.firstAuthorizedResponse,
      wasmStartedBeforeTools: wasm.instantiateStart !== null && wasm.instantiateStart < toolsDone,
      wasmInstantiateMs: wasm.instantiateEnd !== null ? wasm.instantiateEnd - wasm.instantiateStart : null,
      wasmMemoryBytes: bench.wasmMemoryBytes(),
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
        bench._tokenStored.resolve({
          clickToTokenMs: tokenTs - clickTs,
          wasmStartMs: wasm.instantiateEnd !== null ? wasm.instantiateEnd - wasm.instantiateStart : null,
          clickToWasmReadyMs: wasm.instantiateEnd !== null ? wasm.instantiateEnd - clickTs : null,
          wasmMemoryBytes: bench.wasmMemoryBytes(),
        });
        await sleep(500); // keeps the next requests out of the driver's connect window
        const { tools } = await connectAndListTools(client.fetch, mcpUrl);
        bench._done.resolve({ tools, wasmMemoryBytes: bench.wasmMemoryBytes() });
      })().catch((e) => bench.fail(e));
    });
    button.disabled = false;
  }
} catch (e) {
  bench.fail(e);
}
