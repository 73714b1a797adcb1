// records.js: the fast path's reading of the engine's records.
import { expect } from './node_modules/chai/index.js';
import { CONTRACT } from '/contract.js';
import { TokenCache, freshToken, issuerOf } from '/records.js';

const f = CONTRACT.tokenFields;
const tokens = (fields) => ({ [f.accessToken]: 'tok', [f.tokenType]: 'Bearer', [f.issuer]: 'https://as', ...fields });

describe('records.js', () => {
  it('freshToken: no expiry is fresh; the skew is capped at half the lifetime', () => {
    const now = 1000;
    expect(freshToken(tokens({}), now)).to.equal(true);
    expect(freshToken(tokens({ [f.expiresAt]: now + CONTRACT.refreshSkewSeconds + 1 }), now)).to.equal(true);
    expect(freshToken(tokens({ [f.expiresAt]: now + CONTRACT.refreshSkewSeconds }), now)).to.equal(false);
    // A 20 s token issued now: skew 10 s, so fresh for the next 10 s.
    expect(freshToken(tokens({ [f.issuedAt]: now, [f.expiresAt]: now + 20 }), now + 9)).to.equal(true);
    expect(freshToken(tokens({ [f.issuedAt]: now, [f.expiresAt]: now + 20 }), now + 10)).to.equal(false);
  });

  it('issuerOf: none without a record, the issuer at its path, undefined (fail closed) when unreadable', () => {
    const rec = {};
    let o = rec;
    for (const k of CONTRACT.resourceIssuerPath.slice(0, -1)) o = o[k] = {};
    o[CONTRACT.resourceIssuerPath.at(-1)] = 'https://as';
    expect(issuerOf(null)).to.equal(null);
    expect(issuerOf(JSON.stringify(rec))).to.equal('https://as');
    expect(issuerOf('{"renamed":{"issuer":"https://as"}}')).to.equal(undefined);
    expect(issuerOf('not json')).to.equal(undefined);
  });

  it('TokenCache.usable: only fresh tokens of the issuer discovery names', () => {
    const c = new TokenCache();
    const now = Date.now() / 1000;
    const t = JSON.stringify(tokens({ [f.expiresAt]: Math.floor(now) + 3600 }));
    const rec = (iss) => JSON.stringify({ [CONTRACT.resourceIssuerPath[0]]: { [CONTRACT.resourceIssuerPath[1]]: iss } });
    expect(c.usable(t, null, now)?.[f.accessToken]).to.equal('tok');
    expect(c.usable(t, rec('https://as'), now)?.[f.accessToken]).to.equal('tok');
    expect(c.usable(t, rec('https://other'), now)).to.equal(null);
    expect(c.usable(t, '{"garbage":1}', now)).to.equal(null);
    expect(c.usable('{broken', null, now)).to.equal(null);
    expect(c.usable(JSON.stringify(tokens({ [f.expiresAt]: 1 })), null, now)).to.equal(null);
  });
});
