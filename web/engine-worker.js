// engine-worker.js: the engine's dedicated Worker. The page (engine.js)
// starts it with {t: 'start', wasmUrl}; it compiles and runs the wasm here,
// off the page's main thread, answers {t: 'ready', methods, version} (or
// {t: 'failed', error}), and from then on serves the engine's API over
// remote.js. The engine fetches from here (a dedicated worker has the
// page's origin, so CORS is the same); storage, windows, locks and events
// are the page's, reached through the host object each client was given.
// errors.js and contract.js are imported by the modules below; imported
// here too, they are requested with them rather than after them (one wave,
// as mcp-oauth.js does), and the wasm's request leaves sooner.
import './errors.js';
import './contract.js';
import './wasm_exec.js';
import { Peer } from './remote.js';
import { compileWasm, runEngine } from './wasm.js';
import { snapshots, withSnapshot } from './snapshot.js';

addEventListener('message', async function start(e) {
  if (e.data?.t !== 'start') return;
  removeEventListener('message', start);
  try {
    const { api, memoryBytes } = await runEngine(await compileWasm(e.data.wasmUrl));
    const root = { memoryBytes };
    for (const k of Object.keys(api)) if (typeof api[k] === 'function') root[k] = api[k];
    root.newClient = async (options, host, redirect) => {
      const records = snapshots(host);
      return withSnapshot(await api.newClient(options, records.host, redirect), records);
    };
    new Peer(globalThis, root);
    postMessage({ t: 'ready', methods: Object.keys(root), version: api.version });
  } catch (err) {
    postMessage({ t: 'failed', error: { code: err.code || 'invalid_config', message: String(err.message || err) } });
  }
});

