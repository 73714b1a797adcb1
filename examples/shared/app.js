// The sample app every example builds: sign in to the MCP server named by
// ?mcp= in the mode named by ?mode= (popup or redirect), then list its
// tools with the MCP TypeScript SDK. Each example passes in what its
// bundler resolved: this module's own imports are only relative. It
// type-checks under tsc --strict (e2e/types_test.go).

/**
 * @param {{
 *   load: typeof import('mcp-oauth-wasm').load,
 *   Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client,
 *   StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport,
 *   callbackUrl: string,
 * }} app
 */
export async function runApp({ load, Client, StreamableHTTPClientTransport, callbackUrl }) {
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  /** @param {string} text */
  const say = (text) => { $('status').textContent = text; };
  const params = new URLSearchParams(location.search);
  const mcpUrl = params.get('mcp');
  const mode = params.get('mode') === 'redirect' ? 'redirect' : 'popup';
  if (!mcpUrl) return say('Add ?mcp=<MCP server URL>&mode=popup|redirect to the address.');

  const mcpOAuth = await load();
  const client = mcpOAuth.createClient({ mcpUrl, redirectUri: callbackUrl, mode, clientName: 'mcp-oauth-wasm example' });
  /** @param {unknown} e */
  const failed = (e) => say(e instanceof mcpOAuth.McpOAuthError ? `Failed (${e.code}): ${e.message}` : `Failed: ${e}`);

  async function listTools() {
    const mcp = new Client({ name: 'mcp-oauth-wasm-example', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(client.mcpUrl), { fetch: client.fetch }));
    const { tools } = await mcp.listTools();
    $('tools').replaceChildren(...tools.map((t) => Object.assign(document.createElement('li'), { textContent: t.name })));
    say(`Connected (${mode}): ${tools.length} tools`);
    await mcp.close();
  }

  $('connect').addEventListener('click', () => {
    say('Signing in…');
    // Popup mode opens the window here, inside the click.
    client.authorize({ returnTo: location.href }).then(listTools).catch(failed);
  });
  try {
    await client.getAccessToken(); // a token from before, or back from the redirect
    await listTools();
  } catch (e) {
    if (e instanceof mcpOAuth.McpOAuthError && e.code === 'auth_required') say('Not signed in');
    else failed(e);
  }
}
