#!/usr/bin/env node
// Real OAuth 2.1 / OIDC authorization server for mcp-oauth-wasm tests, built on
// oidc-provider (panva). Listens on 127.0.0.1 only. Storage is oidc-provider's
// in-memory adapter: a restart forgets every registered client, grant, session
// and token (a client_id registered against a previous run then gets
// `invalid_client` at /token).
//
// Usage: node authserver.mjs [flags]      (every flag also has an env variable)
//
//   --port=N                 AS_PORT             listen port; 0 (default) = random free port
//   --interactions=MODE      AS_INTERACTIONS     auto (default) | forms
//        auto : /interaction/:uid approves login AND consent with no user input
//               (account id --account-id, every requested scope/resource granted
//               except --deny-scopes). A non-browser client just follows the
//               redirects from /auth to the redirect_uri, carrying cookies
//               (_interaction, _interaction_resume, _session) like a browser.
//        forms: oidc-provider devInteractions HTML. Login form: input[name=login],
//               input[name=password] (any values accepted; login = account id).
//               Consent form: the <form> holding input[name=prompt][value=consent].
//   --access-token-ttl=S     AS_ACCESS_TOKEN_TTL   access token lifetime, seconds (default 3600)
//   --refresh-token-ttl=S    AS_REFRESH_TOKEN_TTL  refresh token lifetime, seconds (default 1209600)
//   --token-format=F         AS_TOKEN_FORMAT     opaque (default) | jwt — format of access tokens
//                                                issued for a resource. opaque => the MCP server
//                                                must introspect; jwt => verify via /jwks (JWT
//                                                access tokens cannot be introspected).
//   --cors-origins=LIST      AS_CORS_ORIGINS     comma-separated allowed browser origins, or `*`.
//                                                Default: any http(s) origin on 127.0.0.1,
//                                                localhost or [::1], any port.
//   --account-id=ID          AS_ACCOUNT_ID       account id used by auto interactions (default test-user)
//   --resource-scopes=LIST   AS_RESOURCE_SCOPES  scopes a resource server accepts (default "mcp:tools mcp:admin")
//   --deny-scopes=LIST       AS_DENY_SCOPES      auto mode never grants these scopes (default none);
//                                                e.g. "mcp:admin" to test a refused step-up
//   --introspection-client-id=ID      AS_INTROSPECTION_CLIENT_ID      (default mcp-resource-server)
//   --introspection-client-secret=S   AS_INTROSPECTION_CLIENT_SECRET  (default mcp-resource-server-secret)
//        a pre-registered confidential client (client_secret_basic/post) the MCP
//        server uses to call /token/introspection.
//
// Stdout: one human-readable line per request, never containing token, code or
// secret values; plus exactly one JSON line when ready:
//   {"ready":true,"issuer":"http://127.0.0.1:PORT"}
// oidc-provider's own warnings go to stderr.
//
// Endpoints (issuer = http://127.0.0.1:PORT, no path):
//   /.well-known/oauth-authorization-server, /.well-known/openid-configuration,
//   /auth, /token, /reg (open dynamic client registration, CORS-enabled),
//   /token/introspection, /token/revocation, /jwks, /me, /interaction/:uid

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints "Unsupported runtime" on Node < 22 (works fine on 20)
// and a few NOTICE lines via console.info (stdout). Keep stdout for our own
// request log + the ready line by sending the library's console.info to stderr.
console.info = (...args) => console.error(...args);

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------- config ----
const { values: argv } = parseArgs({
  options: {
    port: { type: 'string' },
    interactions: { type: 'string' },
    'access-token-ttl': { type: 'string' },
    'refresh-token-ttl': { type: 'string' },
    'token-format': { type: 'string' },
    'cors-origins': { type: 'string' },
    'account-id': { type: 'string' },
    'resource-scopes': { type: 'string' },
    'deny-scopes': { type: 'string' },
    'introspection-client-id': { type: 'string' },
    'introspection-client-secret': { type: 'string' },
    'dpop-nonce': { type: 'boolean' },
  },
  strict: true,
});

const opt = (flag, env, def) => argv[flag] ?? process.env[env] ?? def;
const splitList = (s) => (s ?? '').split(/[\s,]+/).filter(Boolean);

const PORT = Number(opt('port', 'AS_PORT', '0'));
const INTERACTIONS = opt('interactions', 'AS_INTERACTIONS', 'auto');
const ACCESS_TOKEN_TTL = Number(opt('access-token-ttl', 'AS_ACCESS_TOKEN_TTL', '3600'));
const REFRESH_TOKEN_TTL = Number(opt('refresh-token-ttl', 'AS_REFRESH_TOKEN_TTL', String(14 * 24 * 3600)));
const TOKEN_FORMAT = opt('token-format', 'AS_TOKEN_FORMAT', 'opaque');
const CORS_ORIGINS = opt('cors-origins', 'AS_CORS_ORIGINS', '');
const ACCOUNT_ID = opt('account-id', 'AS_ACCOUNT_ID', 'test-user');
const RESOURCE_SCOPES = splitList(opt('resource-scopes', 'AS_RESOURCE_SCOPES', 'mcp:tools mcp:admin'));
const DENY_SCOPES = new Set(splitList(opt('deny-scopes', 'AS_DENY_SCOPES', '')));
const RS_CLIENT_ID = opt('introspection-client-id', 'AS_INTROSPECTION_CLIENT_ID', 'mcp-resource-server');
const RS_CLIENT_SECRET = opt('introspection-client-secret', 'AS_INTROSPECTION_CLIENT_SECRET', 'mcp-resource-server-secret');
// --dpop-nonce: every DPoP proof at the token endpoint must carry a nonce
// this server issued (RFC 9449 §8; oidc-provider's DPoP is on by default).
const DPOP_NONCE = argv['dpop-nonce'] ?? ['1', 'true'].includes(process.env.AS_DPOP_NONCE ?? '');

