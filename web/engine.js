// engine.js: the wasm engine, fetched, compiled and started once per page,
// on first need. A client created without a usable token starts it in the
// background, so a sign-in does not wait for it; a returning user with a
// valid token never fetches it.
//
// Where a page can, the engine runs in a dedicated Worker
// (engine-worker.js), so that compiling the wasm, starting the Go runtime
// and the engine's own work never hold the page's main thread (the
// longest of them was 107–148 ms on the page). The page keeps what only it
// has: storage, the popup, the Web Locks barrier, events; the engine
// reaches them through remote.js. Where a page cannot (no Worker, as in a
// service worker; a worker-src policy; a bundler that did not copy
// engine-worker.js) or load({worker: false}) says so, it runs on the page.

import { fail, toError } from './errors.js';
import { Peer } from './remote.js';
import { compileWasm, runEngine } from './wasm.js';

let wasmUrl = new URL('./mcp-oauth.wasm', import.meta.url);
let useWorker = true;
let goApi = null;
let stats = null;

// configureEngine applies load()'s options: wasmUrl (a relative URL is read
// against the page, or worker, address, as fetch would) and worker.
export function configureEngine({ wasmUrl: url, worker } = {}) {
  if (url !== undefined) wasmUrl = new URL(String(url), globalThis.location?.href);
  if (worker !== undefined) useWorker = worker;
}

const inServiceWorker = () => typeof globalThis.ServiceWorkerGlobalScope === 'function' && globalThis instanceof globalThis.ServiceWorkerGlobalScope;

// loadGoRuntime makes sure the Go runtime's support code (wasm_exec.js,
// which defines globalThis.Go) is loaded. worker.js imports it statically;
// pages import it here on first need, with a plain relative specifier that
// bundlers follow.
async function loadGoRuntime() {
  if (globalThis.Go) return;
  if (inServiceWorker()) {
    throw fail('invalid_config', "a service worker cannot import() modules: import mcp-oauth-wasm/worker (worker.js) instead of mcp-oauth.js; it loads the Go runtime statically");
  }
  try {
    await import('./wasm_exec.js');
  } catch (e) {
    throw fail('network_error', `the Go runtime wasm_exec.js could not be loaded beside mcp-oauth.js (${e.message}): serve it with the module (the npm package has it; from source, ./build.sh copies it from $(go env GOROOT)/lib/wasm/)`);
  }
}

async function startOnPage() {
  const [module] = await Promise.all([compileWasm(wasmUrl), loadGoRuntime()]);
  const { api, memoryBytes } = await runEngine(module);
  stats.where = 'page';
  stats.memoryBytes = memoryBytes;
  return api;
}

// A worker that could not start at all (its script blocked or missing)
// falls back to the page; one that started and failed (the wasm missing)
// fails as the page would.
const noWorker = Symbol('noWorker');

function startInWorker() {
  let worker;
  try {
    worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module' });
  } catch {
    return Promise.reject(noWorker);
  }
  return new Promise((resolve, reject) => {
    const onError = (e) => {
      e.preventDefault?.();
      done();
      worker.terminate();
      reject(noWorker);
    };
    const onMessage = (e) => {
      const m = e.data;
      if (m?.t === 'ready') {
        done();
        const peer = new Peer(worker);
        const api = peer.stub(m.methods, 0, { keep: ['newClient'] }); // a client keeps its host
        api.version = m.version;
        stats.where = 'worker';
        stats.memoryBytes = () => api.memoryBytes();
        resolve(api);
      } else if (m?.t === 'failed') {
        done();
        worker.terminate();
        reject(toError(m.error));
      }
    };
    const done = () => {
      worker.removeEventListener('error', onError);
      worker.removeEventListener('message', onMessage);
    };
    worker.addEventListener('error', onError);
    worker.addEventListener('message', onMessage);
    worker.postMessage({ t: 'start', wasmUrl: wasmUrl.href });
  });
}

// startEngine resolves with the engine's API: newClient, pendingFor,
// checkIfAuthRequired (wasm/main.go), each returning a Promise, in the
// Worker or on the page.
export function startEngine() {
  if (!goApi) {
    stats = { where: null, loadStart: globalThis.performance?.now(), ready: null, memoryBytes: null };
    const worker = useWorker && typeof globalThis.Worker === 'function';
    goApi = (worker ? startInWorker().catch((e) => (e === noWorker ? startOnPage() : Promise.reject(e))) : startOnPage())
      .then((api) => {
        stats.ready = globalThis.performance?.now();
        return api;
      });
    goApi.catch(() => { goApi = null; }); // a failed load may be retried
  }
  return goApi;
}

// engineStats tells where the engine runs and what it costs: null before
// it was started; else {where: 'worker'|'page', loadStart, ready (page
// clock, ms), memoryBytes}. For benchmarks and diagnostics.
export async function engineStats() {
  if (!goApi) return null;
  await goApi.catch(() => {});
  if (!stats || !stats.where) return null;
  return { where: stats.where, loadStart: stats.loadStart, ready: stats.ready, memoryBytes: await stats.memoryBytes() };
}
