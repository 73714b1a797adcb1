// Two pages: the app and its callback page (which imports the package's
// callback entry). Vite picks up the wasm (new URL(..., import.meta.url))
// and the Go runtime (import('./wasm_exec.js')) from the package by itself.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default {
  root: here,
  base: './',
  build: {
    outDir: resolve(here, 'dist'),
    rollupOptions: { input: { main: resolve(here, 'index.html'), callback: resolve(here, 'callback.html') } },
  },
};
