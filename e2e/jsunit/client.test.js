// client.js: createClient's checks, the fast path and the fetch wrapper,
// with the engine unreachable (its wasm URL does not exist) and the
// browser's fetch replaced by a recorder: these parts must not need the
// engine, and a test that reaches it fails.
import { expect } from './node_modules/chai/index.js';
import { CONTRACT } from '/contract.js';
import { load } from '/mcp-oauth.js';
import { storageKey } from '/storage.js';

const api = await load({ wasmUrl: '/no-such.wasm' });
const mcpUrl = `${location.origin}/mcp`;
const other = 'https://other.example';
const f = CONTRACT.tokenFields;
let n = 0;

// A client whose storage holds a fresh token: the fast path serves it.
function signedInClient(extra = {}) {
  const prefix = `jsunit-${n++}`;
  localStorage.setItem(storageKey(prefix, 'tokens', mcpUrl), JSON.stringify({
    [f.accessToken]: `token-${prefix}`, [f.tokenType]: 'Bearer', [f.issuer]: 'https://as.example',
    [f.expiresAt]: Math.floor(Date.now() / 1000) + 3600,
  }));
  const client = api.createClient({ mcpUrl, redirectUri: `${location.origin}/callback.html`, storageKeyPrefix: prefix, mode: async () => { throw new Error('no sign-in in unit tests'); }, ...extra });
  return { client, token: `token-${prefix}` };
}

// recordFetch replaces the browser's fetch while fn runs.
async function recordFetch(fn) {
  const sent = [];
  const real = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const req = new Request(input, init);
    sent.push({ url: req.url, authorization: req.headers.get('Authorization'), body: init?.body ?? (req.body ? await req.text() : null) });
    return new Response('ok', { status: 200 });
  };
  try {
    await fn();
  } finally {
    globalThis.fetch = real;
  }
  return sent;
}

const thrown = (fn) => { try { fn(); return 'no error'; } catch (e) { return `${e.code}: ${e.message}`; } };

describe('client.js: createClient', () => {
  it('refuses an option nobody knows, or of the wrong type, naming it', () => {
    const base = { mcpUrl, redirectUri: `${location.origin}/callback.html`, storage: 'memory' };
    expect(thrown(() => api.createClient({ ...base, scope: ['a'] }))).to.match(/^invalid_config: unknown option scope/);
    expect(thrown(() => api.createClient({ ...base, scopes: 'a b' }))).to.match(/^invalid_config: option scopes must be an array of strings/);
    expect(thrown(() => api.createClient({ ...base, requireIssuerParameter: 'yes' }))).to.match(/^invalid_config: option requireIssuerParameter must be a boolean/);
    expect(thrown(() => api.createClient({ ...base, lockTimeoutMs: -1 }))).to.match(/^invalid_config: option lockTimeoutMs/);
    expect(thrown(() => api.createClient({ ...base, mcpUrl: 'javascript:alert(1)' }))).to.match(/^insecure_url/);
    expect(thrown(() => api.createClient({ ...base, mcpUrl: 'http://mcp.example.com/mcp' }))).to.match(/^insecure_url/);
    expect(thrown(() => api.createClient({ ...base, redirectUri: 'https://elsewhere.example/cb' }))).to.match(/^invalid_config: redirectUri/);
  });

  it('every engine option of the contract is accepted with its type', () => {
    const sample = { string: 'https://x.example/a', boolean: true, 'string[]': ['a'], object: { a: 1 } };
    const options = { storage: 'memory' };
    for (const [k, type] of Object.entries(CONTRACT.options)) options[k] = sample[type];
    options.mcpUrl = mcpUrl;
    options.redirectUri = `${location.origin}/callback.html`;
    options.clientName = 'unit';
    expect(thrown(() => api.createClient(options))).to.equal('no error');
  });
});

