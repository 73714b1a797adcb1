// mcp-oauth.js: the browser API of mcp-oauth-wasm (types: mcp-oauth.d.ts).
//
// The OAuth engine is Go compiled to WebAssembly (mcp-oauth.wasm). The
// JavaScript side is a few plain ES modules, one concern each, imported
// relatively (no bundler needed):
//
//   mcp-oauth.js          this entry: load(), checkIfAuthRequired,
//                         handleRedirectCallback, chromeStorage
//   worker.js             the same for workers (static Go runtime import)
//   client.js             the client of one MCP server (createClient)
//   engine.js             starts the wasm on first need, in a Worker
//   engine-worker.js      that Worker; remote.js: calls to and from it;
//                         snapshot.js: a sign-in's records, read there
//   wasm.js               fetches, compiles and runs the wasm
//   user-agents.js        popup, redirect and function modes
//   callback-channel.js   how callback.html hands the response back
//   storage.js, locks.js  storage backends and keys; the refresh lock
//   records.js            the engine's records as the fast path reads them
//   refresh.js            a refresh without the engine, from its stored plan
//   trace.js              the trace events the page emits itself
//   dpop.js               the client's DPoP key (WebCrypto, IndexedDB)
//   urls.js, errors.js    the canonical MCP URL; McpOAuthError
//   contract.js           generated from the engine: every shared value

// Every module is imported from here, even those only client.js uses, so
// that a page without a bundler fetches them all in one wave after this
// file rather than level by level (README, Performance).
import './locks.js';
import './callback-channel.js';
import './user-agents.js';
import './records.js';
import './snapshot.js';
import './refresh.js';
import './trace.js';
import './dpop.js';
import './remote.js';
import './wasm.js';
import { CONTRACT } from './contract.js';
import { McpOAuthError, abortable, abortedError, fail, goCall } from './errors.js';
import { configureEngine, startEngine } from './engine.js';
import { sameOrigin } from './urls.js';
import { chromeStorage, makeStorage } from './storage.js';
import { Client, clients, completeSignIn, engineOptionsOf } from './client.js';

export { McpOAuthError, chromeStorage };
export const VERSION = CONTRACT.version;

const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

async function checkIfAuthRequired(mcpUrl, { headers, signal } = {}) {
  if (typeof mcpUrl !== 'string') throw fail('invalid_config', 'mcpUrl must be a string');
  if (signal?.aborted) throw abortedError('checkIfAuthRequired');
  const work = (async () => goCall((await startEngine()).checkIfAuthRequired(mcpUrl, JSON.stringify(headers || {}), signal)))();
  return abortable(work, signal, null, 'checkIfAuthRequired');
}

// diagnose checks an MCP server the way a sign-in would meet it, from this
// page (CORS included), without signing in or registering: a report of
// every check (diagnose.go).
async function diagnose(mcpUrl, options = {}) {
  if (typeof mcpUrl !== 'string') throw fail('invalid_config', 'mcpUrl must be a string');
  if (!options || typeof options !== 'object') throw fail('invalid_config', 'diagnose options must be an object');
  const { signal, ...rest } = options;
  if (signal?.aborted) throw abortedError('diagnose');
  const engineOptions = engineOptionsOf({ redirectUri: globalThis.location?.href, ...rest, mcpUrl }, []);
  const work = (async () => JSON.parse(await goCall((await startEngine()).diagnose(JSON.stringify(engineOptions), signal))))();
  return abortable(work, signal, null, 'diagnose');
}

// scrubAddressBar removes the authorization response from the address bar,
// so a reload or a shared link does not carry the code or state.
function scrubAddressBar(url) {
  if (!globalThis.location || url !== location.href) return;
  const u = new URL(url);
  let changed = false;
  for (const p of RESPONSE_PARAMS) if (u.searchParams.has(p)) { u.searchParams.delete(p); changed = true; }
  if (u.hash && RESPONSE_PARAMS.some((p) => new URLSearchParams(u.hash.slice(1)).has(p))) { u.hash = ''; changed = true; }
  if (changed) history.replaceState(history.state, '', u.href);
}

async function handleRedirectCallback(url = globalThis.location?.href, options = {}) {
  if (typeof url !== 'string') throw fail('invalid_config', 'handleRedirectCallback needs the callback URL as a string');
  const { signal } = options;
  if (signal?.aborted) throw abortedError('handleRedirectCallback');
  let params;
  try {
    const u = new URL(url);
    params = u.search ? u.searchParams : new URLSearchParams(u.hash.slice(1));
  } catch {
    throw fail('authorization_error', 'the callback URL is not a valid URL');
  }
  if (!params.has('code') && !params.has('error') && !params.has('state')) return null; // an ordinary page load: no wasm needed
  try {
    const api = await startEngine();
    const storage = makeStorage(options.storage, false);
    const prefix = options.storageKeyPrefix || CONTRACT.defaultStorageKeyPrefix;
    const pendingJson = await goCall(api.pendingFor({ storage }, prefix, url, signal));
    if (!pendingJson) return null;
    const pending = JSON.parse(pendingJson);
    const client = clients.get(pending.mcp_url) || new Client({
      mcpUrl: pending.mcp_url, redirectUri: pending.redirect_uri, mode: 'redirect',
      storage: options.storage, storageKeyPrefix: options.storageKeyPrefix,
    });
    const result = await client[completeSignIn](url, { signal });
    const here = globalThis.location?.href || result.mcpUrl;
    result.returnTo = result.returnTo && sameOrigin(result.returnTo, here) ? result.returnTo : new URL('./', here).href;
    return result;
  } finally {
    scrubAddressBar(url);
  }
}

export async function load({ wasmUrl, eager = false, worker } = {}) {
  if (worker !== undefined && typeof worker !== 'boolean') throw fail('invalid_config', 'load option worker must be a boolean');
  configureEngine({ wasmUrl, worker });
  if (eager) await startEngine();
  return Object.freeze({
    version: VERSION,
    checkIfAuthRequired,
    diagnose,
    createClient: (options) => new Client(options),
    handleRedirectCallback,
    chromeStorage,
    McpOAuthError,
  });
}
