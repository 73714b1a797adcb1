// sdk2.js: the bench page for the TypeScript SDK v2's OAuth client: auth()
// from @modelcontextprotocol/client 2.4.0, bundled for the browser
// (sdk2-auth.bundle.js, built from ../sdk2-entry.js). It mirrors sdk.js
// (the v1 page: read that first) line for line but where v2 differs:
//
//  - the package: v2 split the SDK into @modelcontextprotocol/client,
//    /server and /core, and has no deep import paths (v1:
//    @modelcontextprotocol/sdk/client/auth.js); the names are the same
//    (auth, extractWWWAuthenticateParams, UnauthorizedError), as are the
//    OAuthClientProvider members v1's minimal provider has, and auth()'s
//    result ('AUTHORIZED' | 'REDIRECT');
//  - the code exchange takes the callback's `iss` (RFC 9207): v2 checks it
//    against the authorization server's issuer, and refuses an answer
//    without one from a server that advertises
//    authorization_response_iss_parameter_supported (oidc-provider does).
//    v2's transport takes it in finishAuth(callbackParams); here
//    auth(provider, {serverUrl, authorizationCode, iss, ...});
//  - the provider also keeps discoveryState()/saveDiscoveryState() (optional
//    in both versions; v1's minimal provider has none): v2 binds the code to
//    the authorization server recorded when the popup opened (SEP-2352),
//    and without a discovery state it says on the console, at every code
//    exchange, that it cannot check that binding and that the provider
//    should persist one beside the code verifier. With one, auth() also
//    skips the discovery requests on the callback leg and at a refresh;
//  - saveTokens and saveClientInformation get the values stamped with the
//    issuer ({..., issuer}) and a second argument {issuer}; tokens() and
//    clientInformation() get {issuer} too (a provider with one set of
//    credentials ignores it, as this one does: the stamp is stored with the
//    value and read back). auth() drops stored tokens whose stamp names
//    another issuer.
//
// The request path is still what v2's StreamableHTTPClientTransport does
// with an OAuthClientProvider (adaptOAuthProvider: token() before every
// request, and on a 401 auth() with the challenge's resource_metadata and
// scope, then the request once more), written out so that only auth() is
// bundled. Like v1, v2 has no proactive expiry check.
//
// ?mode=new        load, then wait for the driver's click on #connect; then
//                  bench.expiredWarm() in the same page
// ?mode=returning  load, then straight to tools/list with the stored tokens
// &mcp=<MCP URL>
import { params, sleep, connectAndListTools, expiredWarm, hotPath, installBench, deferred } from './common.js';

const bench = installBench(params.get('mode'));
const mcpUrl = params.get('mcp');
const PREFIX = `sdk2-bench:${mcpUrl}:`;
const read = (k) => { const v = localStorage.getItem(PREFIX + k); return v === null ? undefined : JSON.parse(v); };
const write = (k, v) => localStorage.setItem(PREFIX + k, JSON.stringify(v));

