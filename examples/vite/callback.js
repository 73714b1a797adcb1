// The callback page's script: the package's callback entry, bundled with
// the app (it hands a popup's response back, or completes a redirect
// sign-in and returns to the app).
import 'mcp-oauth-wasm/callback';
