// The sample app every example builds: sign in to the MCP server named by
// ?mcp= in the mode named by ?mode= (popup or redirect), then list its
// tools with the MCP TypeScript SDK. Each example passes in what its
// bundler resolved: this module's own imports are only relative.

export async function runApp({ load, Client, StreamableHTTPClientTransport, callbackUrl }) {
  const $ = (id) => document.getElementById(id);
  const say = (text) => { $('status').textContent = text; };
  const params = new URLSearchParams(location.search);
  const mcpUrl = params.get('mcp');
  const mode = params.get('mode') === 'redirect' ? 'redirect' : 'popup';
  if (!mcpUrl) return say('Add ?mcp=<MCP server URL>&mode=popup|redirect to the address.');

  const mcpOAuth = await load();
  const client = mcpOAuth.createClient({ mcpUrl, redirectUri: callbackUrl, mode, clientName: 'mcp-oauth-wasm example' });

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
    client.authorize({ returnTo: location.href }).then(listTools).catch((e) => say(`Failed (${e.code}): ${e.message}`));
  });
  try {
    await client.getAccessToken(); // a token from before, or back from the redirect
    await listTools();
  } catch (e) {
    say(e.code === 'auth_required' ? 'Not signed in' : `Failed (${e.code}): ${e.message}`);
  }
}