function fail(msg) {
  console.error(`authserver: ${msg}`);
  process.exit(2);
}
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail(`bad --port ${PORT}`);
if (!['auto', 'forms'].includes(INTERACTIONS)) fail(`--interactions must be auto or forms, got ${INTERACTIONS}`);
if (!(ACCESS_TOKEN_TTL > 0)) fail('bad --access-token-ttl');
if (!(REFRESH_TOKEN_TTL > 0)) fail('bad --refresh-token-ttl');
if (!['opaque', 'jwt'].includes(TOKEN_FORMAT)) fail('--token-format must be opaque or jwt');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const explicitOrigins = new Set(splitList(CORS_ORIGINS));

function originAllowed(origin) {
  if (!origin || origin === 'null') return false;
  if (explicitOrigins.has('*')) return true;
  if (explicitOrigins.size) return explicitOrigins.has(origin);
  const u = URL.parse(origin);
  return !!u && ['http:', 'https:'].includes(u.protocol) && LOOPBACK_HOSTS.has(u.hostname);
}

function isLoopbackHttpResource(resource) {
  const u = URL.parse(resource);
  return !!u && ['http:', 'https:'].includes(u.protocol) && LOOPBACK_HOSTS.has(u.hostname) && !u.hash;
}

// ------------------------------------------------------- server + issuer ----
// Bind first so that port 0 resolves before the Provider (whose issuer embeds
// the port) is constructed.
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

// A fresh signing key per run (ID tokens and, with --token-format=jwt, access tokens).
const signingJwk = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
  alg: 'RS256',
  use: 'sig',
};

