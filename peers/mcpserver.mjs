#!/usr/bin/env node
// Real MCP server (official TypeScript SDK, Streamable HTTP) protected by OAuth,
// for mcp-oauth-wasm tests. Listens on 127.0.0.1 only.
//
// Usage: node mcpserver.mjs --issuer=http://127.0.0.1:ASPORT [flags]   (env in brackets)
//
//   --port=N            [MCP_PORT]    listen port; 0 (default) = random free port
//   --issuer=URL        [MCP_ISSUER]  authorization server issuer (required); its
//                                     /.well-known/oauth-authorization-server is fetched
//                                     at startup (retried for ~10 s)
//   --verify=MODE       [MCP_VERIFY]  auto (default) | introspect | jwt
//        introspect: POST the token to the AS introspection endpoint as the
//                    pre-registered resource-server client (opaque tokens)
//        jwt       : verify an RFC 9068 JWT access token against the AS jwks_uri
//        auto      : jwt for tokens shaped like a JWT, introspect otherwise
//        Either way the token must be active/unexpired, issued by --issuer, and
//        its audience must be exactly this server's resource URL (…/mcp).
//   --introspection-client-id=ID      [MCP_INTROSPECTION_CLIENT_ID]     (default mcp-resource-server)
//   --introspection-client-secret=S   [MCP_INTROSPECTION_CLIENT_SECRET] (default mcp-resource-server-secret)
//   --mirror-as-metadata [MCP_MIRROR_AS_METADATA=1]  also serve the AS metadata at
//        this origin's /.well-known/oauth-authorization-server (the SDK's
//        mcpAuthMetadataRouter behaviour). Off by default so a client that wrongly
//        looks for AS metadata on the MCP origin fails instead of passing by luck.
//
// Endpoints:
//   POST/GET/DELETE /mcp    Streamable HTTP (stateful; Mcp-Session-Id), Bearer required
//   GET /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata:
//        { resource: http://127.0.0.1:PORT/mcp, authorization_servers: [issuer],
//          scopes_supported: ["mcp:tools"], ... }
//
// Auth behaviour:
//   no/invalid/expired/wrong-audience token -> 401
//        WWW-Authenticate: Bearer error="invalid_token", error_description="…",
//                          scope="mcp:tools", resource_metadata="<PRM url>"
//   token without mcp:tools -> 403 insufficient_scope (scope="mcp:tools")
//   tools/call admin_stats with a token lacking mcp:admin -> 403
//        WWW-Authenticate: Bearer error="insufficient_scope", scope="mcp:tools mcp:admin",
//                          resource_metadata="<PRM url>"          (step-up path)
//
// Tools: echo {message} (mcp:tools), admin_stats {} (mcp:admin).
//
// CORS: any origin; allows Authorization, Content-Type, Mcp-Session-Id,
// Mcp-Protocol-Version, Last-Event-ID; exposes WWW-Authenticate, Mcp-Session-Id.
//
// Stdout: one line per request (never token values) and exactly one JSON line when
// ready: {"ready":true,"url":"http://127.0.0.1:PORT/mcp"}

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import cors from 'cors';
import express from 'express';
import * as jose from 'jose';
import * as z from 'zod';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { localhostHostValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

// ---------------------------------------------------------------- config ----
const { values: argv } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    verify: { type: 'string' },
    'introspection-client-id': { type: 'string' },
    'introspection-client-secret': { type: 'string' },
    'mirror-as-metadata': { type: 'boolean' },
    dpop: { type: 'boolean' },
  },
  strict: true,
});
const opt = (flag, env, def) => argv[flag] ?? process.env[env] ?? def;

const PORT = Number(opt('port', 'MCP_PORT', '0'));
const ISSUER = opt('issuer', 'MCP_ISSUER', '');
const VERIFY = opt('verify', 'MCP_VERIFY', 'auto');
const RS_CLIENT_ID = opt('introspection-client-id', 'MCP_INTROSPECTION_CLIENT_ID', 'mcp-resource-server');
const RS_CLIENT_SECRET = opt('introspection-client-secret', 'MCP_INTROSPECTION_CLIENT_SECRET', 'mcp-resource-server-secret');
const MIRROR_AS_METADATA = argv['mirror-as-metadata'] ?? ['1', 'true'].includes(process.env.MCP_MIRROR_AS_METADATA ?? '');
// --dpop: accept DPoP-bound tokens (RFC 9449) in front of the SDK's Bearer
// middleware, which knows only Bearer: the PRM lists ES256, a DPoP token
// needs a proof by the key it is bound to (jose checks the proof), and a
// DPoP-bound token sent as Bearer is refused.
const DPOP = argv.dpop ?? ['1', 'true'].includes(process.env.MCP_DPOP ?? '');

