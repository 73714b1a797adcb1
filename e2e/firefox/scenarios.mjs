// scenarios.mjs DEMO_URL [SCENARIO...]: the core browser scenarios against
// the demo page, in Debian's Firefox ESR driven over WebDriver BiDi
// (puppeteer-core; no geckodriver). One JSON line per scenario:
// {"scenario", "ok", "ms", "error"}. e2e/firefox_test.go runs it.
//
// The forms are filled by the package's own test helper
// (mcp-oauth-wasm/testing's signInWithForms), so the helper is tested too.
import puppeteer from 'puppeteer-core';
import { signInWithForms } from '../../web/testing.js';

const [demoUrl, ...only] = process.argv.slice(2);
const TIMEOUT = 30000;

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  // Puppeteer turns Firefox's popup blocker off by default; the demo must
  // open its popup inside the click, so keep it on.
  extraPrefsFirefox: { 'dom.disable_open_during_load': true },
});

const popupOf = (page) => new Promise((resolve) => page.once('popup', resolve));
const errorCode = (page, code, timeout = 15000) =>
  page.waitForFunction((c) => { const e = document.getElementById('error'); return e && !e.hidden && e.dataset.code === c; }, { timeout }, code);

let context = null;

async function openDemo(mode) {
  context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(demoUrl);
  await page.waitForSelector('#connect:not([disabled])', { timeout: TIMEOUT });
  await page.click(`input[name=mode][value=${mode}]`);
  return { page };
}

async function connectPopup(page) {
  const popup = popupOf(page);
  await page.click('#connect');
  await signInWithForms(await popup, { login: 'firefox-user', password: 'x', timeoutMs: TIMEOUT });
  await page.waitForSelector('#tools li[data-tool="echo"]', { timeout: TIMEOUT });
}

async function result(page, want) {
  await page.waitForFunction((w) => (document.getElementById('result')?.textContent || '').includes(w), { timeout: TIMEOUT }, want);
}

const scenarios = {
  async popup() {
    const { page } = await openDemo('popup');
    await connectPopup(page);
  },
  async redirect() {
    const { page } = await openDemo('redirect');
    await Promise.all([page.waitForNavigation({ timeout: TIMEOUT }), page.click('#connect')]);
    await signInWithForms(page, { login: 'firefox-user', password: 'x', timeoutMs: TIMEOUT });
    await page.waitForSelector('#tools li[data-tool="echo"]', { timeout: TIMEOUT });
    if (/[?&#](code|state)=/.test(page.url())) throw new Error(`the address bar still holds the response: ${page.url().replace(/\?.*/, '?…')}`);
  },
  async stepUp() {
    const { page } = await openDemo('popup');
    await connectPopup(page);
    const popup = popupOf(page);
    await page.click('#call-admin');
    await signInWithForms(await popup, { timeoutMs: TIMEOUT });
    await result(page, 'mcp:admin');
  },
  async refresh() {
    const { page } = await openDemo('popup');
    await connectPopup(page);
    await new Promise((r) => setTimeout(r, 5000)); // the 4 s access token expires
    await page.click('#call-echo');
    await result(page, 'echo');
  },
  async popupClosed() {
    const { page } = await openDemo('popup');
    const popup = popupOf(page);
    await page.click('#connect');
    const p = await popup;
    await p.waitForSelector('input[name=login]', { timeout: TIMEOUT });
    // A user reads the page before closing it. A window closed within the
    // page's first poll (250 ms) of the authorization server looks like one
    // a COOP page severed, and is waited for (README, "Popups and COOP").
    await new Promise((r) => setTimeout(r, 1000));
    await p.close();
    await page.bringToFront(); // the user is back on the page
    await errorCode(page, 'popup_closed');
  },
  async popupBlocked() {
    const { page } = await openDemo('popup');
    // From a timer, once the user activation that Puppeteer's evaluate
    // carries has expired (Firefox keeps it 5 s): no user activation, so
    // the popup blocker refuses it.
    await page.evaluate(() => setTimeout(() => document.getElementById('connect-form').requestSubmit(), 5500));
    await errorCode(page, 'popup_blocked', 10000);
    if ((await context.pages()).length !== 1) throw new Error('a window opened');
  },
};

let failed = 0;
for (const [name, run] of Object.entries(scenarios)) {
  if (only.length && !only.includes(name)) continue;
  const start = Date.now();
  try {
    await run();
    console.log(JSON.stringify({ scenario: name, ok: true, ms: Date.now() - start }));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ scenario: name, ok: false, ms: Date.now() - start, error: String(e && e.stack || e) }));
  } finally {
    await context?.close().catch(() => {});
    context = null;
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
