// mcp-oauth-wasm/testing: what a browser test (Playwright, Puppeteer, or
// chromedp's equivalent) needs around this module.
//
// In the page:   testStorage() — a storage backend of one client's own,
//                that the test seeds and reads (storage: 'memory' is one
//                too, but the test cannot reach it).
// In the runner: signInWithForms(page) — fills an authorization server's
//                login and consent forms (oidc-provider's by default) in the
//                popup, or in the page itself in redirect mode.
//
// Pitfalls met writing such tests: Playwright's page.route() does not see
// the requests of a redirect chain (the authorization server's 302 to the
// callback), so watch the callback page load instead; and a popup opens
// only inside a user gesture (page.click, not page.evaluate in Puppeteer).

import { CONTRACT } from './contract.js';
import { memoryBackend, storageKey } from './storage.js';

// testStorage returns {storage, seedTokens, tokens, dump}: pass storage to
// createClient; seedTokens(mcpUrl, tokens) stores tokens as the engine
// would (expires_at in seconds), tokens(mcpUrl) reads them back, dump()
// returns every record.
export function testStorage({ prefix = CONTRACT.defaultStorageKeyPrefix } = {}) {
  const map = new Map();
  const backend = memoryBackend(map);
  const storage = {
    getItem: (k) => backend.getItem(k),
    setItem: (k, v) => backend.setItem(k, v),
    removeItem: (k) => backend.removeItem(k),
    keys: () => backend.keys(),
  };
  return {
    storage,
    seedTokens(mcpUrl, tokens) {
      map.set(storageKey(prefix, 'tokens', mcpUrl), JSON.stringify({ token_type: 'Bearer', ...tokens }));
    },
    tokens(mcpUrl) {
      const raw = map.get(storageKey(prefix, 'tokens', mcpUrl));
      return raw ? JSON.parse(raw) : null;
    },
    dump: () => Object.fromEntries(map),
  };
}

// OIDC_PROVIDER_FORMS are the selectors of oidc-provider's development
// login and consent pages.
export const OIDC_PROVIDER_FORMS = Object.freeze({
  login: 'input[name=login]',
  password: 'input[name=password]',
  consent: 'form input[name=prompt][value=consent]',
});

// signInWithForms signs in on an authorization server's pages in page (a
// Playwright or Puppeteer Page: the popup, or the app's page in redirect
// mode): it fills the login form when one shows, then approves consent
// when asked. Only waitForSelector, type and click are used, which both
// drivers have.
export async function signInWithForms(page, { login = 'test-user', password = 'test-password', forms = OIDC_PROVIDER_FORMS, timeoutMs = 30000 } = {}) {
  const first = await Promise.race([
    page.waitForSelector(forms.login, { timeout: timeoutMs }).then(() => 'login'),
    page.waitForSelector(forms.consent, { timeout: timeoutMs }).then(() => 'consent'),
  ]);
  if (first === 'login') {
    await page.type(forms.login, login);
    await page.type(forms.password, password);
    await Promise.all([page.waitForNavigation({ timeout: timeoutMs }).catch(() => {}), page.click(`${forms.login} ~ button, form button[type=submit]`)]);
  }
  try {
    await page.waitForSelector(forms.consent, { timeout: timeoutMs });
  } catch {
    return; // no consent asked (already granted), or the window closed
  }
  await page.click(`${forms.consent} ~ button, form:has(${forms.consent}) button[type=submit]`).catch(() => {});
}
