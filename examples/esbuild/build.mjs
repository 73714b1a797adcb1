// esbuild bundles the modules and splits the Go runtime into a chunk, but
// leaves new URL('./mcp-oauth.wasm', import.meta.url) and new Worker(new
// URL('./engine-worker.js', import.meta.url)) as they are: the wasm is
// copied beside the bundles (or pass load({ wasmUrl })), and the engine's
// Worker is one more entry point, bundled as dist/engine-worker.js
// (without it, the engine runs on the page).
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
await mkdir(here('dist'), { recursive: true });
await esbuild.build({
  entryPoints: [here('main.js'), here('callback.js'),
    { in: fileURLToPath(import.meta.resolve('mcp-oauth-wasm/engine-worker.js')), out: 'engine-worker' }],
  bundle: true,
  format: 'esm',
  splitting: true,
  platform: 'browser',
  outdir: here('dist'),
  logLevel: 'warning',
});
await copyFile(fileURLToPath(import.meta.resolve('mcp-oauth-wasm/mcp-oauth.wasm')), here('dist/mcp-oauth.wasm'));
for (const page of ['index.html', 'callback.html']) await copyFile(here(page), here(`dist/${page}`));
