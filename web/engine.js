// engine.js: the wasm engine, fetched, compiled and started once per page,
// on first need. A client created without a usable token starts it in the
// background, so a sign-in does not wait for it; a returning user with a
// valid token never fetches it.

import { fail } from './errors.js';

let wasmUrl = new URL('./mcp-oauth.wasm', import.meta.url);
let goApi = null;
let wasmModule = null;

// setWasmUrl points at the wasm elsewhere: a relative URL is read against
// the page (or worker) address, as fetch would.
export function setWasmUrl(url) {
  wasmUrl = new URL(String(url), globalThis.location?.href);
}

const inServiceWorker = () => typeof globalThis.ServiceWorkerGlobalScope === 'function' && globalThis instanceof globalThis.ServiceWorkerGlobalScope;

// cspError names the fix when the page's Content-Security-Policy forbids
// compiling WebAssembly.
function cspError(e) {
  if (!/unsafe-eval|Content Security Policy|CSP/i.test(String(e && e.message))) return null;
  return fail('invalid_config', `this page's Content-Security-Policy does not allow WebAssembly (${e.message}): add 'wasm-unsafe-eval' to script-src (in an extension: content_security_policy.extension_pages)`);
}

function compileWasm() {
  if (!wasmModule) {
    wasmModule = (async () => {
      try {
        return await WebAssembly.compileStreaming(fetch(wasmUrl));
      } catch (e) {
        const csp = cspError(e);
        if (csp) throw csp;
        // A server that does not send application/wasm: compile from bytes.
        let resp;
        try {
          resp = await fetch(wasmUrl);
        } catch (e2) {
          throw fail('network_error', `could not load the engine ${wasmUrl} (${e2.message}): serve mcp-oauth.wasm beside mcp-oauth.js, or pass load({wasmUrl})`);
        }
        if (!resp.ok) throw fail('network_error', `could not load the engine ${wasmUrl} (HTTP ${resp.status}): serve mcp-oauth.wasm beside mcp-oauth.js, or pass load({wasmUrl})`);
        try {
          return await WebAssembly.compile(await resp.arrayBuffer());
        } catch (e3) {
          throw cspError(e3) || fail('invalid_config', `${wasmUrl} is not the engine's WebAssembly (${e3.message}): serve the mcp-oauth.wasm that came with this mcp-oauth.js`);
        }
      }
    })();
    wasmModule.catch(() => { wasmModule = null; });
  }
  return wasmModule;
}

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
  if (!globalThis.Go) throw fail('invalid_config', 'wasm_exec.js loaded but defined no Go class: it is not the Go runtime that built mcp-oauth.wasm');
}

// startEngine resolves with the engine's API (globalThis.__mcpOAuthGo).
export function startEngine() {
  if (!goApi) {
    goApi = (async () => {
      const [module] = await Promise.all([compileWasm(), loadGoRuntime()]);
      const go = new globalThis.Go();
      const instance = await WebAssembly.instantiate(module, go.importObject);
      go.run(instance); // runs main until it waits; the API is then in place
      const api = globalThis.__mcpOAuthGo;
      if (!api) throw fail('invalid_config', 'mcp-oauth.wasm started but did not register its API');
      return api;
    })();
    goApi.catch(() => { goApi = null; }); // a failed load may be retried
  }
  return goApi;
}
