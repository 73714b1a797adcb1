// webpack 5 emits the wasm as an asset (new URL(..., import.meta.url)) and
// the Go runtime as a chunk (import('./wasm_exec.js')); the two HTML pages
// are copied beside the bundles by the build script.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default {
  mode: 'production',
  context: here,
  entry: { main: './main.js', callback: './callback.js' },
  output: { path: resolve(here, 'dist'), filename: '[name].js', publicPath: 'auto', clean: true },
  performance: { hints: false },
};
