// dpop.js: the key a client's DPoP proofs are signed with (RFC 9449): an
// ECDSA P-256 key pair made by WebCrypto with a non-extractable private
// key, kept in IndexedDB (a CryptoKey is stored there without ever being
// exported), one per client. The engine asks for a new one at each sign-in
// that binds tokens, so a key lives exactly as long as the tokens bound to
// it; clear() and signOut() delete it. Script on this origin can still ask
// the key to sign while the page is open; what a stolen copy of storage
// lacks is the key.

const DB = 'mcp-oauth-dpop';
const STORE = 'keys';
let db = null;

function openDb() {
  if (!db) {
    db = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    db.catch(() => { db = null; });
  }
  return db;
}

async function tx(mode, fn) {
  const d = await openDb();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error);
  });
}

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromB64url = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

// dpopProof builds a DPoP proof (RFC 9449 §4.2) the way the engine does
// (dpop.go, dpopProof): header typ dpop+jwt, alg ES256 and the public JWK;
// claims jti (fresh), htm, htu (without query and fragment), iat, the
// origin's nonce when there is one, and ath (the access token's SHA-256)
// for a resource request. client.fetch signs with it, without the wasm;
// e2e's TestBrowserDPoPProofsAgree compares it with the engine's.
export async function dpopProof(keys, { method, url, nonce, accessToken }) {
  const htu = new URL(url);
  htu.search = '';
  htu.hash = '';
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: JSON.parse(await keys.publicJwk()) };
  const claims = { jti: b64url(crypto.getRandomValues(new Uint8Array(24))), htm: method, htu: htu.href, iat: Math.floor(Date.now() / 1000) };
  if (nonce) claims.nonce = nonce;
  if (accessToken) claims.ath = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  const enc = (o) => b64url(new TextEncoder().encode(JSON.stringify(o)));
  const input = `${enc(header)}.${enc(claims)}`;
  return `${input}.${await keys.sign(b64url(new TextEncoder().encode(input)))}`;
}

// dpopKeys is the DPoP key of the client whose records are named id (its
// storage prefix and MCP URL): the host functions the engine calls.
export function dpopKeys(id) {
  let pair = null; // the CryptoKeyPair, once read or made
  const load = async () => {
    pair ??= (await tx('readonly', (s) => s.get(id))) ?? null;
    if (!pair) await renew();
    return pair;
  };
  const renew = async () => {
    const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await tx('readwrite', (s) => s.put(made, id));
    pair = made;
  };
  return {
    // The public key as a JWK (a public key is always exportable).
    async publicJwk() {
      const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', (await load()).publicKey);
      return JSON.stringify({ kty, crv, x, y });
    },
    // sign returns the ES256 signature (r‖s, WebCrypto's own format) of
    // the base64url signing input.
    async sign(inputB64) {
      const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, (await load()).privateKey, fromB64url(inputB64));
      return b64url(sig);
    },
    renew,
    async remove() {
      pair = null;
      await tx('readwrite', (s) => s.delete(id));
    },
  };
}
