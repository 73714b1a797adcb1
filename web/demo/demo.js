// The mcp-oauth-wasm demo: a small MCP client page.
//
// mcp-oauth.js signs in (popup or redirect) and hands the MCP TypeScript SDK
// a fetch that carries the token; the SDK does the MCP part. Everything the
// page shows that came from a server is written with textContent, never as
// HTML, and the token itself is never shown.
import { load } from '../mcp-oauth.js';
import { Client, StreamableHTTPClientTransport } from './mcp-sdk.js';

const SETTINGS_KEY = 'mcp-oauth-demo:settings';
const CLIENT_INFO = { name: 'mcp-oauth-wasm-demo', version: '1.0.0' };
// A token this close to its expiry counts as expired for the Connect
// decision (the module refreshes 30 s early as well).
const EXPIRY_MARGIN_S = 30;

const $ = (id) => document.getElementById(id);
const els = {
  form: $('connect-form'),
  url: $('mcp-url'),
  connect: $('connect'),
  cancel: $('cancel'),
  forget: $('forget'),
  diagnose: $('diagnose'),
  diagnosis: $('diagnosis'),
  diagnosisEmpty: $('diagnosis-empty'),
  diagnosisSummary: $('diagnosis-summary'),
  trace: $('trace'),
  traceEmpty: $('trace-empty'),
  signOut: $('sign-out'),
  status: $('status'),
  error: $('error'),
  progress: $('progress'),
  progressEmpty: $('progress-empty'),
  token: $('token'),
  tokenNone: $('token-none'),
  tokenIssuer: $('token-issuer'),
  tokenScopes: $('token-scopes'),
  tokenExpiry: $('token-expiry'),
  tokenCountdown: $('token-countdown'),
  tokenRefresh: $('token-refresh'),
  tokenResource: $('token-resource'),
  tokenClient: $('token-client'),
  tools: $('tools'),
  toolsEmpty: $('tools-empty'),
  echoMessage: $('echo-message'),
  callEcho: $('call-echo'),
  callAdmin: $('call-admin'),
  result: $('result'),
  version: $('version'),
};

const state = {
  mcpOAuth: null, // the loaded module
  client: null, // McpOAuthClient for the current URL and mode
  clientKey: '',
  tokens: undefined, // the stored tokens of `client`: undefined = not read yet, null = none
  tokensRead: null, // the pending storage read
  mcp: null, // the SDK Client once connected
  transport: null,
  callingTool: null, // set while a tool call has not yet caused progress events
  run: 0, // increases with every Connect/Forget; stale async work checks it
  abort: null, // AbortController of the running sign-in
};

// ---------- settings (sessionStorage) ----------

function readSettings() {
  try {
    return JSON.parse(sessionStorage.getItem(SETTINGS_KEY)) ?? {};
  } catch {
    return {};
  }
}

function saveSettings() {
  try {
    sessionStorage.setItem(SETTINGS_KEY, JSON.stringify({ mcpUrl: els.url.value.trim(), mode: currentMode() }));
  } catch {
    // sessionStorage blocked: the page still works, it just forgets.
  }
}

function currentMode() {
  return document.querySelector('input[name=mode]:checked')?.value === 'redirect' ? 'redirect' : 'popup';
}

function setMode(mode) {
  for (const input of document.querySelectorAll('input[name=mode]')) {
    input.checked = input.value === mode;
  }
}

// The redirect mode's redirect URI: this page without query or fragment.
function pageUrl() {
  return location.origin + location.pathname;
}

// ---------- status, errors, results ----------

function setStatus(kind, text) {
  els.status.dataset.state = kind;
  els.status.textContent = text;
}

function showError(err, context) {
  console.error(context ?? 'error', err);
  const e = findCodedError(err);
  const parts = [];
  if (context) parts.push(context + ':');
  if (e?.code && typeof e.code === 'string') parts.push(`[${e.code}]`);
  else if (err?.name && err.name !== 'Error') parts.push(`[${err.name}]`);
  parts.push(String((e ?? err)?.message ?? err));
  if (e?.oauthError) {
    let server = `The server said: ${e.oauthError}`;
    if (e.oauthErrorDescription) server += ` (${e.oauthErrorDescription})`;
    parts.push(server + '.');
  }
  if (e?.status) parts.push(`HTTP ${e.status}.`);
  els.error.textContent = parts.join(' ');
  els.error.dataset.code = e?.code ?? '';
  els.error.hidden = false;
}

