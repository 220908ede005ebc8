// End-to-end tests of the admin page (web/) in headless Chromium, against the real otaserver
// binary with real state: a fresh data directory, a token from the local CLI, the `expo export`
// fixture published through the CLI, and manifest requests made the way expo-updates makes them.
//
//   OTASERVER_BIN           the built otaserver binary
//   OTA_EXPO_FIXTURE_DIR    the expo export fixture (update1/, update2/, expoConfig.json); read only
//   OTA_BROWSER_ARTIFACTS   where screenshots go (<view>.png)
//
// Run: ctest -L browser   (or: cd tests/browser && OTASERVER_BIN=... node --test admin.test.mjs)
// Needs /usr/bin/chromium and tests/browser/node_modules (npm ci): `bash dev/deps.sh --test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const execFileP = promisify(execFile);
const HERE = path.dirname(new URL(import.meta.url).pathname);
const CHROMIUM = '/usr/bin/chromium';
const BIN = process.env.OTASERVER_BIN;
const FIXTURE = process.env.OTA_EXPO_FIXTURE_DIR;
const ARTIFACTS = process.env.OTA_BROWSER_ARTIFACTS || path.join(os.tmpdir(), 'otaserver-browser-artifacts');
const APP = 'shop';
const RV = '1.0.0';
const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const MSG_FIRST = 'first release: welcome screen';
const MSG_THIRD = 'third release: fix the login screen';
const TEST_TIMEOUT = 60_000;

const env = {
  tmp: null, data: null, server: null, port: 0, base: '', token: '', stderr: [],
  browser: null, page: null, console: [], dialogs: [], pageErrors: [], clientIds: [],
};

// ---- prerequisites ----------------------------------------------------------------------------

const SETUP_HINT = 'install the browser test dependencies with `bash dev/deps.sh --test` '
  + '(Debian chromium, and `npm ci` in tests/browser)';

async function loadPlaywright() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: ${SETUP_HINT}`);
  if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
    throw new Error(`tests/browser/node_modules/playwright-core is missing: ${SETUP_HINT}`);
  }
  return import('playwright-core');
}

function requireEnv() {
  if (!BIN || !fs.existsSync(BIN)) throw new Error(`OTASERVER_BIN must name the built otaserver binary (got ${BIN || 'nothing'}); run through ctest`);
  if (!FIXTURE || !fs.existsSync(path.join(FIXTURE, 'update1', 'metadata.json'))) {
    throw new Error(`OTA_EXPO_FIXTURE_DIR must name the expo export fixture (got ${FIXTURE || 'nothing'})`);
  }
}

// ---- the server and the CLI -------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, { timeoutMs = 15_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(intervalMs);
  }
}

async function startServer() {
  const portFile = path.join(env.tmp, 'port');
  const child = spawn(BIN, ['serve', '--data', env.data, '--listen', '127.0.0.1:0', '--port-file', portFile],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  env.server = child;
  child.stdout.on('data', (d) => env.stderr.push(String(d)));
  child.stderr.on('data', (d) => { env.stderr.push(String(d)); if (env.stderr.length > 4000) env.stderr.splice(0, 2000); });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  await waitFor('the server to write its port', () => {
    if (exited) throw new Error(`otaserver exited during startup (${JSON.stringify(exited)}):\n${serverLog()}`);
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8') : '';
    return text.endsWith('\n') ? Number(text.trim()) : 0;
  }, { timeoutMs: 20_000 }).then((p) => { env.port = p; });
  env.base = `http://127.0.0.1:${env.port}`;
  await waitFor('/healthz', async () => (await fetch(`${env.base}/healthz`)).ok, { timeoutMs: 20_000 });
}

async function stopServer() {
  const child = env.server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM'); // only the server this file started, by its pid
  const timer = setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 10_000);
  await gone;
  clearTimeout(timer);
}

function serverLog() { return env.stderr.join('').split('\n').slice(-40).join('\n'); }

async function cli(args, { withServer = true, timeoutMs = 60_000 } = {}) {
  const full = withServer ? [...args, '--server', env.base] : args;
  try {
    const { stdout } = await execFileP(BIN, full, {
      env: { ...process.env, OTA_TOKEN: env.token, PATH: process.env.PATH }, timeout: timeoutMs, maxBuffer: 8 << 20,
    });
    return stdout;
  } catch (e) {
    throw new Error(`otaserver ${args.join(' ')} failed (${e.code}): ${e.stderr || e.message}`);
  }
}

