// wasm.js: fetch, compile and start mcp-oauth.wasm in this global scope
// (the page's, or the engine Worker's), with errors that say what to fix.
// The Go runtime's support code (wasm_exec.js, globalThis.Go) must already
// be loaded.

import { fail } from './errors.js';

// cspError names the fix when a Content-Security-Policy forbids compiling
// WebAssembly.
function cspError(e) {
  if (!/unsafe-eval|Content Security Policy|CSP/i.test(String(e && e.message))) return null;
  return fail('invalid_config', `this page's Content-Security-Policy does not allow WebAssembly (${e.message}): add 'wasm-unsafe-eval' to script-src (in an extension: content_security_policy.extension_pages)`);
}

// compileWasm compiles the engine at url: streaming when the server sends
// application/wasm, from bytes otherwise.
export async function compileWasm(url) {
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch (e) {
    const csp = cspError(e);
    if (csp) throw csp;
    let resp;
    try {
      resp = await fetch(url);
    } catch (e2) {
      throw fail('network_error', `could not load the engine ${url} (${e2.message}): serve mcp-oauth.wasm beside mcp-oauth.js, or pass load({wasmUrl})`);
    }
    if (!resp.ok) throw fail('network_error', `could not load the engine ${url} (HTTP ${resp.status}): serve mcp-oauth.wasm beside mcp-oauth.js, or pass load({wasmUrl})`);
    try {
      return await WebAssembly.compile(await resp.arrayBuffer());
    } catch (e3) {
      throw cspError(e3) || fail('invalid_config', `${url} is not the engine's WebAssembly (${e3.message}): serve the mcp-oauth.wasm that came with this mcp-oauth.js`);
    }
  }
}

// runEngine instantiates the compiled engine and runs its main until it
// waits; it returns the engine's API (globalThis.__mcpOAuthGo) and a
// function that reads the size of its memory.
export async function runEngine(module) {
  if (!globalThis.Go) throw fail('invalid_config', 'wasm_exec.js loaded but defined no Go class: it is not the Go runtime that built mcp-oauth.wasm');
  const go = new globalThis.Go();
  const instance = await WebAssembly.instantiate(module, go.importObject);
  go.run(instance);
  const api = globalThis.__mcpOAuthGo;
  if (!api) throw fail('invalid_config', 'mcp-oauth.wasm started but did not register its API');
  return { api, memoryBytes: () => instance.exports.mem.buffer.byteLength };
}
