// engine.js: the wasm engine, fetched, compiled and started once per page,
// on first need. A client created without a usable token starts it in the
// background, so a sign-in does not wait for it; a returning user with a
// valid token never fetches it.

import { fail } from './errors.js';

let wasmUrl = new URL('./mcp-oauth.wasm', import.meta.url);
let goApi = null;
let wasmModule = null;

export function setWasmUrl(url) {
  wasmUrl = new URL(url, import.meta.url);
}

function compileWasm() {
  if (!wasmModule) {
    wasmModule = (async () => {
      try {
        return await WebAssembly.compileStreaming(fetch(wasmUrl));
      } catch {
        // A server that does not send application/wasm: compile from bytes.
        const resp = await fetch(wasmUrl);
        if (!resp.ok) throw fail('network_error', `could not load ${wasmUrl} (HTTP ${resp.status})`);
        return WebAssembly.compile(await resp.arrayBuffer());
      }
    })();
    wasmModule.catch(() => { wasmModule = null; });
  }
  return wasmModule;
}

// startEngine resolves with the engine's API (globalThis.__mcpOAuthGo).
export function startEngine() {
  if (!goApi) {
    goApi = (async () => {
      const [module] = await Promise.all([
        compileWasm(),
        globalThis.Go ? null : import(new URL('./wasm_exec.js', import.meta.url).href),
      ]);
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