/** The HTTP API with the bearer token, from node (not the browser). */
async function apiGet(p, token = env.token) {
  const res = await fetch(`${env.base}${p}`, { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.text();
  return { status: res.status, body: body ? JSON.parse(body) : null };
}

async function listUpdates(query = '') {
  const r = await apiGet(`/api/v1/apps/${APP}/updates${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.updates;
}

/** A manifest request as expo-updates sends it. */
async function manifestRequest({ platform = 'ios', runtimeVersion = RV, clientId, currentUpdateId, failed } = {}) {
  const headers = {
    'expo-protocol-version': '1', 'expo-platform': platform, 'expo-runtime-version': runtimeVersion,
    'expo-channel-name': 'production', accept: 'multipart/mixed,application/expo+json,application/json',
  };
  if (clientId) headers['eas-client-id'] = clientId;
  if (currentUpdateId) headers['expo-current-update-id'] = currentUpdateId;
  if (failed) headers['expo-recent-failed-update-ids'] = `"${failed}"`;
  const res = await fetch(`${env.base}/apps/${APP}/manifest`, { headers });
  await res.arrayBuffer();
  return res.status;
}

// ---- the browser ------------------------------------------------------------------------------

async function shot(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await env.page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Runs a test body; on failure saves a screenshot and the server's last log lines. */
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    try { await shot(`FAILED-${name}`); } catch { /* the page may be gone */ }
    e.message += `\n--- otaserver log (tail) ---\n${serverLog()}\n--- browser console ---\n${env.console.slice(-20).join('\n')}`;
    throw e;
  }
}

const tid = (id) => `[data-testid="${id}"]`;

async function go(hash, readyTestId) {
  await env.page.goto(`${env.base}/admin/${hash}`);
  if (readyTestId) await env.page.waitForSelector(tid(readyTestId));
}

/** Clicks the dialog's confirm button after optionally filling fields, waits for the toast. */
async function confirmAndToast(fill = {}, toastText, screenshot = null) {
  const page = env.page;
  const dlg = page.locator('dialog[open]');
  await dlg.waitFor();
  for (const [testid, value] of Object.entries(fill)) {
    const input = dlg.locator(tid(testid));
    if (await input.evaluate((n) => n.tagName) === 'SELECT') await input.selectOption(value);
    else await input.fill(value);
  }
  if (screenshot) await shot(screenshot);
  await dlg.locator(tid('confirm-ok')).click();
  await page.locator(tid('toast'), { hasText: toastText }).first().waitFor();
  await dlg.waitFor({ state: 'detached' });
}

function cspViolations() {
  return env.console.filter((m) => /Content Security Policy|Refused to (execute|load|apply|evaluate|connect|frame)/i.test(m));
}

// ---- setup and teardown -----------------------------------------------------------------------

before(async () => {
  const { chromium } = await loadPlaywright();
  requireEnv();
  // Screenshots from an earlier run would mislead: start the artifacts directory afresh.
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
  env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-browser-'));
  env.data = path.join(env.tmp, 'data');

  await startServer(); // the first start creates the data directory
  env.token = (await cli(['token', 'create', '--data', env.data, '--name', 'browser', '--scope', 'admin'], { withServer: false })).trim();
  assert.match(env.token, /^ota_/, 'token create prints the token');

  await cli(['app', 'create', APP]);
  const publish = (update, message) => cli(['publish', '--dist', path.join(FIXTURE, update), '--app', APP,
    '--runtime-version', RV, '--expo-config', path.join(FIXTURE, 'expoConfig.json'), '--message', message, '--json']);
  await publish('update1', MSG_FIRST);
  await publish('update2', XSS);
  await publish('update2', MSG_THIRD);
  const patchFile = path.join(env.tmp, 'fix.js');
  fs.writeFileSync(patchFile, 'require("UIView"); defineClass("AppDelegate", {});\n');
  await cli(['patch', 'publish', '--app', APP, '--platform', 'ios', '--version', RV, '--build', '1',
    '--file', patchFile, '--message', 'fix crash on launch']);

  // Devices checking in: adoption counts them; 0.9.0 has nothing published (the explainer's radar).
  const newest = await listUpdates();
  for (let i = 0; i < 6; i++) {
    const clientId = randomUUID();
    env.clientIds.push(clientId);
    const platform = i % 2 ? 'android' : 'ios';
    assert.equal(await manifestRequest({ platform, clientId }), 200, 'manifest request');
    const current = newest.find((u) => u.platform === platform).id;
    await manifestRequest({ platform, clientId, currentUpdateId: current });
  }
  await manifestRequest({ platform: 'android', runtimeVersion: '0.9.0', clientId: randomUUID() });
  // One device reports the newest ios update as failed to launch.
  const failedIos = newest.find((u) => u.platform === 'ios').id;
  env.failedUpdateId = failedIos;
  await manifestRequest({ platform: 'ios', clientId: env.clientIds[0], failed: failedIos });

  env.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  env.page = await context.newPage();
  env.page.setDefaultTimeout(15_000);
  env.page.on('console', (m) => env.console.push(`${m.type()}: ${m.text()}`));
  env.page.on('pageerror', (e) => env.pageErrors.push(String(e)));
  env.page.on('dialog', (d) => { env.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
}, { timeout: 120_000 });

after(async () => {
  try { if (env.browser) await env.browser.close(); } catch { /* closing anyway */ }
  await stopServer();
  if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
}, { timeout: 30_000 });

// ---- tests ------------------------------------------------------------------------------------

test('sign in with a token: the apps list shows the app, the updates view lists the fixture', { timeout: TEST_TIMEOUT }, () => step('signin', async () => {
  const page = env.page;
  await page.goto(`${env.base}/admin/`);
  await page.waitForSelector(tid('signin-token'));
  await page.fill(tid('signin-token'), 'ota_not-a-real-token');
  await page.click(tid('signin-submit'));
  assert.match(await page.locator(tid('banner')).innerText(), /refused/i, 'a wrong token is refused with a message');
  await shot('signin');
  await page.fill(tid('signin-token'), env.token);
  await page.click(tid('signin-submit'));
  await page.waitForSelector(`${tid('app-row')}[data-app="${APP}"]`);
  await page.locator(tid('whoami-name'), { hasText: 'browser' }).waitFor();
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
  await shot('apps');

  await page.click(`${tid('app-row')}[data-app="${APP}"] ${tid('app-link')}`);
  await page.waitForSelector(tid('updates-table'));
  const rows = page.locator(tid('update-row'));
  const api = await listUpdates();
  assert.equal(await rows.count(), api.length, 'one row per update');
  const platforms = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.platform));
  assert.ok(platforms.includes('ios') && platforms.includes('android'), `platforms: ${platforms}`);
  const text = await page.locator(tid('updates-table')).innerText();
  assert.ok(text.includes(MSG_FIRST) && text.includes(MSG_THIRD), 'messages shown');
  assert.ok(text.includes(RV), 'runtime version shown');
  assert.match(text, /1\.7 MiB/, 'sizes shown human-readable');
  await shot('updates');

  // Filters go into the URL and the API query.
  await page.selectOption(tid('filter-platform'), 'ios');
  await page.click(`${tid('updates-filters')} button[type=submit]`);
  await page.waitForURL(/platform=ios/);
  await waitFor('ios-only rows', async () => {
    const p = await page.locator(tid('update-row')).evaluateAll((trs) => trs.map((tr) => tr.dataset.platform));
    return p.length === api.length / 2 && p.every((x) => x === 'ios');
  }, { timeoutMs: 5000 });
}));

test('change a rollout to 10% through the UI', { timeout: TEST_TIMEOUT }, () => step('rollout', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/updates`, 'updates-table');
  const newestGroup = (await listUpdates())[0].group_id;
  await page.locator(`${tid('update-row')}[data-group-id="${newestGroup}"] ${tid('rollout-btn')}`).click();
  await confirmAndToast({ 'rollout-input': '10' }, 'Rollout set to 10%', 'rollout-dialog');
  const changed = (await listUpdates()).filter((u) => u.group_id === newestGroup);
  assert.equal(changed.length, 2);
  for (const u of changed) assert.equal(u.rollout_percent, 10, `${u.platform} rollout_percent`);
  await page.locator(`${tid('update-row')}[data-group-id="${newestGroup}"] ${tid('update-rollout')}`, { hasText: '10%' }).waitFor();
  await shot('updates-rollout');
}));

