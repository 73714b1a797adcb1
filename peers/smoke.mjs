#!/usr/bin/env node
// End-to-end smoke test of the peers using only Node's fetch (no browser).
// Starts authserver.mjs + mcpserver.mjs as child processes and walks the whole
// MCP OAuth flow. Prints PASS/FAIL per step; exits 1 if any step failed.
//
//   node smoke.mjs            (add --verbose to echo the servers' logs)
//
// Phases:
//   A. opaque tokens + introspection, auto interactions: discovery, DCR, PKCE,
//      code exchange, MCP calls, 403 step-up and re-authorization, refresh with
//      rotation, refresh-token reuse detection, unknown client -> invalid_client
//   B. JWT access tokens (MCP server verifies via JWKS), 2 s access-token TTL:
//      expiry -> 401 -> refresh -> works again
//   C. forms interactions: the devInteractions login + consent HTML forms,
//      submitted the way a browser would
//   D. --deny-scopes=mcp:admin: step-up request is granted only mcp:tools

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VERBOSE = process.argv.includes('--verbose');
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const ORIGIN = 'http://127.0.0.1:5173'; // pretend browser origin for CORS checks

// ------------------------------------------------------------ reporting ----
let failures = 0;
let passes = 0;
function pass(name, detail = '') {
  passes += 1;
  console.log(`PASS ${name}${detail ? ` — ${detail}` : ''}`);
}
function failStep(name, detail) {
  failures += 1;
  console.log(`FAIL ${name} — ${detail}`);
}
// run a step; a thrown error = FAIL. Returns the step's value (undefined on failure).
async function step(name, fn) {
  try {
    const detail = await fn();
    pass(name, typeof detail === 'string' ? detail : '');
    return detail;
  } catch (err) {
    failStep(name, err?.message ?? String(err));
    return undefined;
  }
}
// like step() but a failure aborts the phase (later steps depend on it)
class Abort extends Error {}
async function must(name, fn) {
  try {
    const v = await fn();
    pass(name, typeof v === 'string' ? v : '');
    return v;
  } catch (err) {
    failStep(name, err?.message ?? String(err));
    throw new Abort(name);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ------------------------------------------------------------ processes ----
const children = [];
async function startPeer(script, args, label) {
  const child = spawn(process.execPath, [path.join(HERE, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const errLines = [];
  readline.createInterface({ input: child.stderr }).on('line', (l) => {
    errLines.push(l);
    if (VERBOSE) console.log(`  ${label}! ${l}`);
  });
  const rl = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} not ready in 20s; stderr: ${errLines.join(' | ')}`)), 20000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited ${code}; stderr: ${errLines.join(' | ')}`));
    });
    rl.on('line', (line) => {
      if (VERBOSE) console.log(`  ${label}> ${line}`);
      if (line.startsWith('{')) {
        try {
          const msg = JSON.parse(line);
          if (msg.ready === true) {
            clearTimeout(timer);
            resolve({ child, ...msg });
          }
        } catch { /* not the ready line */ }
      }
    });
  });
}
async function stopAll() {
  await Promise.all(children.map(async (c) => {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      await once(c, 'exit').catch(() => {});
      clearTimeout(t);
    }
  }));
  children.length = 0;
}

// -------------------------------------------------------------- helpers ----
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

class CookieJar {
  #c = new Map();
  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)
        || (/^\s*expires=/i.test(a) && Date.parse(a.split('=').slice(1).join('=')) < Date.now()));
      if (expired || value === '') this.#c.delete(name); else this.#c.set(name, value);
    }
  }
  header() {
    return [...this.#c].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function parseWwwAuthenticate(h) {
  const out = {};
  if (!h) return out;
  const m = /^\s*Bearer\s*(.*)$/i.exec(h);
  if (!m) return out;
  out.scheme = 'Bearer';
  for (const p of m[1].matchAll(/([\w-]+)="([^"]*)"/g)) out[p[1]] = p[2];
  return out;
}

async function postForm(url, params, { basic, origin } = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic[0])}:${encodeURIComponent(basic[1])}`).toString('base64')}`;
  if (origin) headers.Origin = origin;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { res, status: res.status, json, text };
}