function fail(msg) {
  console.error(`mcpserver: ${msg}`);
  process.exit(2);
}
if (!ISSUER || !URL.canParse(ISSUER)) fail('--issuer=<authorization server URL> is required');
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail(`bad --port ${PORT}`);
if (!['auto', 'introspect', 'jwt'].includes(VERIFY)) fail('--verify must be auto, introspect or jwt');

const TOOLS_SCOPE = 'mcp:tools';
const ADMIN_SCOPE = 'mcp:admin';

// ------------------------------------------------------------ bind first ----
const app = express();
const server = http.createServer(app);
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const MCP_URL = new URL(`http://127.0.0.1:${port}/mcp`);
const RESOURCE = MCP_URL.href;
const PRM_URL = getOAuthProtectedResourceMetadataUrl(MCP_URL);

// --------------------------------------------------- AS metadata (retry) ----
async function fetchAsMetadata() {
  const url = new URL('/.well-known/oauth-authorization-server', ISSUER).href;
  let lastErr;
  for (let i = 0; i < 50; i += 1) {
    try {
      const r = await fetch(url);
      if (r.ok) return await r.json();
      lastErr = new Error(`HTTP ${r.status}`);
    } catch (err) {
      lastErr = err;
    }
    await new Promise((res) => { setTimeout(res, 200); });
  }
  throw new Error(`cannot fetch ${url}: ${lastErr?.message}`);
}
const asMetadata = await fetchAsMetadata().catch((err) => fail(err.message));
if (asMetadata.issuer !== ISSUER.replace(/\/$/, '') && asMetadata.issuer !== ISSUER) {
  fail(`AS metadata issuer ${asMetadata.issuer} != --issuer ${ISSUER}`);
}

// --------------------------------------------------------- token verifier ----
const jwks = asMetadata.jwks_uri ? jose.createRemoteJWKSet(new URL(asMetadata.jwks_uri)) : undefined;
const looksLikeJwt = (t) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t);

function audienceMatches(aud) {
  const list = [aud ?? []].flat();
  return list.includes(RESOURCE);
}

async function verifyByIntrospection(token) {
  if (!asMetadata.introspection_endpoint) throw new ServerError('AS has no introspection endpoint');
  let data;
  try {
    const r = await fetch(asMetadata.introspection_endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${encodeURIComponent(RS_CLIENT_ID)}:${encodeURIComponent(RS_CLIENT_SECRET)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    if (!r.ok) throw new Error(`introspection HTTP ${r.status}`);
    data = await r.json();
  } catch (err) {
    throw new ServerError(`introspection failed: ${err.message}`);
  }
  if (!data.active) throw new InvalidTokenError('Token is not active');
  const bound = data.cnf?.jkt;
  const proven = dpopProven.getStore(); // this request's proof, if any (dpopFront)
  if (bound ? !(proven && proven.token === token && proven.jkt === bound) : data.token_type !== 'Bearer') {
    throw new InvalidTokenError(bound ? 'DPoP-bound token without a proof by its key' : 'Not a Bearer access token');
  }
  if (data.iss && data.iss !== asMetadata.issuer) throw new InvalidTokenError('Token issuer mismatch');
  if (!audienceMatches(data.aud)) throw new InvalidTokenError('Token audience is not this resource');
  return {
    token,
    clientId: data.client_id,
    scopes: data.scope ? data.scope.split(' ') : [],
    expiresAt: data.exp,
    resource: new URL(RESOURCE),
    extra: { sub: data.sub, via: 'introspection' },
  };
}

async function verifyJwt(token) {
  if (!jwks) throw new ServerError('AS has no jwks_uri');
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(token, jwks, {
      issuer: asMetadata.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    }));
  } catch (err) {
    throw new InvalidTokenError(`JWT rejected: ${err.code ?? err.message}`);
  }
  return {
    token,
    clientId: payload.client_id,
    scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
    expiresAt: payload.exp,
    resource: new URL(RESOURCE),
    extra: { sub: payload.sub, via: 'jwt' },
  };
}