test('deactivate and activate an update group', { timeout: TEST_TIMEOUT }, () => step('deactivate', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/updates`, 'updates-table');
  const group = (await listUpdates()).find((u) => u.message === XSS).group_id;
  const state = async () => (await listUpdates()).filter((u) => u.group_id === group).map((u) => u.state);
  await page.locator(`${tid('update-row')}[data-group-id="${group}"] ${tid('toggle-active-btn')}`).click();
  await confirmAndToast({}, 'Update deactivated');
  assert.deepEqual(await state(), ['deactivated', 'deactivated']);
  await page.locator(`${tid('update-row')}[data-group-id="${group}"] ${tid('toggle-active-btn')}`, { hasText: 'Activate' }).click();
  await page.locator(tid('toast'), { hasText: 'Update activated' }).first().waitFor();
  assert.deepEqual(await state(), ['active', 'active']);
}));

test('republish an older update (roll back), then roll back to embedded', { timeout: TEST_TIMEOUT }, () => step('rollback', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/updates`, 'updates-table');
  const before = await listUpdates();
  const oldest = before.find((u) => u.message === MSG_FIRST);
  await page.locator(`${tid('update-row')}[data-group-id="${oldest.group_id}"] ${tid('republish-btn')}`).click();
  await confirmAndToast({}, 'Republished');
  const afterRepublish = await listUpdates();
  const top = afterRepublish[0];
  assert.notEqual(top.group_id, before[0].group_id, 'a new newest group');
  assert.notEqual(top.group_id, oldest.group_id);
  assert.equal(top.kind, 'update');
  assert.ok(top.message.includes(MSG_FIRST), `republished message: ${top.message}`);
  assert.ok(Date.parse(top.created_at) > Date.parse(before[0].created_at), 'fresh createdAt');
  assert.equal(afterRepublish.filter((u) => u.group_id === top.group_id).length, 2, 'both platforms');
  await page.locator(`${tid('update-row')}[data-group-id="${top.group_id}"]`).first().waitFor();

  await page.click(tid('rollback-embedded-btn'));
  await confirmAndToast({ 'rollback-runtime-input': RV, 'rollback-platform-select': 'all' }, 'Rolled back to the embedded update');
  const afterRollback = await listUpdates();
  const rollbacks = afterRollback.filter((u) => u.kind === 'rollback');
  assert.equal(rollbacks.length, 2, 'a rollback entry per platform');
  assert.equal(afterRollback[0].kind, 'rollback', 'the rollback is the newest');
  assert.deepEqual(new Set(rollbacks.map((u) => u.platform)), new Set(['ios', 'android']));
  await page.locator(`${tid('update-row')}[data-kind="rollback"]`).first().waitFor();
  await shot('updates-rollback');
}));