async function register(asMeta, extra = {}) {
  const res = await fetch(asMeta.registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: ORIGIN },
    body: JSON.stringify({
      client_name: 'mcp-oauth-wasm smoke',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...extra,
    }),
  });
  const body = await res.json();
  assert(res.status === 201, `registration HTTP ${res.status}: ${JSON.stringify(body)}`);
  return { client: body, res };
}

// Runs /auth → (interactions) → redirect_uri. mode 'auto' just follows
// redirects; mode 'forms' fills in the devInteractions login/consent forms.
async function authorize(asMeta, clientId, { scope, resource, jar, mode = 'auto' }) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const u = new URL(asMeta.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(resource ? { resource } : {}),
  }).toString();

  let url = u.href;
  let method = 'GET';
  let body;
  const trail = [];
  for (let hop = 0; hop < 20; hop += 1) {
    const headers = { Cookie: jar.header() };
    if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    jar.store(res);
    trail.push(`${method} ${new URL(url).pathname} ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get('location'), url);
      await res.arrayBuffer();
      if (loc.href.startsWith(REDIRECT_URI)) {
        const p = loc.searchParams;
        if (p.get('error')) throw new Error(`authorization error ${p.get('error')}: ${p.get('error_description')}`);
        assert(p.get('state') === state, 'state mismatch');
        return { code: p.get('code'), iss: p.get('iss'), verifier, trail };
      }
      url = loc.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200 || mode !== 'forms') {
      throw new Error(`unexpected ${res.status} at ${url} (trail: ${trail.join(' → ')}): ${html.slice(0, 300)}`);
    }
    // find the <form> holding the hidden prompt input
    const forms = [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => /name="prompt"\s+value="(login|consent)"/.test(f[2]));
    if (!form) throw new Error(`no login/consent form at ${url}: ${html.slice(0, 300)}`);
    const prompt = /name="prompt"\s+value="(login|consent)"/.exec(form[2])[1];
    assert(prompt !== 'login' || (/name="login"/.test(form[2]) && /name="password"/.test(form[2])), 'login form lacks login/password inputs');
    trail.push(`form:${prompt}`);
    url = new URL(form[1].replace(/&amp;/g, '&'), url).href;
    method = 'POST';
    body = new URLSearchParams(prompt === 'login'
      ? { prompt, login: 'forms-user', password: 'whatever' }
      : { prompt }).toString();
  }
  throw new Error(`too many hops: ${trail.join(' → ')}`);
}

async function exchangeCode(asMeta, clientId, { code, verifier }, resource) {
  return postForm(asMeta.token_endpoint, {
    grant_type: 'authorization_code',
    client_id: clientId,
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT_URI,
    ...(resource ? { resource } : {}),
  }, { origin: ORIGIN });
}

async function refresh(asMeta, clientId, refreshToken, resource) {
  return postForm(asMeta.token_endpoint, {
    grant_type: 'refresh_token',
    client_id: clientId,
    refresh_token: refreshToken,
    ...(resource ? { resource } : {}),
  }, { origin: ORIGIN });
}

// Minimal Streamable HTTP JSON-RPC client.
class McpClient {
  constructor(url) { this.url = url; this.sessionId = undefined; this.nextId = 1; this.token = undefined; }

  async raw(message) {
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2025-06-18',
      Origin: ORIGIN,
    };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.sessionId) headers['Mcp-Session-Id'] = this.sessionId;
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(message) });
    const sid = res.headers.get('mcp-session-id');
    if (sid) this.sessionId = sid;
    const text = await res.text();
    let payload;
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const datas = text.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean);
      payload = datas.map((d) => JSON.parse(d)).find((m) => m.id === message.id) ?? datas.map((d) => JSON.parse(d))[0];
    } else if (text) {
      try { payload = JSON.parse(text); } catch { payload = text; }
    }
    return { res, status: res.status, payload, www: parseWwwAuthenticate(res.headers.get('www-authenticate')) };
  }

  async request(method, params) {
    const id = this.nextId++;
    const r = await this.raw({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    if (r.status !== 200) throw Object.assign(new Error(`${method}: HTTP ${r.status} ${JSON.stringify(r.payload)}`), { r });
    if (r.payload?.error) throw new Error(`${method}: JSON-RPC error ${JSON.stringify(r.payload.error)}`);
    return r.payload.result;
  }

  async initialize() {
    const result = await this.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'smoke', version: '0' },
    });
    const n = await this.raw({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert(n.status === 202, `notifications/initialized HTTP ${n.status}`);
    return result;
  }

  async echo(message) {
    const r = await this.request('tools/call', { name: 'echo', arguments: { message } });
    const text = r.content?.[0]?.text;
    assert(text === message, `echo returned ${JSON.stringify(r)}`);
    return text;
  }
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  assert(res.ok, `GET ${url} → ${res.status}`);
  return { res, json: await res.json() };
}

async function introspect(asMeta, token) {
  const r = await postForm(asMeta.introspection_endpoint, { token }, { basic: ['mcp-resource-server', 'mcp-resource-server-secret'] });
  assert(r.status === 200, `introspection HTTP ${r.status}`);
  return r.json;
}

// ============================================================== phase A ====
async function phaseA() {
  console.log('\n== Phase A: opaque tokens + introspection, auto interactions ==');
  const as = await must('A start authserver (auto, opaque)', async () => startPeer('authserver.mjs', ['--port=0', '--interactions=auto'], 'as'));
  const mcp = await must('A start mcpserver', async () => startPeer('mcpserver.mjs', ['--port=0', `--issuer=${as.issuer}`], 'mcp'));
  const issuer = as.issuer;
  const mcpUrl = mcp.url;
  const prmUrl = `${new URL(mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`;

  await must('A POST /mcp without token → 401 + resource_metadata', async () => {
    const r = await new McpClient(mcpUrl).raw({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    assert(r.status === 401, `status ${r.status}`);
    assert(r.www.scheme === 'Bearer', `WWW-Authenticate: ${r.res.headers.get('www-authenticate')}`);
    assert(r.www.resource_metadata === prmUrl, `resource_metadata=${r.www.resource_metadata}`);
    assert(r.res.headers.get('access-control-allow-origin') === '*', 'no CORS on 401');
    assert(/www-authenticate/i.test(r.res.headers.get('access-control-expose-headers') ?? ''), 'WWW-Authenticate not exposed');
    return r.res.headers.get('www-authenticate');
  });

  await step('A MCP CORS preflight', async () => {
    const res = await fetch(mcpUrl, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,mcp-session-id,mcp-protocol-version,last-event-id' },
    });
    assert(res.status === 204, `status ${res.status}`);
    const ah = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) assert(ah.includes(h), `missing ${h} in ${ah}`);
  });

  const prm = await must('A GET protected resource metadata', async () => {
    const { json, res } = await getJson(prmUrl, { Origin: ORIGIN });
    assert(json.resource === mcpUrl, `resource ${json.resource}`);
    assert(json.authorization_servers?.[0] === issuer, `authorization_servers ${json.authorization_servers}`);
    assert(json.scopes_supported?.includes('mcp:tools'), 'scopes_supported');
    assert(res.headers.get('access-control-allow-origin'), 'no CORS on PRM');
    return json;
  });

  await step('A MCP origin does not mirror AS metadata (default)', async () => {
    const res = await fetch(`${new URL(mcpUrl).origin}/.well-known/oauth-authorization-server`);
    assert(res.status === 404, `status ${res.status}`);
  });

  const asMeta = await must('A GET AS metadata (RFC 8414)', async () => {
    const { json, res } = await getJson(`${prm.authorization_servers[0]}/.well-known/oauth-authorization-server`, { Origin: ORIGIN });
    assert(json.issuer === issuer, 'issuer');
    assert(json.registration_endpoint, 'no registration_endpoint');
    assert(json.code_challenge_methods_supported?.includes('S256'), 'no S256');
    assert(json.authorization_response_iss_parameter_supported === true, 'no RFC 9207 flag');
    assert(json.token_endpoint_auth_methods_supported?.includes('none'), 'no auth method none');
    assert(res.headers.get('access-control-allow-origin'), 'no CORS on AS metadata');
    return json;
  });

  await step('A DCR preflight (CORS)', async () => {
    const res = await fetch(asMeta.registration_endpoint, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert(res.status === 204, `status ${res.status}`);
    assert(res.headers.get('access-control-allow-origin') === ORIGIN, 'ACAO');
    assert(/content-type/i.test(res.headers.get('access-control-allow-headers') ?? ''), 'allow-headers');
  });

  const { client } = await must('A DCR register public web client', async () => {
    const r = await register(asMeta);
    assert(r.res.headers.get('access-control-allow-origin') === ORIGIN, 'no ACAO on registration response');
    assert(r.client.client_id && !r.client.client_secret, 'expected a public client');
    assert(r.client.token_endpoint_auth_method === 'none', 'auth method');
    assert(r.client.grant_types.includes('refresh_token'), 'grant_types');
    return r;
  });
  const clientId = client.client_id;

  await step('A DCR accepts an http://localhost redirect for a web client', async () => {
    const r = await fetch(asMeta.registration_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ application_type: 'web', token_endpoint_auth_method: 'none', redirect_uris: ['http://localhost:8080/cb'] }),
    });
    assert(r.status === 201, `http://localhost redirect for web client: ${r.status}`);
  });

  const jar = new CookieJar();
  const auth1 = await must('A authorize (PKCE S256, resource, scope mcp:tools) → code', async () => {
    const r = await authorize(asMeta, clientId, { scope: 'mcp:tools', resource: mcpUrl, jar });
    assert(r.code, 'no code');
    return r;
  });
  await step('A authorization response iss (RFC 9207)', async () => {
    assert(auth1.iss === issuer, `iss=${auth1.iss}`);
    return auth1.trail.join(' → ');
  });

  const tok1 = await must('A token exchange with resource', async () => {
    const r = await exchangeCode(asMeta, clientId, auth1, mcpUrl);
    assert(r.status === 200, `HTTP ${r.status} ${r.text}`);
    assert(r.res.headers.get('access-control-allow-origin') === ORIGIN, 'no ACAO on token response');
    const j = r.json;
    assert(j.access_token && j.token_type === 'Bearer', 'no bearer access token');
    assert(j.refresh_token, `no refresh_token (scope=${j.scope})`);
    assert(j.scope === 'mcp:tools', `scope ${j.scope}`);
    assert(j.expires_in === 3600, `expires_in ${j.expires_in}`);
    return j;
  });
  const detail = `scope="${tok1.scope}" expires_in=${tok1.expires_in} refresh_token=yes id_token=${tok1.id_token ? 'yes' : 'no'}`;
  console.log(`     ${detail}`);

  await step('A introspection: aud = MCP resource URL', async () => {
    const j = await introspect(asMeta, tok1.access_token);
    assert(j.active === true, 'inactive');
    assert([j.aud].flat().includes(mcpUrl), `aud ${j.aud}`);
    return `aud=${j.aud} scope=${j.scope} client_id=${j.client_id}`;
  });

  const mc = new McpClient(mcpUrl);
  mc.token = tok1.access_token;
  await must('A MCP initialize', async () => {
    const r = await mc.initialize();
    assert(mc.sessionId, 'no Mcp-Session-Id');
    return `server=${r.serverInfo?.name} protocol=${r.protocolVersion}`;
  });
  await step('A MCP tools/list', async () => {
    const r = await mc.request('tools/list');
    const names = r.tools.map((t) => t.name).sort();
    assert(names.join(',') === 'admin_stats,echo', `tools ${names}`);
    return names.join(',');
  });
  await step('A MCP tools/call echo', async () => mc.echo('hello from smoke'));

  await step('A tools/call admin_stats without mcp:admin → 403 insufficient_scope', async () => {
    const r = await mc.raw({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'admin_stats', arguments: {} } });
    assert(r.status === 403, `status ${r.status}`);
    assert(r.www.error === 'insufficient_scope', `error ${r.www.error}`);
    assert(r.www.scope === 'mcp:tools mcp:admin', `scope ${r.www.scope}`);
    assert(r.www.resource_metadata === prmUrl, 'resource_metadata');
    return r.res.headers.get('www-authenticate');
  });

  await step('A wrong-audience token → 401', async () => {
    const other = 'http://127.0.0.1:1/other-mcp';
    const a = await authorize(asMeta, clientId, { scope: 'mcp:tools', resource: other, jar });
    const t = await exchangeCode(asMeta, clientId, a, other);
    assert(t.status === 200, `token HTTP ${t.status} ${t.text}`);
    const c = new McpClient(mcpUrl);
    c.token = t.json.access_token;
    const r = await c.raw({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    assert(r.status === 401 && r.www.error === 'invalid_token', `status ${r.status} ${JSON.stringify(r.www)}`);
    return r.www.error_description;
  });

  await step('A non-loopback resource → invalid_target', async () => {
    await authorize(asMeta, clientId, { scope: 'mcp:tools', resource: 'https://example.com/mcp', jar })
      .then(() => { throw new Error('authorization succeeded'); }, (err) => {
        assert(/invalid_target/.test(err.message), err.message);
      });
  });

  // step-up: re-authorize asking for mcp:tools mcp:admin (AS session cookie reused → consent only)
  const tokAdmin = await step('A step-up: re-authorize with "mcp:tools mcp:admin" → admin_stats works', async () => {
    const a = await authorize(asMeta, clientId, { scope: 'mcp:tools mcp:admin', resource: mcpUrl, jar });
    const t = await exchangeCode(asMeta, clientId, a, mcpUrl);
    assert(t.status === 200, `token HTTP ${t.status} ${t.text}`);
    assert(t.json.scope === 'mcp:tools mcp:admin', `scope ${t.json.scope}`);
    mc.token = t.json.access_token; // same MCP session, upgraded token
    const r = await mc.request('tools/call', { name: 'admin_stats', arguments: {} });
    assert(!r.isError, JSON.stringify(r));
    return `trail: ${a.trail.join(' → ')}`;
  });
  void tokAdmin;

  // refresh (the first grant's refresh token; scope mcp:tools)
  const tok2 = await must('A refresh with resource → new tokens, rotated refresh token', async () => {
    const r = await refresh(asMeta, clientId, tok1.refresh_token, mcpUrl);
    assert(r.status === 200, `HTTP ${r.status} ${r.text}`);
    assert(r.json.access_token && r.json.access_token !== tok1.access_token, 'no new access token');
    assert(r.json.refresh_token && r.json.refresh_token !== tok1.refresh_token, 'refresh token not rotated');
    return r.json;
  });
  await step('A refreshed token: aud + MCP echo', async () => {
    const j = await introspect(asMeta, tok2.access_token);
    assert([j.aud].flat().includes(mcpUrl), `aud ${j.aud}`);
    mc.token = tok2.access_token;
    await mc.echo('after refresh');
    return `scope=${tok2.scope}`;
  });

  await step('A refresh WITHOUT resource still yields an audience-restricted token (useGrantedResource)', async () => {
    const r = await refresh(asMeta, clientId, tok2.refresh_token);
    assert(r.status === 200, `HTTP ${r.status} ${r.text}`);
    const j = await introspect(asMeta, r.json.access_token);
    assert([j.aud].flat().includes(mcpUrl), `aud ${j.aud}`);
    tok2.refresh_token = r.json.refresh_token;
    tok2.access_token = r.json.access_token;
  });

  await step('A old (rotated) refresh token → invalid_grant', async () => {
    const r = await refresh(asMeta, clientId, tok1.refresh_token, mcpUrl);
    assert(r.status === 400 && r.json?.error === 'invalid_grant', `HTTP ${r.status} ${r.text}`);
    return r.json.error_description;
  });

  await step('A (reuse detection) replaying the old refresh token revoked the whole grant', async () => {
    const r = await refresh(asMeta, clientId, tok2.refresh_token, mcpUrl);
    assert(r.status === 400 && r.json?.error === 'invalid_grant', `latest RT: HTTP ${r.status} ${r.text}`);
    mc.token = tok2.access_token;
    const m = await mc.raw({ jsonrpc: '2.0', id: 5, method: 'tools/list' });
    assert(m.status === 401, `latest AT on MCP: ${m.status}`);
    return `latest RT: ${r.json.error_description}; latest AT: 401`;
  });

  await step('A code replay → invalid_grant, and tokens from that code are revoked', async () => {
    const a = await authorize(asMeta, clientId, { scope: 'mcp:tools', resource: mcpUrl, jar });
    const t = await exchangeCode(asMeta, clientId, a, mcpUrl);
    assert(t.status === 200, `first exchange HTTP ${t.status} ${t.text}`);
    const r = await exchangeCode(asMeta, clientId, a, mcpUrl);
    assert(r.status === 400 && r.json?.error === 'invalid_grant', `replay HTTP ${r.status} ${r.text}`);
    const j = await introspect(asMeta, t.json.access_token);
    assert(j.active === false, 'access token from the replayed code is still active');
    return r.json.error_description;
  });

  await step('A token request with unknown client_id → invalid_client', async () => {
    const r1 = await refresh(asMeta, 'no-such-client', tok2.refresh_token, mcpUrl);
    assert(r1.json?.error === 'invalid_client', `refresh_token grant: HTTP ${r1.status} ${r1.text}`);
    const r2 = await exchangeCode(asMeta, 'no-such-client', { code: 'x', verifier: 'y'.repeat(43) }, mcpUrl);
    assert(r2.json?.error === 'invalid_client', `authorization_code grant: HTTP ${r2.status} ${r2.text}`);
    assert(r1.res.headers.get('access-control-allow-origin') === ORIGIN, 'no ACAO on invalid_client response');
    return `HTTP ${r1.status} ${JSON.stringify(r1.json)}`;
  });

  await step('A /auth with unknown client_id → error page, no redirect', async () => {
    const u = new URL(asMeta.authorization_endpoint);
    u.search = new URLSearchParams({ response_type: 'code', client_id: 'no-such-client', redirect_uri: REDIRECT_URI, scope: 'mcp:tools', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const res = await fetch(u, { redirect: 'manual' });
    const html = await res.text();
    assert(res.status === 400 && /invalid_client/.test(html), `HTTP ${res.status}`);
    return `HTTP ${res.status}, HTML mentions invalid_client`;
  });

  await step('A authorization without PKCE → error redirect', async () => {
    const u = new URL(asMeta.authorization_endpoint);
    u.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'mcp:tools', state: 's', resource: mcpUrl });
    const res = await fetch(u, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location') ?? 'x:', u);
    assert(res.status === 303 || res.status === 302, `status ${res.status}`);
    assert(loc.searchParams.get('error') === 'invalid_request', `location ${loc}`);
    return loc.searchParams.get('error_description');
  });

  await stopAll();
}

// ============================================================== phase B ====
async function phaseB() {
  console.log('\n== Phase B: JWT access tokens (JWKS), 2 s TTL, expiry → refresh ==');
  const as = await must('B start authserver (jwt, ttl 2s)', async () => startPeer('authserver.mjs', ['--token-format=jwt', '--access-token-ttl=2'], 'as'));
  const mcp = await must('B start mcpserver', async () => startPeer('mcpserver.mjs', [`--issuer=${as.issuer}`], 'mcp'));
  const { json: asMeta } = await getJson(`${as.issuer}/.well-known/oauth-authorization-server`);
  const { client } = await must('B register', async () => register(asMeta));
  const jar = new CookieJar();
  const a = await must('B authorize', async () => authorize(asMeta, client.client_id, { scope: 'mcp:tools', resource: mcp.url, jar }));
  const t = await must('B token is a JWT with aud = resource', async () => {
    const r = await exchangeCode(asMeta, client.client_id, a, mcp.url);
    assert(r.status === 200, `HTTP ${r.status} ${r.text}`);
    const parts = r.json.access_token.split('.');
    assert(parts.length === 3, 'not a JWT');
    const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url'));
    assert(header.typ === 'at+jwt', `typ ${header.typ}`);
    assert(payload.aud === mcp.url, `aud ${payload.aud}`);
    assert(r.json.expires_in === 2, `expires_in ${r.json.expires_in}`);
    return r.json;
  });
  const mc = new McpClient(mcp.url);
  mc.token = t.access_token;
  await must('B MCP initialize + echo (JWKS verification)', async () => { await mc.initialize(); await mc.echo('jwt'); });
  await sleep(3100);
  await step('B expired access token → 401 invalid_token', async () => {
    const r = await mc.raw({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
    assert(r.status === 401 && r.www.error === 'invalid_token', `status ${r.status} ${JSON.stringify(r.www)}`);
    return r.www.error_description;
  });
  await step('B refresh → echo works again on the same MCP session', async () => {
    const r = await refresh(asMeta, client.client_id, t.refresh_token, mcp.url);
    assert(r.status === 200, `HTTP ${r.status} ${r.text}`);
    mc.token = r.json.access_token;
    await mc.echo('refreshed');
  });
  await stopAll();
}

// ============================================================== phase C ====
async function phaseC() {
  console.log('\n== Phase C: forms interactions (devInteractions HTML) ==');
  const as = await must('C start authserver (forms)', async () => startPeer('authserver.mjs', ['--interactions=forms'], 'as'));
  const { json: asMeta } = await getJson(`${as.issuer}/.well-known/oauth-authorization-server`);
  const { client } = await must('C register', async () => register(asMeta));
  const resource = 'http://127.0.0.1:1/mcp';
  const jar = new CookieJar();
  const a = await must('C authorize via login + consent forms', async () => {
    const r = await authorize(asMeta, client.client_id, { scope: 'mcp:tools', resource, jar, mode: 'forms' });
    assert(r.trail.includes('form:login') && r.trail.includes('form:consent'), r.trail.join(' → '));
    return r;
  });
  console.log(`     trail: ${a.trail.join(' → ')}`);
  await step('C token exchange; token bound to the typed-in login', async () => {
    const r = await exchangeCode(asMeta, client.client_id, a, resource);
    assert(r.status === 200 && r.json.refresh_token, `HTTP ${r.status} ${r.text}`);
    const j = await introspect(asMeta, r.json.access_token);
    assert(j.sub === 'forms-user', `sub ${j.sub}`);
    assert(j.aud === resource, `aud ${j.aud}`);
  });
  await stopAll();
}

// ============================================================== phase D ====
async function phaseD() {
  console.log('\n== Phase D: --deny-scopes=mcp:admin (refused step-up) ==');
  const as = await must('D start authserver (deny mcp:admin)', async () => startPeer('authserver.mjs', ['--deny-scopes=mcp:admin'], 'as'));
  const mcp = await must('D start mcpserver', async () => startPeer('mcpserver.mjs', [`--issuer=${as.issuer}`], 'mcp'));
  const { json: asMeta } = await getJson(`${as.issuer}/.well-known/oauth-authorization-server`);
  const { client } = await must('D register', async () => register(asMeta));
  const jar = new CookieJar();
  await step('D asking for "mcp:tools mcp:admin" yields only mcp:tools; admin_stats still 403', async () => {
    const a = await authorize(asMeta, client.client_id, { scope: 'mcp:tools mcp:admin', resource: mcp.url, jar });
    const t = await exchangeCode(asMeta, client.client_id, a, mcp.url);
    assert(t.status === 200, `HTTP ${t.status} ${t.text}`);
    assert(t.json.scope === 'mcp:tools', `scope ${t.json.scope}`);
    const mc = new McpClient(mcp.url);
    mc.token = t.json.access_token;
    await mc.initialize();
    const r = await mc.raw({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'admin_stats', arguments: {} } });
    assert(r.status === 403 && r.www.error === 'insufficient_scope', `status ${r.status}`);
    return `granted scope="${t.json.scope}"`;
  });
  await step('D restart authserver on the same port → old client_id is invalid_client', async () => {
    as.child.kill('SIGTERM');
    await once(as.child, 'exit');
    const port = new URL(as.issuer).port;
    const as2 = await startPeer('authserver.mjs', [`--port=${port}`], 'as');
    assert(as2.issuer === as.issuer, `issuer changed: ${as2.issuer}`);
    const r = await refresh(asMeta, client.client_id, 'whatever', mcp.url);
    assert(r.status === 401 && r.json?.error === 'invalid_client', `HTTP ${r.status} ${r.text}`);
  });
  await stopAll();
}

// ================================================================ main ====
const timer = setTimeout(() => { console.log('FAIL global timeout'); stopAll().finally(() => process.exit(1)); }, 120000);
for (const phase of [phaseA, phaseB, phaseC, phaseD]) {
  try {
    await phase();
  } catch (err) {
    if (!(err instanceof Abort)) failStep(`${phase.name} crashed`, err?.stack ?? String(err));
    else console.log(`     (${phase.name} aborted after failed step)`);
  } finally {
    await stopAll();
  }
}
clearTimeout(timer);
console.log(`\n${failures === 0 ? 'ALL PASS' : 'FAILED'}: ${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