const verifier = {
  verifyAccessToken: async (token) => {
    if (VERIFY === 'jwt' || (VERIFY === 'auto' && looksLikeJwt(token))) return verifyJwt(token);
    return verifyByIntrospection(token);
  },
};

// dpopProven holds, for the request being handled and nothing else, the
// token and the thumbprint of the key whose proof came with it (the
// verifier checks cnf.jkt against it). A map keyed by token was shared by
// all requests: while the owner's DPoP request was open (a standing SSE
// GET), the same token sent as Bearer by anyone passed.
const dpopProven = new AsyncLocalStorage();
const seenJti = new Set();

async function dpopFront(req, res, next) {
  const auth = req.headers.authorization || '';
  if (!DPOP || !/^DPoP /i.test(auth)) return next();
  const token = auth.slice(5).trim();
  const refuse = (why) => {
    res.set('WWW-Authenticate', `DPoP error="invalid_token", error_description="${why}", algs="ES256"`);
    res.status(401).json({ error: 'invalid_token', error_description: why });
  };
  let jkt;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(String(req.headers.dpop || ''), jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], maxTokenAge: '60s', clockTolerance: 5 });
    const htu = new URL(req.originalUrl, MCP_URL);
    htu.search = '';
    const ath = jose.base64url.encode(createHash('sha256').update(token).digest());
    if (payload.htm !== req.method) return refuse('htm');
    if (payload.htu !== htu.href) return refuse('htu');
    if (payload.ath !== ath) return refuse('ath');
    if (!payload.jti || seenJti.has(payload.jti)) return refuse('jti');
    seenJti.add(payload.jti);
    jkt = await jose.calculateJwkThumbprint(protectedHeader.jwk);
  } catch (err) {
    return refuse(`proof rejected: ${err.code ?? err.message}`);
  }
  req.headers.authorization = `Bearer ${token}`; // for the SDK's middleware, after the checks above
  return dpopProven.run({ token, jkt }, next);
}

const bearerAuth = requireBearerAuth({
  verifier,
  requiredScopes: [TOOLS_SCOPE],
  resourceMetadataUrl: PRM_URL,
  expectedResource: MCP_URL,
});

// Step-up: tools/call admin_stats needs mcp:admin. A tool-level error would be a
// 200 JSON-RPC result, so refuse at the HTTP layer with a 403 the client can act on.
function requireAdminForAdminTool(req, res, next) {
  const msgs = [req.body].flat();
  const wantsAdmin = msgs.some((m) => m && m.method === 'tools/call' && m.params?.name === 'admin_stats');
  if (wantsAdmin && !req.auth?.scopes.includes(ADMIN_SCOPE)) {
    res.set('WWW-Authenticate',
      `Bearer error="insufficient_scope", scope="${TOOLS_SCOPE} ${ADMIN_SCOPE}", resource_metadata="${PRM_URL}", error_description="admin_stats requires ${ADMIN_SCOPE}"`);
    res.status(403).json({ error: 'insufficient_scope', error_description: `admin_stats requires ${ADMIN_SCOPE}` });
    return;
  }
  next();
}

// ------------------------------------------------------------ MCP server ----
const stats = { started: new Date().toISOString(), requests: 0, toolCalls: 0 };
const sessions = new Map(); // sessionId -> transport

function buildServer() {
  const mcp = new McpServer({ name: 'mcp-oauth-wasm-test-server', version: '0.0.0' });

  mcp.registerTool('echo', {
    title: 'Echo',
    description: `Echoes the message back. Requires scope ${TOOLS_SCOPE}.`,
    inputSchema: { message: z.string() },
  }, async ({ message }, extra) => {
    stats.toolCalls += 1;
    void extra;
    return { content: [{ type: 'text', text: message }] };
  });

  mcp.registerTool('admin_stats', {
    title: 'Admin stats',
    description: `Server statistics. Requires scope ${ADMIN_SCOPE} (HTTP 403 insufficient_scope otherwise).`,
  }, async (extra) => {
    stats.toolCalls += 1;
    if (!extra.authInfo?.scopes.includes(ADMIN_SCOPE)) {
      // Unreachable through HTTP (403 above); kept as defence in depth.
      return { isError: true, content: [{ type: 'text', text: `requires ${ADMIN_SCOPE}` }] };
    }
    return {
      content: [{
        type: 'text',
        text: JSON.stringify({ ...stats, sessions: sessions.size, scopes: extra.authInfo.scopes }),
      }],
    };
  });

  return mcp;
}

