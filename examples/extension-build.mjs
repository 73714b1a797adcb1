// Copies the installed package into extension/lib/: an extension loads only
// its own files.
import { cp, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = dirname(fileURLToPath(import.meta.resolve('mcp-oauth-wasm/package.json')));
const lib = fileURLToPath(new URL('./extension/lib/', import.meta.url));
await rm(lib, { recursive: true, force: true });
await cp(pkg, lib, { recursive: true });