test('a message with markup is shown as text and never runs', { timeout: TEST_TIMEOUT }, () => step('xss', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/updates`, 'updates-table');
  const messages = await page.locator(tid('update-message')).allTextContents();
  assert.ok(messages.includes(XSS), `the payload appears literally; saw ${JSON.stringify(messages)}`);
  assert.equal(await page.locator('#main img').count(), 0, 'no <img> was created from the message');
  assert.equal(await page.locator('#main script').count(), 0, 'no <script> was created from the message');
  // Visit every view that shows messages.
  for (const [hash, ready] of [[`#/apps/${APP}`, 'view-overview'], [`#/apps/${APP}/adoption`, 'view-adoption'],
    [`#/apps/${APP}/explain`, 'view-explain']]) {
    await go(hash, ready);
    await sleep(200);
  }
  assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined', 'window.__xss stays undefined');
  assert.deepEqual(env.dialogs, [], 'no alert/confirm/prompt dialog fired');
  assert.deepEqual(cspViolations(), [], 'no CSP violations');
  assert.deepEqual(env.pageErrors, [], 'no uncaught page errors');
}));

test('patches: revoke and unrevoke', { timeout: TEST_TIMEOUT }, () => step('patches', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/patches`, 'patches-table');
  const row = page.locator(tid('patch-row')).first();
  assert.match(await row.innerText(), /fix crash on launch/);
  const patchUrl = `${env.base}/patches/${APP}/ios/${RV}/1`;
  assert.equal((await fetch(patchUrl)).status, 200, 'the patch is served before revocation');
  await row.locator(tid('revoke-btn')).click();
  await confirmAndToast({}, 'Patch revoked');
  let patches = (await apiGet(`/api/v1/apps/${APP}/patches`)).body.patches;
  assert.equal(patches[0].revoked, true);
  assert.equal((await fetch(patchUrl)).status, 404, 'a revoked patch answers 404');
  await shot('patches');
  await page.locator(tid('patch-row')).first().locator(tid('unrevoke-btn')).click();
  await page.locator(tid('toast'), { hasText: 'Patch restored' }).first().waitFor();
  patches = (await apiGet(`/api/v1/apps/${APP}/patches`)).body.patches;
  assert.equal(patches[0].revoked, false);
}));

test('channels: re-point with a split; a refused change shows the server\'s message', { timeout: TEST_TIMEOUT }, () => step('channels', async () => {
  const page = env.page;
  const channel = async () => (await apiGet(`/api/v1/apps/${APP}/channels`)).body.channels.find((c) => c.name === 'production');
  await go(`#/apps/${APP}/channels`, 'channels-table');
  const row = () => page.locator(`${tid('channel-row')}[data-channel="production"]`);
  assert.match(await row().innerText(), /production/);

  await row().locator(tid('repoint-btn')).click();
  await confirmAndToast({ 'channel-branch-input': 'production', 'channel-split-branch-input': 'beta', 'channel-split-percent-input': '10' },
    'now points at production', 'channel-dialog');
  assert.deepEqual((await channel()).split, { branch: 'beta', percent: 10 });
  await row().filter({ hasText: '10%' }).waitFor();
  await shot('channels');

  // The server refuses a bad branch name; its message reaches the user in a dismissable banner.
  await row().locator(tid('repoint-btn')).click();
  const dlg = page.locator('dialog[open]');
  await dlg.locator(tid('channel-branch-input')).fill('bad name!');
  await dlg.locator(tid('confirm-ok')).click();
  const banner = page.locator(tid('banner'));
  await banner.waitFor();
  assert.match(await banner.innerText(), /not valid/);
  await shot('error-banner');
  await banner.locator(tid('banner-dismiss')).click();
  await banner.waitFor({ state: 'detached' });
  assert.equal((await channel()).branch, 'production', 'nothing changed');

  // Back to no split, so later device checks all land on production.
  await row().locator(tid('repoint-btn')).click();
  await confirmAndToast({ 'channel-branch-input': 'production', 'channel-split-branch-input': '' }, 'now points at production');
  assert.equal((await channel()).split, undefined, 'the split is gone');

  await go(`#/apps/${APP}`, 'view-overview');
  await page.locator(tid('unserved-row'), { hasText: '0.9.0' }).first().waitFor();
  await shot('overview');
}));