// ------------------------------------------------------------- HTTP app ----
// request log (no token values)
app.use((req, res, next) => {
  const started = Date.now();
  stats.requests += 1;
  res.on('finish', () => {
    const parts = [`[mcp] ${req.method} ${req.originalUrl.split('?')[0]}`];
    const msgs = [req.body].flat().filter((m) => m && typeof m === 'object' && m.method);
    if (msgs.length) {
      parts.push(`rpc=${msgs.map((m) => (m.method === 'tools/call' ? `tools/call(${m.params?.name})` : m.method)).join(',')}`);
    }
    if (req.headers['mcp-session-id']) parts.push(`session=${String(req.headers['mcp-session-id']).slice(0, 8)}`);
    parts.push(`auth=${req.headers.authorization ? 'bearer' : 'none'}`);
    if (req.auth) parts.push(`client_id=${req.auth.clientId} scope="${req.auth.scopes.join(' ')}"`);
    if (req.headers.origin) parts.push(`origin=${req.headers.origin}`);
    parts.push(`-> ${res.statusCode}`);
    const wwwAuth = res.getHeader('WWW-Authenticate');
    if (wwwAuth) {
      const m = /error="([^"]+)"(?:, error_description="([^"]*)")?/.exec(String(wwwAuth));
      if (m) parts.push(`error=${m[1]}${m[2] ? ` (${m[2]})` : ''}`);
    }
    parts.push(`${Date.now() - started}ms`);
    console.log(parts.join(' '));
  });
  next();
});

app.use(cors({
  origin: '*',
  methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID', 'Accept', 'DPoP'],
  exposedHeaders: ['WWW-Authenticate', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'DPoP-Nonce'],
  maxAge: 600,
}));
app.use(localhostHostValidation()); // DNS-rebinding protection (Host must be loopback)
app.use(express.json({ limit: '4mb' }));

const prm = {
  resource: RESOURCE,
  authorization_servers: [asMetadata.issuer],
  scopes_supported: [TOOLS_SCOPE],
  resource_name: 'mcp-oauth-wasm test MCP server',
  bearer_methods_supported: ['header'],
  ...(DPOP && { dpop_signing_alg_values_supported: ['ES256'] }),
};
if (MIRROR_AS_METADATA) {
  app.use(mcpAuthMetadataRouter({
    oauthMetadata: asMetadata,
    resourceServerUrl: MCP_URL,
    scopesSupported: [TOOLS_SCOPE],
    resourceName: prm.resource_name,
  }));
} else {
  app.use(new URL(PRM_URL).pathname, metadataHandler(prm));
}

app.post('/mcp', dpopFront, bearerAuth, requireAdminForAdminTool, async (req, res) => {
  const sessionId = req.headers['mcp-session-id'];
  try {
    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (!transport) {
        res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      await transport.handleRequest(req, res, req.body);
      return;
    }
    if (!isInitializeRequest(req.body)) {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => { sessions.set(sid, transport); },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await buildServer().connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (err) {
    console.error('mcpserver: error handling request:', err);
    if (!res.headersSent) {
      res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  }
});

async function sessionRequest(req, res) {
  const sessionId = req.headers['mcp-session-id'];
  const transport = sessionId && sessions.get(sessionId);
  if (!transport) {
    res.status(sessionId ? 404 : 400).json({
      jsonrpc: '2.0',
      error: { code: sessionId ? -32001 : -32000, message: sessionId ? 'Session not found' : 'Missing Mcp-Session-Id' },
      id: null,
    });
    return;
  }
  await transport.handleRequest(req, res);
}
app.get('/mcp', dpopFront, bearerAuth, sessionRequest);
app.delete('/mcp', dpopFront, bearerAuth, sessionRequest);

// ------------------------------------------------------------ lifecycle ----
const shutdown = async () => {
  for (const t of sessions.values()) await t.close().catch(() => {});
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

console.log(JSON.stringify({ ready: true, url: RESOURCE }));
