import { load } from 'mcp-oauth-wasm';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { runApp } from '../shared/app.js';

runApp({ load, Client, StreamableHTTPClientTransport, callbackUrl: new URL('callback.html', location.href).href });