test('a read-only token bound to the app sees no change buttons; revoking it ends the session', { timeout: TEST_TIMEOUT }, () => step('readonly', async () => {
  const readToken = (await cli(['token', 'create', '--data', env.data, '--name', 'viewer', '--scope', 'read', '--app', APP],
    { withServer: false })).trim();
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const messages = [];
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  try {
    await page.goto(`${env.base}/admin/#/apps/${APP}/updates`);
    await page.fill(tid('signin-token'), readToken);
    await page.click(tid('signin-submit'));
    await page.waitForSelector(tid('updates-table'));
    assert.match(await page.locator(tid('whoami')).innerText(), /viewer[\s\S]*read[\s\S]*shop/);
    assert.equal(await page.locator(tid('nav-tokens')).count(), 0, 'no Tokens link');
    assert.equal(await page.locator(tid('nav-audit')).count(), 0, 'no Audit link');
    for (const id of ['rollout-btn', 'republish-btn', 'toggle-active-btn', 'rollback-embedded-btn']) {
      assert.equal(await page.locator(tid(id)).count(), 0, `no ${id}`);
    }
    const tokenId = (await apiGet('/api/v1/tokens')).body.tokens.find((t) => t.name === 'viewer').id;
    const del = await fetch(`${env.base}/api/v1/tokens/${tokenId}`, { method: 'DELETE', headers: { Authorization: `Bearer ${env.token}` } });
    assert.equal(del.status, 200);
    await page.click(tid('nav-patches'));
    await page.waitForSelector(tid('signin-token'));
    assert.match(await page.locator(tid('banner')).innerText(), /sign in/i);
    assert.deepEqual(messages.filter((m) => /Content Security Policy|Refused to/i.test(m)), []);
  } finally {
    await context.close();
  }
}));

