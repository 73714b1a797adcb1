// urls.js: the MCP URL as this browser will fetch it, and small URL checks.

import { CONTRACT } from './contract.js';
import { fail } from './errors.js';

// canonicalMcpUrl is the MCP server's URL as this browser will fetch it
// (its own WHATWG parser), in the engine's canonical form: no fragment, no
// empty query, no lone "/" path. Only URLs in the grammar of the engine's
// canonicalurl.go are accepted, the ones on which the browser's reading and
// Go's agree; this value, not the option as written, is what the engine
// receives. e2e's TestBrowserCanonicalURLDifferential keeps the two in step.
const MCP_URL_CHARS = new Set(CONTRACT.mcpUrlChars);
const isLoopback = (hostname) => CONTRACT.loopbackHosts.includes(hostname.replace(/^\[(.*)\]$/, '$1'));
export function canonicalMcpUrl(raw, what = 'mcpUrl') {
  const bad = (code, why) => fail(code, `${what} ${JSON.stringify(String(raw))} ${why}`);
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw bad('invalid_config', 'is not an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('insecure_url', `has scheme ${JSON.stringify(u.protocol.slice(0, -1))}; only https (or http on localhost) is allowed`);
  if (![...raw].every((c) => MCP_URL_CHARS.has(c)) || /%(?![0-9A-Fa-f]{2})/.test(raw)) throw bad('invalid_config', 'contains characters that browsers and this library may read differently (spaces, quotes, backslashes, non-ASCII, a stray %); percent-encode them');
  if (u.username || u.password) throw bad('insecure_url', 'carries user credentials in the URL');
  // The host and port as written must be what the browser will use: no
  // IPv4 shorthands, IPv6 spellings, leading zeros or empty ports.
  const written = (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(raw) || [])[1]?.toLowerCase();
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  if (written !== u.host && written !== `${u.host}:${defaultPort}`) throw bad('invalid_config', `is read by this browser as host ${JSON.stringify(u.host)}; write the host and port that way`);
  if (!/^(\[[0-9a-f:]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?)$/.test(u.hostname) || /(^|\.)xn--/.test(u.hostname)) {
    throw bad('invalid_config', 'must have a plain ASCII host name (letters, digits, "-", "_", dots; no IDN) or an IP address');
  }
  if (u.protocol === 'http:' && !isLoopback(u.hostname)) throw bad('insecure_url', 'uses http on a non-loopback host; only https is allowed there');
  u.hash = '';
  if (!u.search) u.search = '';
  let s = u.href;
  if (u.pathname === '/' && !u.search) s = s.slice(0, -1);
  return s;
}

// urlHref is a URL's own href, whatever a subclass overrides.
export const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, 'href').get;
export const isHttpUrl = (s) => { try { return /^https?:$/.test(new URL(s).protocol); } catch { return false; } };
export const sameOrigin = (a, b) => { try { return new URL(a).origin === new URL(b).origin; } catch { return false; } };
export const stateOf = (url) => {
  try {
    const u = new URL(url);
    return u.searchParams.get('state') ?? new URLSearchParams(u.hash.slice(1)).get('state');
  } catch {
    return null;
  }
};