// The McpOAuthError, possibly wrapped by the SDK in a cause chain.
function findCodedError(err) {
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (e.name === 'McpOAuthError' || (typeof e.code === 'string' && e.code)) return e;
  }
  return null;
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
  delete els.error.dataset.code;
}

function showResult(text) {
  els.result.textContent = text;
  els.result.hidden = false;
}

// ---------- progress ----------

const STEP_LABELS = {
  discovery: 'Discovery',
  registration: 'Client registration',
  authorization: 'Sign-in',
  token: 'Token exchange',
  refresh: 'Token refresh',
  mcp: 'MCP session',
};

function resetProgress() {
  els.progress.replaceChildren();
  els.progressEmpty.hidden = false;
}

function addProgress(step, detail, issuer) {
  for (const li of els.progress.querySelectorAll('li.active')) {
    li.classList.replace('active', 'done');
  }
  const li = document.createElement('li');
  li.className = 'active';
  li.dataset.step = step;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  const label = document.createElement('strong');
  label.textContent = STEP_LABELS[step] ?? step;
  li.append(time, ' ', label);
  if (detail) {
    const d = document.createElement('span');
    d.className = 'detail';
    d.textContent = detail;
    li.append(' ', d);
  }
  if (issuer) {
    const i = document.createElement('span');
    i.className = 'issuer';
    i.textContent = issuer;
    li.append(' ', i);
  }
  els.progress.append(li);
  els.progressEmpty.hidden = true;
}

function finishProgress(ok) {
  for (const li of els.progress.querySelectorAll('li.active')) {
    li.classList.replace('active', ok ? 'done' : 'failed');
  }
}

function onProgress(e) {
  const d = e.detail ?? {};
  if (state.callingTool) {
    // The first sign-in step during a tool call: a step-up or a refresh.
    const li = document.createElement('li');
    li.className = 'group';
    li.textContent = `During the ${state.callingTool} call:`;
    els.progress.append(li);
    state.callingTool = null;
  }
  addProgress(d.step, d.detail, d.issuer);
}

// ---------- tokens ----------

function onTokenChange(e) {
  setTokens(e.detail ?? null);
}

function setTokens(tokens) {
  state.tokens = tokens;
  renderTokens();
}

async function readTokens(client) {
  const read = client.storage.getTokens().then(
    (t) => {
      if (state.client === client) setTokens(t ?? null);
      return t ?? null;
    },
    (err) => {
      if (state.client === client) showError(err, 'Reading the stored token failed');
      return null;
    },
  );
  state.tokensRead = read;
  return read;
}

function nowS() {
  return Math.floor(Date.now() / 1000);
}

// Synchronous: Connect must decide whether to sign in before any await.
function hasUsableToken() {
  const t = state.tokens;
  if (!t) return false;
  if (t.refresh_token) return true; // the module refreshes it when needed
  return !t.expires_at || t.expires_at > nowS() + EXPIRY_MARGIN_S;
}

function renderTokens() {
  const t = state.tokens;
  els.token.hidden = !t;
  els.tokenNone.hidden = !!t;
  if (!t) {
    els.tokenCountdown.textContent = '';
    return;
  }
  // Only metadata: never access_token or refresh_token values.
  els.tokenIssuer.textContent = t.issuer ?? '—';
  els.tokenScopes.replaceChildren();
  const scopes = (t.scope ?? '').split(' ').filter(Boolean);
  if (scopes.length === 0) {
    els.tokenScopes.textContent = '(not stated)';
  }
  for (const s of scopes) {
    const code = document.createElement('code');
    code.className = 'scope';
    code.textContent = s;
    els.tokenScopes.append(code, ' ');
  }
  els.tokenExpiry.textContent = t.expires_at ? new Date(t.expires_at * 1000).toLocaleString() : 'no expiry stated';
  els.tokenRefresh.textContent = t.refresh_token ? 'yes' : 'no';
  els.tokenResource.textContent = t.resource ?? '—';
  els.tokenClient.textContent = t.client_id ?? '—';
  renderCountdown();
}

function renderCountdown() {
  const t = state.tokens;
  if (!t?.expires_at) {
    els.tokenCountdown.textContent = '';
    return;
  }
  const left = t.expires_at - nowS();
  const fmt = (s) => {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  };
  els.tokenCountdown.dataset.expired = left <= 0 ? 'true' : 'false';
  els.tokenCountdown.textContent = left > 0 ? `(in ${fmt(left)})` : `(expired ${fmt(-left)} ago${t.refresh_token ? '; refreshed on next use' : ''})`;
}