test('tokens: create (secret shown once) and revoke', { timeout: TEST_TIMEOUT }, () => step('tokens', async () => {
  const page = env.page;
  await go('#/tokens', 'tokens-table');
  await page.fill(tid('token-name'), 'ci-temp');
  await page.selectOption(tid('token-scope'), 'read');
  await page.click(tid('token-create'));
  const secret = await page.locator(tid('token-secret')).inputValue();
  assert.match(secret, /^ota_/);
  assert.match(await page.locator(tid('token-secret-box')).innerText(), /not be shown again/);
  await shot('tokens-created'); // the secret is revoked below and the server is thrown away
  assert.equal((await apiGet('/api/v1/apps', secret)).status, 200, 'the new token works');
  await page.click(tid('token-secret-done'));
  await go('#/tokens', 'tokens-table');
  assert.equal(await page.locator(tid('token-secret')).count(), 0, 'the secret is not shown again');
  assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere in the page');

  const row = page.locator(`${tid('token-row')}[data-token-name="ci-temp"]`);
  await row.locator(tid('token-revoke-btn')).click();
  await confirmAndToast({}, 'revoked');
  assert.equal((await apiGet('/api/v1/apps', secret)).status, 401, 'the revoked token is refused');
  const listed = (await apiGet('/api/v1/tokens')).body.tokens.find((t) => t.name === 'ci-temp');
  assert.ok(listed && listed.revoked_at_ms, 'listed as revoked');
  await page.locator(`${tid('token-row')}[data-token-name="ci-temp"]`, { hasText: 'revoked' }).waitFor();
  await shot('tokens');
}));

test('audit log lists the actions just done', { timeout: TEST_TIMEOUT }, () => step('audit', async () => {
  const page = env.page;
  await go('#/audit', 'audit-table');
  await page.locator(tid('audit-row')).first().waitFor();
  const api = (await apiGet('/api/v1/audit?limit=50')).body.entries;
  const shown = await page.locator(tid('audit-row')).evaluateAll((trs) => trs.map((tr) => tr.dataset.action));
  assert.deepEqual(shown, api.map((e) => e.action), 'the page shows the API\'s newest page');
  const all = shown.join(' ');
  for (const re of [/rollout|update/i, /republish/i, /rollback/i, /token/i, /patch/i]) {
    assert.match(all, re, `an audit entry for ${re}`);
  }
  await shot('audit');
}));

