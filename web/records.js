// records.js: the engine's stored records as the fast path reads them,
// without the wasm: the tokens of an MCP server, the issuer discovery last
// named for it, and whether the access token is still fresh. Field names,
// the skew and the key layout come from the engine (contract.js); e2e's
// TestBrowserContract checks this reading against the engine's.

import { CONTRACT } from './contract.js';

const F = CONTRACT.tokenFields;

// freshToken is Tokens.FreshAt (storage.go) with the default skew: valid
// for at least the skew, capped at half the token's lifetime; no expiry
// means fresh.
export function freshToken(t, nowS, skewS = CONTRACT.refreshSkewSeconds) {
  const exp = t[F.expiresAt];
  if (!exp) return true;
  const iat = t[F.issuedAt];
  let skew = skewS;
  if (iat > 0 && iat < exp) skew = Math.min(skew, Math.floor((exp - iat) / 2));
  return nowS + skew < exp;
}

// issuerOf returns the issuer a stored discovery record names, null when
// there is no record, and undefined when the record cannot be read (then
// the fast path does not trust any token: it fails closed).
export function issuerOf(resourceRaw) {
  if (!resourceRaw) return null;
  try {
    let v = JSON.parse(resourceRaw);
    for (const k of CONTRACT.resourceIssuerPath) v = v?.[k];
    return typeof v === 'string' && v ? v : undefined;
  } catch {
    return undefined;
  }
}

// TokenCache parses the stored records once per stored value.
export class TokenCache {
  #tokensRaw = undefined;
  #tokens = null;
  #resourceRaw = undefined;
  #issuer = null;

  invalidate() { this.#tokensRaw = undefined; }

  // usable returns the stored tokens when they are fresh and issued by the
  // authorization server discovery last named, else null ("ask the
  // engine").
  usable(tokensRaw, resourceRaw, nowS) {
    if (tokensRaw !== this.#tokensRaw) {
      this.#tokensRaw = tokensRaw;
      try { this.#tokens = tokensRaw ? JSON.parse(tokensRaw) : null; } catch { this.#tokens = null; }
    }
    if (resourceRaw !== this.#resourceRaw) {
      this.#resourceRaw = resourceRaw;
      this.#issuer = issuerOf(resourceRaw);
    }
    const t = this.#tokens;
    if (!t || typeof t[F.accessToken] !== 'string' || !t[F.accessToken]) return null;
    if (this.#issuer === undefined) return null;
    if (this.#issuer !== null && t[F.issuer] !== this.#issuer) return null;
    return freshToken(t, nowS) ? t : null;
  }

  accessToken(t) { return t[F.accessToken]; }
}