// The minimal OAuthClientProvider: the required members, and the discovery
// state v2 asks for (see above).
class PopupProvider {
  constructor() { this.callback = null; this.onTokens = null; }
  get redirectUrl() { return new URL('sdk-callback.html', location.href).href; } // the v1 page's callback page: it posts the URL back
  get clientMetadata() {
    return {
      client_name: 'TypeScript SDK v2 bench',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return read('client'); }
  saveClientInformation(info) { write('client', info); }
  tokens() { return read('tokens'); }
  saveTokens(tokens) { write('tokens', tokens); if (this.onTokens) this.onTokens(); }
  saveCodeVerifier(v) { write('verifier', v); }
  codeVerifier() { return read('verifier'); }
  discoveryState() { return read('discovery'); }
  saveDiscoveryState(state) { write('discovery', state); }
  redirectToAuthorization(url) {
    const popup = window.open(url.href, 'sdk-oauth', 'popup=yes,width=600,height=700');
    if (!popup) throw new Error('the browser blocked the sign-in popup');
    const d = deferred();
    const accept = (data) => {
      if (!data || data.type !== 'sdk-bench-callback') return;
      removeEventListener('message', onMessage);
      bc.close();
      try { popup.close(); } catch {}
      d.resolve(data.url);
    };
    const onMessage = (e) => { if (e.origin === location.origin) accept(e.data); };
    const bc = new BroadcastChannel('sdk-bench-callback');
    bc.onmessage = (e) => accept(e.data);
    addEventListener('message', onMessage);
    this.callback = d.promise;
  }
}

try {
  const t0 = performance.now();
  const { auth, extractWWWAuthenticateParams } = await import('./sdk2-auth.bundle.js');
  const provider = new PopupProvider();
  const t1 = performance.now();
  bench.marks.importStart = t0;
  bench.marks.ready = t1;
  bench._ready.resolve({ importToReadyMs: t1 - t0 });

  // sdkFetch is the transport's request path: Bearer from provider.tokens(),
  // and on a 401, auth() (then the popup and auth() with the code), once.
  let pauseAfterAuth = 0;
  let onAuthorized = null;
  const sdkFetch = async (url, init = {}) => {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      const tokens = await provider.tokens();
      if (tokens) headers.set('Authorization', `Bearer ${tokens.access_token}`);
      const resp = await fetch(url, { ...init, headers });
      if (resp.status !== 401 || attempt > 0) return resp;
      await resp.body?.cancel();
      const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(resp);
      let result = await auth(provider, { serverUrl: mcpUrl, resourceMetadataUrl, scope });
      if (result === 'REDIRECT') {
        const callback = new URL(await provider.callback);
        const code = callback.searchParams.get('code');
        if (!code) throw new Error(`authorization failed: ${callback.searchParams.get('error')}`);
        const iss = callback.searchParams.get('iss') ?? undefined; // v2: RFC 9207
        result = await auth(provider, { serverUrl: mcpUrl, authorizationCode: code, iss, resourceMetadataUrl, scope });
      }
      if (result !== 'AUTHORIZED') throw new Error(`auth() returned ${result}`);
      if (onAuthorized) onAuthorized();
      if (pauseAfterAuth) await sleep(pauseAfterAuth); // keeps the retry out of the driver's connect window
    }
  };

  bench.expireToken = () => {
    const t = read('tokens');
    if (!t) throw new Error('no stored tokens');
    t.access_token = `expired-${Date.now()}`;
    write('tokens', t);
    return true;
  };

  bench.expiredWarm = () => expiredWarm({ expireToken: bench.expireToken, fetchFn: sdkFetch, url: mcpUrl, session: bench.session });

  bench.hot = (opts) => hotPath({ getToken: async () => (await provider.tokens())?.access_token, wrappedFetch: sdkFetch, mcpUrl, ...opts });

  if (bench.mode === 'returning') {
    const { tools } = await connectAndListTools(sdkFetch, mcpUrl, bench.marks);
    const toolsDone = performance.now();
    bench._done.resolve({ tools, toolsDoneMs: toolsDone, firstAuthorizedResponseMs: bench.marks.firstAuthorizedResponse, wasmStartedBeforeTools: false });
  } else {
    const button = document.getElementById('connect');
    button.addEventListener('click', (ev) => {
      const clickTs = ev.timeStamp;
      pauseAfterAuth = 500;
      let savedTs = null;
      provider.onTokens = () => { provider.onTokens = null; savedTs = performance.now(); };
      // The end of the connect: auth() with the code has resolved (the
      // tokens are stored), as authorize() resolving is for mcp-oauth-wasm.
      onAuthorized = () => {
        onAuthorized = null;
        const tokenTs = performance.now();
        bench._tokenStored.resolve({
          clickToTokenMs: tokenTs - clickTs, readyToClickMs: clickTs - bench.marks.ready,
          clickToSaveTokensMs: savedTs === null ? null : savedTs - clickTs,
        });
      };
      (async () => {
        const { tools, session } = await connectAndListTools(sdkFetch, mcpUrl);
        pauseAfterAuth = 0;
        bench.session = session;
        bench._done.resolve({ tools });
      })().catch((e) => bench.fail(e));
    });
    button.disabled = false;
  }
} catch (e) {
  bench.fail(e);
}