test('explain answers for a device', { timeout: TEST_TIMEOUT }, () => step('explain', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/explain`, 'explain-form');
  const clientId = env.clientIds[0];
  await page.selectOption(tid('explain-platform'), 'ios');
  await page.fill(tid('explain-runtime'), RV);
  await page.fill(tid('explain-channel'), 'production');
  await page.fill(tid('explain-client'), clientId);
  await page.click(tid('explain-submit'));
  await page.waitForSelector(tid('explain-summary'));
  const q = new URLSearchParams({ platform: 'ios', runtime_version: RV, channel: 'production', current_update_id: '',
    embedded_update_id: '', client_id: clientId, protocol_version: '1' });
  const api = await apiGet(`/api/v1/apps/${APP}/explain?${q}`);
  assert.equal(api.status, 200, JSON.stringify(api.body));
  const summary = await page.locator(tid('explain-summary')).innerText();
  assert.ok(summary.includes(api.body.outcome), `outcome ${api.body.outcome} in "${summary}"`);
  assert.equal(await page.locator(`${tid('explain-steps')} li`).count(), api.body.steps.length);
  assert.ok(api.body.steps.length > 0);
  await page.waitForSelector(tid('explain-candidates'));
  // The radar: 0.9.0 was asked for and has nothing.
  const unserved = api.body.unserved_runtime_versions || [];
  if (unserved.length) {
    await page.locator(tid('unserved-row'), { hasText: '0.9.0' }).first().waitFor();
  }
  await shot('explain');

  // A device reporting a failed launch: the page sends the header's structured-field list.
  await page.fill(tid('explain-failed'), env.failedUpdateId);
  await page.click(tid('explain-submit'));
  await page.waitForURL(/recent_failed=/);
  q.set('recent_failed_update_ids', `"${env.failedUpdateId}"`);
  const api2 = await apiGet(`/api/v1/apps/${APP}/explain?${q}`);
  assert.equal(api2.status, 200, JSON.stringify(api2.body));
  await waitFor('the second explanation', async () =>
    (await page.locator(`${tid('explain-steps')} li`).count()) === api2.body.steps.length
    && (await page.locator(tid('explain-summary')).innerText()).includes(api2.body.summary), { timeoutMs: 5000 });
}));

test('adoption view draws an SVG chart from device check-ins', { timeout: TEST_TIMEOUT }, () => step('adoption', async () => {
  const page = env.page;
  // Counters are batched in memory; wait until the API reports the devices from setup.
  const data = await waitFor('adoption counts', async () => {
    const r = await apiGet(`/api/v1/apps/${APP}/adoption?days=14`);
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    const devices = r.body.updates.reduce((n, u) => n + ((u.totals && u.totals.devices) || 0), 0);
    return devices > 0 ? r.body : null;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  await go(`#/apps/${APP}/adoption`, 'adoption-chart');
  const chart = page.locator(`svg${tid('adoption-chart')}`);
  assert.equal(await chart.evaluate((n) => n.namespaceURI), 'http://www.w3.org/2000/svg');
  assert.ok(await chart.locator('rect.segment').count() >= 1, 'at least one bar segment');
  assert.ok(await chart.locator('.fail-mark').count() >= 1, 'the day with a failure report is marked');
  assert.ok(await page.locator(`${tid('chart-legend')} li`).count() >= 2, 'a legend');
  assert.equal(await page.locator(tid('adoption-row')).count(), data.updates.length + (data.patches || []).length);
  const failing = data.updates.filter((u) => u.totals.failures > 0);
  assert.ok(failing.length > 0, 'the failure report from setup is counted');
  assert.equal(await page.locator(`${tid('adoption-row')}.has-failures`).count(), failing.length, 'failures highlighted');
  await shot('adoption');
}));

test('CSRF: a change without X-CSRF-Token is refused; sign-out ends the session', { timeout: TEST_TIMEOUT }, () => step('csrf', async () => {
  const page = env.page;
  await go(`#/apps/${APP}/updates`, 'updates-table');
  const group = (await listUpdates('?limit=200')).find((u) => u.kind === 'update').group_id;
  const result = await page.evaluate(async ({ app, group }) => {
    const url = `/api/v1/apps/${app}/updates/${group}`;
    const without = await fetch(url, {
      method: 'PATCH', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ rollout_percent: 50 }),
    });
    const wrong = await fetch(url, {
      method: 'PATCH', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'not-the-token' },
      body: JSON.stringify({ rollout_percent: 50 }),
    });
    return { without: without.status, wrong: wrong.status, body: await without.text() };
  }, { app: APP, group });
  assert.equal(result.without, 403, `no CSRF header: ${result.body}`);
  assert.equal(result.wrong, 403, 'wrong CSRF header');

  await page.click(tid('signout'));
  await page.waitForSelector(tid('signin-token'));
  const status = await page.evaluate(async () => (await fetch('/api/v1/session', { credentials: 'same-origin' })).status);
  assert.equal(status, 401, 'GET /api/v1/session after sign-out');
  await page.reload();
  await page.waitForSelector(tid('signin-token'));
  assert.deepEqual(cspViolations(), [], 'no CSP violations during the whole run');
  assert.deepEqual(env.pageErrors, [], 'no uncaught page errors during the whole run');
}));