const configuration = {
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },

  // Pre-registered resource-server client used by the MCP server for introspection.
  clients: [{
    client_id: RS_CLIENT_ID,
    client_secret: RS_CLIENT_SECRET,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],

  // Static scopes: listed in discovery's scopes_supported. mcp:* are also
  // resource-server scopes (see getResourceServerInfo), which is what ends up in
  // an audience-restricted access token.
  scopes: ['openid', 'offline_access', ...RESOURCE_SCOPES],
  claims: { openid: ['sub'] },

  responseTypes: ['code'],

  clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],

  // Every authorization-code flow needs PKCE (oidc-provider only implements S256).
  pkce: { required: () => true },

  // Refresh tokens for any client whose grant_types include refresh_token; NO
  // offline_access scope / prompt=consent needed (MCP clients send MCP scopes only).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Always rotate; replaying a rotated refresh token -> invalid_grant AND the whole
  // grant (all its tokens) is revoked (oidc-provider's reuse detection).
  rotateRefreshToken: true,
  // Tokens outlive the AS login session (default binds them to the session unless
  // offline_access was granted).
  expiresWithSession: async () => false,

  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    ClientCredentials: ACCESS_TOKEN_TTL,
    IdToken: 3600,
    RefreshToken: REFRESH_TOKEN_TTL,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },

  // CORS for /token, /token/introspection, /token/revocation, /me: any allowed
  // (loopback by default) origin, whatever the client's redirect_uris.
  clientBasedCORS: (_ctx, origin) => originAllowed(origin),

  features: {
    devInteractions: { enabled: INTERACTIONS === 'forms' },
    registration: {
      enabled: true,
      initialAccessToken: false, // open registration
    },
    registrationManagement: { enabled: false },
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => (
        client.clientId === RS_CLIENT_ID || client.clientId === token.clientId
      ),
    },
    revocation: { enabled: true },
    dPoP: DPOP_NONCE ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } : { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource requested -> none (token is then only good for /me).
      // Several resources requested at /auth and none at /token -> first one.
      defaultResource: async (_ctx, _client, oneOf) => (oneOf ? oneOf[0] : undefined),
      // A /token (authorization_code or refresh_token) request without `resource`
      // still gets an access token for the resource granted at /auth.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (!isLoopbackHttpResource(resourceIndicator)) {
          throw new errors.InvalidTarget('only loopback http(s) resource indicators are served by this test AS');
        }
        return {
          audience: resourceIndicator,
          scope: RESOURCE_SCOPES.join(' '),
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: TOKEN_FORMAT,
          ...(TOKEN_FORMAT === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
        };
      },
    },
  },

  ...(INTERACTIONS === 'auto' ? {
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  } : {}),

  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub }),
  }),

  renderError: async (ctx, out) => {
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><title>oops</title><h1>oops! something went wrong</h1><pre>${
      Object.entries(out).map(([k, v]) => `${esc(k)}: ${esc(v)}`).join('\n')}</pre>`;
  },
};

const provider = new Provider(ISSUER, configuration);
provider.proxy = false;
// Why the token endpoint refused a grant (oidc-provider keeps the reason in
// error_detail, not in the response): e.g. "failed jkt verification" for a
// DPoP-bound refresh token presented with another key's proof.
provider.on('grant.error', (ctx, err) => {
  console.log(`[as] grant.error ${err.error ?? err.name}${err.error_detail ? ` detail=${JSON.stringify(err.error_detail)}` : ''}${ctx.oidc?.client?.clientId ? ` client_id=${ctx.oidc.client.clientId}` : ''}`);
});

// ------------------------------------------------------------ middleware ----
// 1. request log (no token/code/secret values)
provider.use(async (ctx, next) => {
  const started = Date.now();
  try {
    await next();
  } finally {
    const parts = [`[as] ${ctx.method} ${ctx.path}`];
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const q = ctx.query;
      for (const k of ['client_id', 'response_type', 'scope', 'resource', 'prompt', 'code_challenge_method']) {
        if (q[k] !== undefined) parts.push(`${k}=${JSON.stringify(q[k])}`);
      }
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const body = ctx.oidc?.body ?? {};
      parts.push(`grant_type=${body.grant_type ?? '?'}`);
      parts.push(`resource=${body.resource !== undefined ? 'yes' : 'no'}`);
      if (ctx.oidc?.client?.clientId) parts.push(`client_id=${ctx.oidc.client.clientId}`);
    }
    if (ctx.get('Origin')) parts.push(`origin=${ctx.get('Origin')}`);
    parts.push(`-> ${ctx.status}`);
    if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object' && ctx.body.error) {
      parts.push(`error=${ctx.body.error}`);
      if (ctx.body.error_description) parts.push(`(${ctx.body.error_description})`);
    }
    if (ctx.status >= 300 && ctx.status < 400) {
      const loc = URL.parse(ctx.response.get('Location') ?? '', ISSUER);
      if (loc) parts.push(`location=${loc.origin === ISSUER ? loc.pathname : `${loc.origin}${loc.pathname}`}`);
    }
    parts.push(`${Date.now() - started}ms`);
    console.log(parts.join(' '));
  }
});

// 2. CORS for dynamic client registration (oidc-provider adds none on /reg).
provider.use(async (ctx, next) => {
  if (ctx.path !== '/reg' && !ctx.path.startsWith('/reg/')) return next();
  const origin = ctx.get('Origin');
  if (!origin) return next();
  ctx.vary('Origin');
  if (!originAllowed(origin)) {
    if (ctx.method === 'OPTIONS') { ctx.status = 403; return undefined; }
    return next(); // no ACAO header -> the browser blocks the response
  }
  ctx.set('Access-Control-Allow-Origin', origin);
  if (ctx.method === 'OPTIONS') {
    ctx.set('Access-Control-Allow-Methods', 'GET,POST,PUT,DELETE,OPTIONS');
    ctx.set('Access-Control-Allow-Headers', ctx.get('Access-Control-Request-Headers') || 'Authorization, Content-Type');
    ctx.set('Access-Control-Max-Age', '3600');
    ctx.status = 204;
    return undefined;
  }
  ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate, Location');
  return next();
});

// 3. auto interactions: approve login + consent without user input.
if (INTERACTIONS === 'auto') {
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)$/.exec(ctx.path);
    if (!m || ctx.method !== 'GET') return next();
    ctx.set('Cache-Control', 'no-store');
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = `interaction not found: ${err.message} (carry the _interaction cookie set by /auth)`;
      return undefined;
    }
    const { prompt, params, session, grantId } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: ACCOUNT_ID } };
    } else if (prompt.name === 'consent') {
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const d = prompt.details;
      // Denied scopes are recorded as *rejected* (not just left out): otherwise the
      // consent prompt would fire again and again for the still-missing scopes.
      const allowed = (scopes) => scopes.filter((s) => !DENY_SCOPES.has(s)).join(' ');
      const denied = (scopes) => scopes.filter((s) => DENY_SCOPES.has(s)).join(' ');
      if (d.missingOIDCScope) {
        grant.addOIDCScope(allowed(d.missingOIDCScope));
        if (denied(d.missingOIDCScope)) grant.rejectOIDCScope(denied(d.missingOIDCScope));
      }
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, allowed(scopes));
          if (denied(scopes)) grant.rejectResourceScope(indicator, denied(scopes));
        }
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: `unsupported prompt ${prompt.name}` };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: prompt.name !== 'login',
    });
    ctx.status = 302;
    ctx.redirect(returnTo);
    return undefined;
  });
}

handler = provider.callback();

// ------------------------------------------------------------ lifecycle ----
const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

console.log(JSON.stringify({ ready: true, issuer: ISSUER }));
