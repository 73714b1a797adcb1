// worker.js: the entry for workers and extensions' service workers, where
// import() is not allowed: it loads the Go runtime (wasm_exec.js) with a
// static import, then is mcp-oauth.js. In a service worker there is no
// localStorage either: pass storage: chromeStorage() (an extension) or an
// object of your own.
import './wasm_exec.js';

export * from './mcp-oauth.js';