// ---------- diagnosis and requests (an inspector's view) ----------

// el makes an element with text (never HTML) and a class.
function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

async function diagnose() {
  clearError();
  const mcpUrl = els.url.value.trim();
  els.diagnose.disabled = true;
  els.diagnosisSummary.hidden = false;
  els.diagnosisSummary.textContent = 'Checking…';
  els.diagnosis.replaceChildren();
  try {
    const report = await state.mcpOAuth.diagnose(mcpUrl, { redirectUri: new URL('../callback.html', location.href).href });
    const counts = {};
    for (const s of report.steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
    els.diagnosisSummary.textContent = `${report.ok ? 'A sign-in can work.' : 'A sign-in would fail.'} ` +
      ['pass', 'warn', 'fail', 'skip'].filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(', ') + ` (${Math.round(report.ms)} ms)`;
    els.diagnosisSummary.dataset.ok = String(report.ok);
    for (const s of report.steps) {
      const li = el('li', undefined, `check ${s.status}`);
      li.append(el('span', s.status, 'badge'), el('strong', ' ' + s.title));
      if (s.httpStatus) li.append(el('span', ` HTTP ${s.httpStatus}`, 'muted small'));
      li.append(el('div', s.detail, 'detail'));
      if (s.url) li.append(el('div', s.url, 'url small'));
      if (s.spec) li.append(el('div', s.spec, 'muted small'));
      els.diagnosis.append(li);
    }
    els.diagnosisEmpty.hidden = true;
  } catch (e) {
    els.diagnosisSummary.textContent = '';
    showError(e, 'Diagnose failed');
  } finally {
    els.diagnose.disabled = false;
  }
}

let traceStart = 0;

function clearTrace() {
  els.trace.replaceChildren();
  els.traceEmpty.hidden = false;
  traceStart = 0;
}

function onTrace(e) {
  const t = e.detail;
  const now = performance.now();
  if (!traceStart) traceStart = now - t.ms;
  const li = el('li', undefined, t.status >= 400 || t.status === 0 ? 'request bad' : 'request');
  li.append(
    el('span', `+${Math.round(now - t.ms - traceStart)} ms`, 'at'),
    el('span', t.step, 'step'),
    el('span', t.status ? String(t.status) : (t.error || 'no answer'), 'code'),
    el('span', `${Math.round(t.ms)} ms`, 'ms'),
    el('span', `${t.method} ${t.url}`, 'url'),
  );
  if (t.headers?.['www-authenticate']) li.title = `WWW-Authenticate: ${t.headers['www-authenticate']}`;
  els.trace.append(li);
  els.traceEmpty.hidden = true;
}

// ---------- the client ----------

function detachClient() {
  if (!state.client) return;
  state.client.removeEventListener('progress', onProgress);
  state.client.removeEventListener('tokenchange', onTokenChange);
  state.client.removeEventListener('trace', onTrace);
  state.client = null;
  state.clientKey = '';
  state.tokens = undefined;
  renderTokens();
}

// The client for the URL and mode on the form; created on change. Throws
// McpOAuthError (invalid_config, insecure_url) for a bad URL.
function currentClient() {
  const mcpUrl = els.url.value.trim();
  const mode = currentMode();
  const key = `${mode} ${mcpUrl}`;
  if (state.client && state.clientKey === key) return state.client;
  detachClient();
  const redirectUri = mode === 'popup' ? new URL('../callback.html', location.href).href : pageUrl();
  const client = state.mcpOAuth.createClient({
    mcpUrl,
    redirectUri,
    mode,
    clientName: 'mcp-oauth-wasm demo',
  });
  client.addEventListener('progress', onProgress);
  client.addEventListener('tokenchange', onTokenChange);
  client.addEventListener('trace', onTrace);
  state.client = client;
  state.clientKey = key;
  readTokens(client);
  return client;
}

function disconnect() {
  const { mcp } = state;
  state.mcp = null;
  state.transport = null;
  if (mcp) mcp.close().catch(() => {});
  renderTools(null);
}

function setConnectedUi(connected) {
  els.callEcho.disabled = !connected;
  els.callAdmin.disabled = !connected;
}

function renderTools(tools) {
  els.tools.replaceChildren();
  els.toolsEmpty.hidden = !!tools?.length;
  setConnectedUi(!!tools);
  if (!tools) return;
  for (const tool of tools) {
    const li = document.createElement('li');
    li.dataset.tool = tool.name;
    const name = document.createElement('code');
    name.className = 'tool-name';
    name.textContent = tool.name;
    li.append(name);
    if (tool.description) {
      const desc = document.createElement('span');
      desc.className = 'tool-desc';
      desc.textContent = tool.description;
      li.append(' ', desc);
    }
    els.tools.append(li);
  }
}

// Connect: the click handler. When no usable token is stored it starts the
// sign-in at once, before any await, so that the popup opens inside the
// user's click (popup blockers).
function onConnect(event) {
  event.preventDefault();
  clearError();
  if (!state.mcpOAuth) return;
  saveSettings();
  let client;
  try {
    client = currentClient();
  } catch (err) {
    showError(err);
    setStatus('error', 'Not connected');
    return;
  }
  const run = ++state.run;
  state.abort?.abort();
  state.abort = null;
  disconnect();
  resetProgress();
  clearTrace();
  els.result.hidden = true;

  let signIn = null;
  if (state.tokens === undefined || !hasUsableToken()) {
    const abort = new AbortController();
    state.abort = abort;
    setStatus('busy', currentMode() === 'popup' ? 'Signing in: finish in the popup window…' : 'Signing in: going to the authorization server…');
    try {
      signIn = client.authorize({ signal: abort.signal }); // popup: opened right here
    } catch (err) {
      signIn = Promise.reject(err);
    }
    // A way out of a sign-in the page cannot see the end of (a popup the
    // user closed while it was cross-origin reads like one severed by COOP).
    els.cancel.hidden = false;
    signIn.finally(() => { if (state.abort === abort) els.cancel.hidden = true; }).catch(() => {});
  }
  connectMcp(client, run, signIn);
}

async function connectMcp(client, run, signIn) {
  try {
    if (signIn) {
      await signIn; // redirect mode: the page navigates away and this never settles
      if (run !== state.run) return;
      state.abort = null;
    }
    setStatus('busy', 'Connecting to the MCP server…');
    const transport = new StreamableHTTPClientTransport(new URL(els.url.value.trim()), { fetch: client.fetch });
    const mcp = new Client(CLIENT_INFO);
    await mcp.connect(transport);
    if (run !== state.run) {
      mcp.close().catch(() => {});
      return;
    }
    state.mcp = mcp;
    state.transport = transport;
    const { tools } = await mcp.listTools();
    if (run !== state.run) return;
    renderTools(tools);
    addProgress('mcp', `initialize, tools/list: ${tools.length} tool${tools.length === 1 ? '' : 's'}`);
    finishProgress(true);
    const server = mcp.getServerVersion();
    setStatus('connected', `Connected to ${server?.name ?? 'the MCP server'}${server?.version ? ' ' + server.version : ''}`);
  } catch (err) {
    if (run !== state.run) return;
    finishProgress(false);
    disconnect();
    showError(err, 'Connecting failed');
    setStatus('error', 'Not connected');
  } finally {
    if (state.client === client) readTokens(client);
  }
}

async function callTool(name, args) {
  const mcp = state.mcp;
  if (!mcp) return;
  clearError();
  showResult(`Calling ${name}…`);
  const run = state.run;
  state.callingTool = name;
  try {
    const res = await mcp.callTool({ name, arguments: args });
    if (run !== state.run) return;
    const text = (res.content ?? [])
      .map((c) => (c.type === 'text' ? c.text : JSON.stringify(c)))
      .join('\n');
    showResult(`${name}${res.isError ? ' (tool error)' : ''}: ${text || JSON.stringify(res.structuredContent ?? res)}`);
    finishProgress(true);
  } catch (err) {
    if (run !== state.run) return;
    finishProgress(false);
    showResult(`${name} failed.`);
    showError(err, `Calling ${name} failed`);
  } finally {
    if (state.callingTool === name) state.callingTool = null;
    if (state.client) readTokens(state.client);
  }
}

// endSession runs a Sign out or a Forget: it stops what runs, closes the
// MCP session, then lets work end the client's sign-in and say what it did.
async function endSession(work, failure) {
  clearError();
  if (!state.mcpOAuth) return;
  let client;
  try {
    client = currentClient();
  } catch (err) {
    showError(err);
    return;
  }
  state.run++;
  state.abort?.abort();
  state.abort = null;
  const transport = state.transport;
  disconnect();
  resetProgress();
  els.result.hidden = true;
  try {
    await transport?.terminateSession().catch(() => {});
    const status = await work(client);
    setTokens(null);
    setStatus('idle', status);
  } catch (err) {
    showError(err, failure);
  }
}

// Sign out: revoke the tokens at the authorization server and forget them
// (the registration stays).
const onSignOut = () => endSession(async (client) => {
  const { revoked, reason } = await client.signOut();
  return revoked ? 'Signed out: the authorization server revoked the tokens.' : `Signed out here; not revoked: ${reason}`;
}, 'Signing out failed');

// Forget this server: tokens, registration and discovery results.
const onForget = () => endSession(async (client) => {
  await client.clear();
  return 'Forgot this server: its tokens, registration and discovery results are gone.';
}, 'Forgetting failed');

function onServerOrModeChange() {
  saveSettings();
  if (!state.mcpOAuth) return;
  state.run++;
  state.abort?.abort();
  state.abort = null;
  disconnect();
  clearError();
  try {
    currentClient();
    setStatus('idle', 'Not connected');
  } catch (err) {
    detachClient();
    showError(err);
  }
}

// ---------- start ----------

async function main() {
  const settings = readSettings();
  setMode(settings.mode === 'redirect' ? 'redirect' : 'popup');
  let config = {};
  try {
    const res = await fetch(new URL('config.json', location.href), { cache: 'no-store' });
    if (res.ok) config = await res.json();
  } catch {
    // Served by something else than cmd/demo: type a URL.
  }
  // ?mcp=go picks the MCP server on the Go SDK (cmd/demo -go-mcp), ?mcp=ts
  // the TypeScript SDK one; otherwise the URL used last in this tab.
  const wanted = { go: config.goMcpUrl, ts: config.mcpUrl }[new URLSearchParams(location.search).get('mcp')];
  els.url.value = wanted || settings.mcpUrl || config.mcpUrl || '';
  const servers = document.getElementById('mcp-urls');
  for (const u of [config.mcpUrl, config.goMcpUrl]) {
    if (typeof u !== 'string' || !u) continue;
    const option = document.createElement('option');
    option.value = u;
    servers.append(option);
  }

  els.form.addEventListener('submit', onConnect);
  els.forget.addEventListener('click', onForget);
  els.signOut.addEventListener('click', onSignOut);
  els.diagnose.addEventListener('click', diagnose);
  els.cancel.addEventListener('click', () => {
    els.cancel.hidden = true;
    state.abort?.abort();
  });
  els.url.addEventListener('change', onServerOrModeChange);
  for (const input of document.querySelectorAll('input[name=mode]')) {
    input.addEventListener('change', onServerOrModeChange);
  }
  els.callEcho.addEventListener('click', () => callTool('echo', { message: els.echoMessage.value }));
  els.callAdmin.addEventListener('click', () => callTool('admin_stats', {}));
  setInterval(renderCountdown, 1000);

  try {
    state.mcpOAuth = await load();
  } catch (err) {
    showError(err, 'Loading mcp-oauth.js failed');
    setStatus('error', 'The sign-in module did not load.');
    return;
  }
  els.version.textContent = `mcp-oauth-wasm ${state.mcpOAuth.version}`;
  els.connect.disabled = false;
  els.forget.disabled = false;
  els.signOut.disabled = false;
  els.diagnose.disabled = false;

  // Redirect mode, on return from the authorization server.
  let result = null;
  let callbackFailed = false;
  try {
    result = await state.mcpOAuth.handleRedirectCallback(location.href);
  } catch (err) {
    callbackFailed = true;
    setMode('redirect');
    saveSettings();
    showError(err, 'Completing the sign-in failed');
    setStatus('error', 'Not connected');
  }
  if (result) {
    els.url.value = result.mcpUrl;
    setMode('redirect');
    saveSettings();
    let client;
    try {
      client = currentClient();
    } catch (err) {
      showError(err);
      return;
    }
    setTokens(result.tokens);
    resetProgress();
    addProgress('authorization', 'back from the authorization server; signed in', result.tokens?.issuer);
    connectMcp(client, ++state.run, null);
    return;
  }

  // A returning user with a stored token connects without signing in.
  let client;
  try {
    client = currentClient();
  } catch {
    setStatus('idle', 'Not connected');
    return;
  }
  const run = state.run;
  await state.tokensRead;
  if (callbackFailed || run !== state.run || state.client !== client) return; // the user acted meanwhile
  if (hasUsableToken()) {
    connectMcp(client, ++state.run, null);
  } else {
    setStatus('idle', 'Not connected');
  }
}

main();
