// runner.js: the page that conformance/browserclient opens in headless
// Chromium. It loads mcp-oauth.js, creates a popup-mode client for the
// scenario's MCP server, and speaks MCP through client.fetch with the
// official TypeScript SDK (web/demo/mcp-sdk.js): connect (initialize,
// notifications/initialized), tools/list, tools/call of the first tool.
// Sign-ins start inside client.fetch (401 mid-session, 403 step-up), so
// Chromium runs with its popup blocker off.
//
// The outcome goes to window.__conformanceResult, which the Go side polls:
// {ok: true, tools} or {ok: false, code, message, ...}.

const status = document.getElementById('status');
const log = (...a) => { console.log('[runner]', ...a); status.textContent = a.join(' '); };

function report(result) {
  window.__conformanceResult = result;
}

async function main() {
  const config = await (await fetch('./runner-config.json', { cache: 'no-store' })).json();
  log('scenario', config.scenario || '(none)', 'mcpUrl', config.mcpUrl);

  const { load } = await import('./mcp-oauth.js');
  const { Client, StreamableHTTPClientTransport } = await import('./demo/mcp-sdk.js');

  const mcpOAuth = await load();
  const client = mcpOAuth.createClient({
    mcpUrl: config.mcpUrl,
    redirectUri: new URL('./callback.html', location.href).href,
    mode: 'popup',
    clientId: config.clientId || undefined,
    clientSecret: config.clientSecret || undefined,
    clientMetadataUrl: config.clientMetadataUrl || undefined,
    clientName: config.clientName || undefined,
    popup: { timeoutMs: config.popupTimeoutMs || 20000 },
  });
  client.addEventListener('progress', (e) => log('progress', JSON.stringify(e.detail)));
  client.addEventListener('tokenchange', (e) => log('tokenchange', e.detail ? `scope=${JSON.stringify(e.detail.scope ?? '')} issuer=${e.detail.issuer}` : 'cleared'));

  const mcp = new Client({ name: 'mcp-oauth-wasm-browser-conformance', version: '1.0.0' });
  mcp.onerror = (e) => log('mcp client onerror (not fatal):', e && e.message || String(e));
  const transport = new StreamableHTTPClientTransport(new URL(config.mcpUrl), { fetch: client.fetch });

  log('connecting');
  await mcp.connect(transport);
  log('connected to', JSON.stringify(mcp.getServerVersion()));

  const { tools } = await mcp.listTools();
  const names = tools.map((t) => t.name);
  log('tools', JSON.stringify(names));

  if (names.length > 0) {
    const result = await mcp.callTool({ name: names[0], arguments: {} });
    log('callTool', names[0], JSON.stringify(result));
    if (result.isError) throw Object.assign(new Error(`tool ${names[0]} returned an error: ${JSON.stringify(result.content)}`), { code: 'tool_error' });
  }
  try { await mcp.close(); } catch {}
  return { ok: true, tools: names };
}

main().then(
  (r) => { log('done'); report(r); },
  (e) => {
    const r = {
      ok: false,
      name: String(e && e.name || 'Error'),
      code: String(e && e.code !== undefined ? e.code : ''),
      message: String(e && e.message || e),
    };
    for (const k of ['oauthError', 'oauthErrorDescription', 'status']) if (e && e[k] !== undefined) r[k] = e[k];
    console.error('[runner] failed:', r.name, r.code, r.message, e && e.stack || '');
    report(r);
  },
);