describe('client.js: the fetch wrapper', () => {
  it('adds the Bearer token to requests for the MCP server, and only those', async () => {
    const { client, token } = signedInClient();
    const sent = await recordFetch(async () => {
      await client.fetch(mcpUrl, { method: 'POST', body: '{"jsonrpc":"2.0"}' });
      await client.fetch('/mcp?x=1');
      await client.fetch(`${other}/mcp`, { method: 'POST', body: 'x' });
    });
    expect(sent.map((s) => [s.url, s.authorization])).to.deep.equal([
      [mcpUrl, `Bearer ${token}`], [`${mcpUrl}?x=1`, `Bearer ${token}`], [`${other}/mcp`, null],
    ]);
    expect(sent[0].body).to.equal('{"jsonrpc":"2.0"}');
  });

  it('decides on the request it sends: an iframe\'s Request, a changing toString, a URL subclass', async () => {
    const { client, token } = signedInClient();
    const frame = document.createElement('iframe');
    document.body.append(frame);
    let calls = 0;
    class Sneaky extends URL { toString() { return `${other}/steal`; } get href() { return `${other}/steal`; } }
    const sent = await recordFetch(async () => {
      await client.fetch(new frame.contentWindow.Request(`${other}/iframe`));
      await client.fetch({ toString: () => (calls++ === 0 ? mcpUrl : `${other}/tostring`) });
      await client.fetch(new Sneaky(mcpUrl));
    });
    frame.remove();
    for (const s of sent) {
      if (s.authorization) expect(s.url.startsWith(location.origin), `token sent to ${s.url}`).to.equal(true);
    }
    expect(sent.map((s) => s.url)).to.deep.equal([`${other}/iframe`, mcpUrl, mcpUrl]);
    expect(sent[1].authorization).to.equal(`Bearer ${token}`);
  });

  it('returns the response as the browser gave it (streams untouched)', async () => {
    const { client } = signedInClient();
    const real = globalThis.fetch;
    const response = new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('data: 1\n\n')); c.close(); } }), { status: 200 });
    globalThis.fetch = async () => response;
    try {
      expect(await client.fetch(mcpUrl)).to.equal(response);
    } finally {
      globalThis.fetch = real;
    }
  });
});

describe('client.js: getAccessToken', () => {
  it('serves a fresh stored token without the engine', async () => {
    const { client, token } = signedInClient();
    expect(await client.getAccessToken()).to.equal(token);
  });

  it('an aborted signal rejects before anything is read or started', async () => {
    const { client } = signedInClient();
    const ac = new AbortController();
    ac.abort();
    const err = await client.getAccessToken({ signal: ac.signal }).catch((e) => e);
    expect(err.code).to.equal('aborted');
    const err2 = await client.authorize({ signal: ac.signal }).catch((e) => e);
    expect(err2.code).to.equal('aborted');
  });

  it('without a usable token it asks the engine, whose load failure is an McpOAuthError', async () => {
    const client = api.createClient({ mcpUrl, redirectUri: `${location.origin}/callback.html`, storage: 'memory', mode: async () => '' });
    const err = await client.getAccessToken().catch((e) => e);
    expect(err.name).to.equal('McpOAuthError');
  });
});

describe('testing.js: testStorage', () => {
  it('is a per-client storage the test seeds and reads', async () => {
    const { testStorage } = await import('/testing.js');
    const a = testStorage();
    const b = testStorage();
    a.seedTokens(mcpUrl, { access_token: 'seeded', issuer: 'https://as.example', expires_at: Math.floor(Date.now() / 1000) + 3600 });
    const client = api.createClient({ mcpUrl, redirectUri: `${location.origin}/callback.html`, storage: a.storage, mode: async () => '' });
    expect(await client.getAccessToken()).to.equal('seeded');
    expect(a.tokens(mcpUrl)?.access_token).to.equal('seeded');
    expect(b.tokens(mcpUrl)).to.equal(null);
    expect(Object.keys(a.dump())).to.have.length(1);
  });
});
