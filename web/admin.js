// otaserver admin page: sign-in, a left nav, and one view per hash route.
//   #/apps                       apps
//   #/apps/<app>                 overview (channels, unserved runtime versions)
//   #/apps/<app>/channels|updates|patches|adoption|explain
//   #/tokens   #/audit
// Served under a strict CSP: no inline script or style, no eval, nothing from another origin.
import {
  el, clear, time, bytes, idCell, badge, num, detailText, api, qs, enc, setCsrf, onUnauthorized, ApiError,
} from './dom.js';
import { barChart, PALETTE } from './chart.js';

const $ = (id) => document.getElementById(id);
const state = { me: null, apps: null, seq: 0, lastApp: null };

// ---- feedback: banners, toasts, confirm dialog ------------------------------------------------

function showError(err) {
  if (err && err.handled) return; // a 401: the page is back at sign-in and has said so
  const message = err instanceof Error ? err.message : String(err);
  const banners = $('banners');
  // One banner per distinct message.
  for (const b of banners.children) if (b.dataset.message === message) return;
  const banner = el('div', { class: 'banner banner-error', role: 'alert', testid: 'banner', dataset: { message } },
    el('span', { class: 'banner-text' }, message),
    el('button', {
      type: 'button', class: 'ghost banner-close', 'aria-label': 'Dismiss', testid: 'banner-dismiss',
      onclick: () => banner.remove(),
    }, '×'));
  banners.append(banner);
}

function clearBanners() { $('banners').replaceChildren(); }

function toast(message) {
  const t = el('div', { class: 'toast', role: 'status', testid: 'toast' }, message);
  const box = $('toasts');
  box.append(t);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => t.remove(), 4000);
}

/**
 * An in-page modal. fields: [{name, label, type: 'text'|'number'|'select', value, options, min, max,
 * required, testid, hint, list}]. Resolves to the values (or {} without fields), or null if cancelled.
 */
function dialog({ title, body, ok = 'Confirm', danger = false, fields = [], testid = 'confirm-dialog' }) {
  fields = fields.filter(Boolean);
  return new Promise((resolve) => {
    const inputs = {};
    const rows = fields.map((f) => {
      let input;
      if (f.type === 'select') {
        input = el('select', { name: f.name, id: `dlg-${f.name}`, testid: f.testid },
          f.options.map(([v, label]) => el('option', { value: v, selected: String(f.value ?? '') === v }, label)));
      } else {
        input = el('input', {
          name: f.name, id: `dlg-${f.name}`, type: f.type || 'text', value: f.value ?? '', min: f.min, max: f.max,
          required: f.required, testid: f.testid, placeholder: f.placeholder, list: f.list, spellcheck: 'false',
        });
      }
      inputs[f.name] = input;
      return el('div', { class: 'field' },
        el('label', { for: `dlg-${f.name}` }, f.label), input, f.hint && el('small', { class: 'muted' }, f.hint));
    });
    const form = el('form', { method: 'dialog', class: 'dialog-form' },
      el('h2', {}, title),
      body && el('p', {}, body),
      rows,
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'button', class: 'ghost', value: 'cancel', testid: 'confirm-cancel', onclick: () => finish(null) }, 'Cancel'),
        el('button', { type: 'submit', class: danger ? 'danger' : 'primary', testid: 'confirm-ok' }, ok)));
    const dlg = el('dialog', { class: 'dialog', testid, 'aria-label': title }, form);
    let done = false;
    function finish(value) {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      const values = {};
      for (const [k, input] of Object.entries(inputs)) values[k] = input.value.trim();
      finish(values);
    });
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    document.body.append(dlg);
    dlg.showModal();
    const first = Object.values(inputs)[0];
    (first || form.querySelector('button[type=submit]')).focus();
  });
}

/** Runs a change, then a success toast and a reload; errors go to the banner. */
async function act(fn, success, reload) {
  try {
    await fn();
    toast(success);
  } catch (err) {
    showError(err);
  }
  if (reload) await reload();
}

// ---- small building blocks --------------------------------------------------------------------

function table(testid, headers, rows, empty = 'Nothing here yet.') {
  return el('div', { class: 'table-wrap' },
    el('table', { testid },
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.length ? rows
        : el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, empty)))));
}

function pageHead(title, ...extra) {
  return el('div', { class: 'page-head' }, el('h1', {}, title), el('div', { class: 'page-tools' }, extra));
}

function button(label, onclick, { kind = '', testid, title } = {}) {
  return el('button', { type: 'button', class: kind, onclick, testid, title }, label);
}

function loading() { return el('p', { class: 'muted loading' }, 'Loading…'); }

function appPath(app, rest = '') { return `/api/v1/apps/${enc(app)}${rest}`; }

function isAdmin() { return state.me && state.me.token && state.me.token.scope === 'admin'; }
function canPublish() { return state.me && ['admin', 'publish'].includes(state.me.token && state.me.token.scope); }

async function loadApps(force = false) {
  if (!state.apps || force) state.apps = (await api('GET', '/api/v1/apps')).apps || [];
  return state.apps;
}

// ---- session ----------------------------------------------------------------------------------

function showSignIn(message) {
  state.me = null;
  state.apps = null;
  setCsrf(null);
  $('shell').hidden = true;
  $('signin').hidden = false;
  $('signin').prepend($('banners')); // messages sit above the sign-in card
  clear($('main'));
  for (const d of document.querySelectorAll('dialog')) d.remove();
  if (message) showError(message);
  $('signin-token').focus();
}

function showShell(me) {
  state.me = me;
  setCsrf(me.csrf_token);
  $('signin').hidden = true;
  $('shell').hidden = false;
  $('main-col').prepend($('banners')); // and above the view once signed in
  const t = me.token || {};
  clear($('whoami'),
    el('span', { class: 'who-name', testid: 'whoami-name' }, t.name || t.id || 'token'),
    ' ', badge(t.scope || '?', 'scope'),
    t.app ? [' ', el('span', { class: 'muted' }, 'app '), el('code', {}, t.app)] : null);
}

async function signIn(e) {
  e.preventDefault();
  const input = $('signin-token');
  const token = input.value.trim();
  if (!token) return;
  const submit = e.target.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    const me = await api('POST', '/api/v1/session', { token }, { quiet401: true });
    input.value = '';
    clearBanners();
    showShell(me);
    if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/apps';
    else route();
  } catch (err) {
    showError(err.status === 401 ? `Sign-in refused: ${err.message}` : err);
  } finally {
    submit.disabled = false;
  }
}

async function signOut() {
  try {
    await api('DELETE', '/api/v1/session', undefined, { quiet401: true });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(err);
  }
  clearBanners();
  showSignIn();
  toast('Signed out');
}

// ---- navigation -------------------------------------------------------------------------------

const APP_VIEWS = [
  ['', 'Overview'], ['channels', 'Channels'], ['updates', 'Updates'], ['patches', 'Patches'],
  ['adoption', 'Adoption'], ['explain', 'Explain'],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/apps';
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  return { parts, query: new URLSearchParams(query) };
}

/** The app whose pages the nav offers: the one in the URL, else the last one visited. */
function navApp(app) {
  if (app) return app;
  return (state.apps || []).some((a) => a.name === state.lastApp) ? state.lastApp : null;
}

function renderNav(current, app) {
  const link = (href, label, key) => el('a', {
    href, class: current === key ? 'active' : null, testid: `nav-${key}`,
    'aria-current': current === key ? 'page' : null,
  }, label);
  const apps = state.apps || [];
  const chooser = el('select', {
    testid: 'app-select', 'aria-label': 'App',
    onchange: (e) => { if (e.target.value) location.hash = `#/apps/${enc(e.target.value)}/updates`; },
  }, el('option', { value: '' }, apps.length ? 'Choose an app…' : 'No apps'),
  apps.map((a) => el('option', { value: a.name, selected: a.name === app }, a.name)));
  clear($('nav'),
    el('div', { class: 'nav-group' },
      el('div', { class: 'nav-title' }, 'Server'),
      link('#/apps', 'Apps', 'apps'),
      isAdmin() && link('#/tokens', 'Tokens', 'tokens'),
      isAdmin() && link('#/audit', 'Audit log', 'audit')),
    el('div', { class: 'nav-group' },
      el('div', { class: 'nav-title' }, 'App'),
      chooser,
      app && APP_VIEWS.map(([key, label]) =>
        link(`#/apps/${enc(app)}${key ? `/${key}` : ''}`, label, key || 'overview'))));
}

async function route() {
  if (!state.me) return;
  const seq = ++state.seq;
  const { parts, query } = parseHash();
  const main = $('main');
  const stale = () => seq !== state.seq;
  try {
    await loadApps();
  } catch (err) {
    showError(err);
  }
  if (stale()) return;
  let view = null;
  let current = null;
  let app = null;
  if (parts[0] === 'apps' && parts[1]) {
    app = parts[1];
    state.lastApp = app;
    const sub = parts[2] || '';
    current = sub || 'overview';
    view = {
      '': viewOverview, channels: viewChannels, updates: viewUpdates, patches: viewPatches,
      adoption: viewAdoption, explain: viewExplain,
    }[sub];
  } else if (parts[0] === 'tokens') { view = viewTokens; current = 'tokens'; }
  else if (parts[0] === 'audit') { view = viewAudit; current = 'audit'; }
  else { view = viewApps; current = 'apps'; }
  renderNav(current, navApp(app));
  if (!view) {
    clear(main, pageHead('Not found'), el('p', {}, 'No such page. ', el('a', { href: '#/apps' }, 'Back to apps')));
    return;
  }
  clear(main, loading());
  const ctx = { app, query, stale, seq, rerender: () => (stale() ? Promise.resolve() : route()) };
  try {
    const node = await view(ctx);
    if (!stale() && node) clear(main, node);
  } catch (err) {
    if (stale()) return;
    showError(err);
    clear(main, pageHead(current === 'apps' ? 'Apps' : app || current),
      el('p', { class: 'muted', testid: 'view-error' }, `Could not load this view: ${err.message}`));
  }
  if (!stale()) document.title = `${main.querySelector('h1')?.textContent || 'admin'} · otaserver`;
}

// ---- views: apps and overview -----------------------------------------------------------------

async function viewApps() {
  const apps = await loadApps(true);
  renderNav('apps', navApp(null)); // the list may have changed since the nav was drawn
  const rows = apps.map((a) => el('tr', { testid: 'app-row', dataset: { app: a.name } },
    el('td', {}, el('a', { href: `#/apps/${enc(a.name)}/updates`, class: 'strong', testid: 'app-link' }, a.name)),
    el('td', {}, a.default_channel),
    el('td', {}, a.asset_tokens ? badge('on', 'ok') : badge('off')),
    el('td', {}, a.asset_token_ttl_s ? `${Math.round(a.asset_token_ttl_s / 3600)} h` : '—'),
    el('td', {}, time(a.created_at_ms)),
    el('td', { class: 'links' },
      el('a', { href: `#/apps/${enc(a.name)}` }, 'Overview'),
      el('a', { href: `#/apps/${enc(a.name)}/adoption` }, 'Adoption'),
      el('a', { href: `#/apps/${enc(a.name)}/explain` }, 'Explain'))));
  return el('section', { testid: 'view-apps' },
    pageHead('Apps'),
    table('apps-table', ['App', 'Default channel', 'Asset tokens', 'Asset token TTL', 'Created', ''], rows,
      'No apps yet. Create one with `otaserver app create NAME`.'));
}

function unservedTable(list) {
  const rows = (list || []).map((u) => el('tr', { testid: 'unserved-row' },
    el('td', {}, u.platform), el('td', {}, el('code', {}, u.runtime_version)), el('td', {}, u.channel),
    el('td', { class: 'num' }, num(u.checks)), el('td', {}, time(u.last_seen_ms))));
  return table('unserved-table', ['Platform', 'Runtime version', 'Channel', 'Checks', 'Last seen'], rows,
    'Every runtime version devices asked for has an update.');
}

async function viewOverview({ app, stale }) {
  const [info, channels, updates] = await Promise.all([
    api('GET', appPath(app)),
    api('GET', appPath(app, '/channels')),
    api('GET', appPath(app, `/updates${qs({ limit: 10 })}`)),
  ]);
  if (stale()) return null;
  const keys = info.keys || [];
  const latest = (updates.updates || [])[0];
  // What devices ask for that has nothing servable: usually a store build whose runtime version
  // nobody published for.
  const unserved = await api('GET', appPath(app, '/runtime-versions'))
    .then((r) => ({ unserved_runtime_versions: (r.runtime_versions || []).filter((v) => !v.served) }))
    .catch(() => null);
  if (stale()) return null;
  return el('section', { testid: 'view-overview' },
    pageHead(app, el('a', { href: `#/apps/${enc(app)}/updates`, class: 'button' }, 'Updates')),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Default channel'), el('dd', {}, info.default_channel),
      el('dt', {}, 'Manifest URL path'), el('dd', {}, el('code', {}, `/apps/${app}/manifest`)),
      el('dt', {}, 'Code signing'), el('dd', {}, keys.length
        ? keys.map((k) => el('span', { class: 'keyid' }, el('code', {}, k.keyid), ' until ', time(k.not_after_ms)))
        : el('span', { class: 'muted' }, 'no key (clients asking for signatures get 400)')),
      el('dt', {}, 'Asset tokens'), el('dd', {}, info.asset_tokens ? `on, ${Math.round(info.asset_token_ttl_s / 3600)} h` : 'off'),
      el('dt', {}, 'Latest update'), el('dd', {}, latest
        ? [time(latest.created_at), ' · ', latest.kind === 'rollback' ? badge('roll back to embedded', 'warn')
          : latest.message || el('span', { class: 'muted' }, 'no message')]
        : el('span', { class: 'muted' }, 'none yet')),
      el('dt', {}, 'Created'), el('dd', {}, time(info.created_at_ms))),
    el('h2', {}, 'Channels'),
    channelsTable(app, channels.channels || [], null),
    el('h2', {}, 'Runtime versions asked for but not served'),
    unserved ? unservedTable(unserved.unserved_runtime_versions)
      : el('p', { class: 'muted' }, 'Not available from this server.'));
}

// ---- channels ---------------------------------------------------------------------------------

function channelsTable(app, channels, reload) {
  const rows = channels.map((c) => el('tr', { testid: 'channel-row', dataset: { channel: c.name } },
    el('td', { class: 'strong' }, c.name),
    el('td', {}, el('code', {}, c.branch)),
    el('td', {}, c.split ? [el('code', {}, c.split.branch), ` ${c.split.percent}%`] : el('span', { class: 'muted' }, '—')),
    reload && el('td', { class: 'actions' },
      isAdmin() && button('Re-point…', () => repointChannel(app, c, reload), { testid: 'repoint-btn' }))));
  const headers = ['Channel', 'Branch', 'Split'];
  if (reload) headers.push('');
  return table('channels-table', headers, rows, 'No channels yet: the first publish creates the default one.');
}

async function repointChannel(app, channel, reload) {
  const isNew = !channel;
  channel = channel || { name: '', branch: '' };
  const values = await dialog({
    title: isNew ? 'New channel' : `Point channel “${channel.name}”`,
    body: 'Devices on this channel get the newest update of the branch from their next check. A split sends a share of devices (by EAS-Client-ID) to a second branch.',
    ok: 'Save',
    fields: [
      isNew && { name: 'name', label: 'Channel name (what builds send as expo-channel-name)', required: true, testid: 'channel-name-input' },
      { name: 'branch', label: 'Branch', value: channel.branch, required: true, testid: 'channel-branch-input', list: 'branches-list' },
      { name: 'split_branch', label: 'Split to branch (optional)', value: channel.split ? channel.split.branch : '', testid: 'channel-split-branch-input', list: 'branches-list' },
      { name: 'split_percent', label: 'Split percent', type: 'number', min: 0, max: 100, value: channel.split ? channel.split.percent : '', testid: 'channel-split-percent-input' },
    ],
  });
  if (!values) return;
  const body = { branch: values.branch };
  if (values.split_branch) body.split = { branch: values.split_branch, percent: Number(values.split_percent || 0) };
  const name = isNew ? values.name : channel.name;
  await act(() => api('PUT', appPath(app, `/channels/${enc(name)}`), body),
    `Channel ${name} now points at ${values.branch}`, reload);
}

async function viewChannels({ app, stale, rerender }) {
  const [channels, updates] = await Promise.all([
    api('GET', appPath(app, '/channels')),
    api('GET', appPath(app, `/updates${qs({ limit: 200 })}`)),
  ]);
  if (stale()) return null;
  const branches = new Set((updates.updates || []).map((u) => u.branch));
  for (const c of channels.channels || []) { branches.add(c.branch); if (c.split) branches.add(c.split.branch); }
  return el('section', { testid: 'view-channels' },
    pageHead(`${app} · channels`,
      isAdmin() && button('New channel…', () => repointChannel(app, null, rerender), { testid: 'new-channel-btn' })),
    el('p', { class: 'muted' }, 'Devices name a channel (expo-channel-name); a channel points at a branch of updates.'),
    channelsTable(app, channels.channels || [], rerender),
    el('datalist', { id: 'branches-list' }, [...branches].map((b) => el('option', { value: b }))));
}

// ---- updates ----------------------------------------------------------------------------------

function groupUpdates(list) {
  const groups = new Map();
  for (const u of list) {
    if (!groups.has(u.group_id)) groups.set(u.group_id, []);
    groups.get(u.group_id).push(u);
  }
  return [...groups.values()];
}

async function viewUpdates({ app, query, stale, rerender }) {
  const filters = {
    branch: query.get('branch') || '', runtime_version: query.get('runtime_version') || '',
    platform: query.get('platform') || '', limit: query.get('limit') || '100',
  };
  const [data, channels] = await Promise.all([
    api('GET', appPath(app, `/updates${qs(filters)}`)),
    api('GET', appPath(app, '/channels')).catch(() => ({ channels: [] })),
  ]);
  if (stale()) return null;
  const updates = data.updates || [];
  const branches = new Set(updates.map((u) => u.branch));
  for (const c of channels.channels || []) branches.add(c.branch);
  const runtimes = new Set(updates.map((u) => u.runtime_version));

  const f = {};
  const filterForm = el('form', {
    class: 'filters', testid: 'updates-filters',
    onsubmit: (e) => {
      e.preventDefault();
      const q = qs({ branch: f.branch.value.trim(), runtime_version: f.rv.value.trim(), platform: f.platform.value,
        limit: f.limit.value === '100' ? '' : f.limit.value });
      location.hash = `#/apps/${enc(app)}/updates${q}`;
    },
  },
  el('label', {}, 'Branch', f.branch = el('input', { value: filters.branch, list: 'branches-list', testid: 'filter-branch', placeholder: 'any' })),
  el('label', {}, 'Runtime', f.rv = el('input', { value: filters.runtime_version, list: 'runtimes-list', testid: 'filter-runtime', placeholder: 'any' })),
  el('label', {}, 'Platform', f.platform = el('select', { testid: 'filter-platform' },
    [['', 'any'], ['ios', 'ios'], ['android', 'android']].map(([v, l]) => el('option', { value: v, selected: v === filters.platform }, l)))),
  el('label', {}, 'Show', f.limit = el('select', { testid: 'filter-limit' },
    ['25', '50', '100', '200'].map((v) => el('option', { value: v, selected: v === filters.limit }, v)))),
  el('button', { type: 'submit', class: 'primary' }, 'Filter'),
  el('a', { href: `#/apps/${enc(app)}/updates`, class: 'button ghost' }, 'Clear'),
  el('datalist', { id: 'branches-list' }, [...branches].map((b) => el('option', { value: b }))),
  el('datalist', { id: 'runtimes-list' }, [...runtimes].map((r) => el('option', { value: r }))));

  const rows = [];
  for (const group of groupUpdates(updates)) {
    const g = group[0];
    const span = group.length;
    const isRollback = g.kind === 'rollback';
    const active = g.state === 'active';
    group.forEach((u, i) => {
      const cells = [];
      if (i === 0) {
        cells.push(
          el('td', { rowspan: span }, time(g.created_at)),
          el('td', { rowspan: span, class: 'message' },
            isRollback ? badge('roll back to embedded', 'warn') : null,
            g.message ? el('span', { testid: 'update-message' }, g.message) : (isRollback ? null : el('span', { class: 'muted' }, 'no message')),
            el('div', { class: 'muted small' }, 'branch ', el('code', { testid: 'update-branch' }, g.branch),
              g.git_commit ? [' · commit ', el('code', { title: g.git_commit, testid: 'update-commit' }, g.git_commit.slice(0, 10)),
                g.git_branch ? ` (${g.git_branch})` : ''] : null)),
        );
      }
      cells.push(
        el('td', {}, el('code', {}, u.runtime_version)),
        el('td', {}, u.platform),
        el('td', {}, idCell(u.id)),
        el('td', { class: 'num' }, isRollback ? '—' : bytes(u.bytes)),
      );
      if (i === 0) {
        cells.push(
          el('td', { rowspan: span, class: 'num', testid: 'update-rollout' }, isRollback ? '—' : `${g.rollout_percent}%`),
          el('td', { rowspan: span }, active ? badge('active', 'ok') : badge(g.state, 'off')),
          el('td', { rowspan: span, class: 'actions' }, canPublish() ? [
            !isRollback && button('Rollout…', () => changeRollout(app, g, rerender), { testid: 'rollout-btn' }),
            button(active ? 'Deactivate' : 'Activate', () => toggleActive(app, g, rerender),
              { testid: 'toggle-active-btn', kind: active ? 'ghost' : '' }),
            !isRollback && button('Republish', () => republish(app, g, rerender),
              { testid: 'republish-btn', title: 'Roll back to this update: publish it again as the newest' }),
          ] : null),
        );
      }
      rows.push(el('tr', {
        testid: 'update-row', class: [i === 0 && 'group-start', !active && 'inactive'],
        dataset: { updateId: u.id, groupId: u.group_id, platform: u.platform, kind: u.kind },
      }, cells));
    });
  }

  return el('section', { testid: 'view-updates' },
    pageHead(`${app} · updates`,
      canPublish() && button('Roll back to embedded…', () => rollbackToEmbedded(app, updates, channels.channels || [], rerender),
        { kind: 'danger-ghost', testid: 'rollback-embedded-btn' })),
    filterForm,
    table('updates-table',
      ['Created', 'Message', 'Runtime', 'Platform', 'Update', 'Size', 'Rollout', 'State', ''], rows,
      'No updates match. Publish one with `otaserver publish`.'),
    el('p', { class: 'muted small' }, `${updates.length} updates in ${groupUpdates(updates).length} groups, newest first.`));
}

async function changeRollout(app, g, reload) {
  const values = await dialog({
    title: 'Change rollout',
    body: `“${g.message || g.group_id}”: share of devices (by EAS-Client-ID) that get this update. Raising it never drops a device that already has it; 0 stops new devices.`,
    ok: 'Set rollout',
    fields: [{ name: 'percent', label: 'Rollout percent', type: 'number', min: 0, max: 100, value: g.rollout_percent, required: true, testid: 'rollout-input' }],
  });
  if (!values) return;
  const percent = Number(values.percent);
  await act(() => api('PATCH', appPath(app, `/updates/${enc(g.group_id)}`), { rollout_percent: percent }),
    `Rollout set to ${percent}%`, reload);
}

async function toggleActive(app, g, reload) {
  const active = g.state === 'active';
  if (active) {
    const ok = await dialog({
      title: 'Deactivate this update?',
      body: `“${g.message || g.group_id}” stops being served; devices get the previous update of the branch at their next check.`,
      ok: 'Deactivate', danger: true,
    });
    if (!ok) return;
  }
  await act(() => api('PATCH', appPath(app, `/updates/${enc(g.group_id)}`), { active: !active }),
    active ? 'Update deactivated' : 'Update activated', reload);
}

async function republish(app, g, reload) {
  const ok = await dialog({
    title: 'Roll back to this update?',
    body: `“${g.message || g.group_id}” (${g.branch}) is published again as a new update with a fresh createdAt, so devices on newer updates take it.`,
    ok: 'Republish', danger: true,
  });
  if (!ok) return;
  await act(() => api('POST', appPath(app, `/updates/${enc(g.group_id)}/republish`), {}),
    'Republished as the newest update', reload);
}

async function rollbackToEmbedded(app, updates, channels, reload) {
  const runtimes = [...new Set(updates.map((u) => u.runtime_version))];
  const branches = [...new Set([...channels.map((c) => c.branch), ...updates.map((u) => u.branch)])];
  const defaultBranch = (channels.find((c) => c.name === (state.apps || []).find((a) => a.name === app)?.default_channel) || {}).branch;
  const values = await dialog({
    title: 'Roll back to the embedded update',
    body: 'Devices on this runtime version and branch go back to the update built into their binary (protocol 1 clients). Publishing a new update undoes it.',
    ok: 'Roll back', danger: true, testid: 'rollback-dialog',
    fields: [
      { name: 'runtime_version', label: 'Runtime version', value: runtimes[0] || '', required: true, testid: 'rollback-runtime-input', list: 'runtimes-list' },
      { name: 'platform', label: 'Platform', type: 'select', value: 'all', testid: 'rollback-platform-select',
        options: [['all', 'all'], ['ios', 'ios'], ['android', 'android']] },
      { name: 'branch', label: 'Branch', type: 'select', value: defaultBranch || branches[0] || '', testid: 'rollback-branch-select',
        options: [['', '(the default channel’s branch)'], ...branches.map((b) => [b, b])] },
    ],
  });
  if (!values) return;
  const body = { runtime_version: values.runtime_version, platform: values.platform };
  if (values.branch) body.branch = values.branch;
  await act(() => api('POST', appPath(app, '/rollbacks'), body), 'Rolled back to the embedded update', reload);
}

// ---- patches ----------------------------------------------------------------------------------

async function viewPatches({ app, stale, rerender }) {
  const data = await api('GET', appPath(app, '/patches'));
  if (stale()) return null;
  const patches = data.patches || [];
  const policy = ['next launch', 'ask', 'overwrite'];
  const rows = patches.map((p) => el('tr', { testid: 'patch-row', class: p.revoked ? 'inactive' : null, dataset: { patchId: p.id } },
    el('td', {}, time(p.created_at)),
    el('td', {}, p.platform),
    el('td', {}, el('code', {}, p.range)),
    el('td', {}, p.build ? el('code', {}, p.build) : el('span', { class: 'muted' }, 'any')),
    el('td', { class: 'num' }, p.seq),
    el('td', { class: 'num' }, bytes(p.size)),
    el('td', { class: 'num' }, `${p.rollout_percent}%`,
      p.preview_devices && p.preview_devices.length ? el('div', { class: 'muted small', title: p.preview_devices.join(', ') }, `${p.preview_devices.length} preview devices`) : null),
    el('td', { class: 'message' }, p.message || el('span', { class: 'muted' }, 'no message'),
      el('div', { class: 'muted small' }, `policy: ${policy[p.policy] ?? p.policy}`, p.signed_offline ? ' · signed offline' : '')),
    el('td', {}, p.revoked ? badge('revoked', 'bad') : badge('live', 'ok')),
    el('td', { class: 'num' }, num(p.checks)),
    el('td', { class: 'num' }, num(p.downloads)),
    el('td', { class: 'actions' }, canPublish()
      ? (p.revoked
        ? button('Unrevoke', () => act(() => api('POST', appPath(app, `/patches/${enc(p.id)}/unrevoke`), {}), 'Patch restored', rerender), { testid: 'unrevoke-btn' })
        : button('Revoke', () => revokePatch(app, p, rerender), { testid: 'revoke-btn', kind: 'danger-ghost' }))
      : null)));
  return el('section', { testid: 'view-patches' },
    pageHead(`${app} · native patches`),
    table('patches-table', ['Created', 'Platform', 'Versions', 'Build', 'Seq', 'Size', 'Rollout', 'Message', 'State', 'Checks', 'Downloads', ''], rows,
      'No patches. Publish one with `otaserver patch publish`.'));
}

async function revokePatch(app, p, reload) {
  const ok = await dialog({
    title: 'Revoke this patch?',
    body: `Patch ${p.id} (${p.platform} ${p.range}) answers 404 from the next request on; devices drop it. Unrevoke undoes this.`,
    ok: 'Revoke', danger: true,
  });
  if (!ok) return;
  await act(() => api('POST', appPath(app, `/patches/${enc(p.id)}/revoke`), {}), 'Patch revoked', reload);
}

// ---- adoption ---------------------------------------------------------------------------------

function totalsRow(kind, item, color, label) {
  const t = item.totals || {};
  const sw = el('span', { class: 'swatch' });
  sw.style.backgroundColor = color || 'transparent';
  sw.style.borderColor = color || '#999';
  return el('tr', { testid: 'adoption-row', class: t.failures ? 'has-failures' : null },
    el('td', {}, sw, kind),
    el('td', { class: 'message' }, label),
    el('td', {}, item.platform),
    el('td', {}, el('code', {}, item.runtime_version || item.range || '—')),
    el('td', { class: 'num' }, num(t.devices)),
    el('td', { class: 'num' }, num(t.served)),
    el('td', { class: 'num' }, num(t.downloads)),
    el('td', { class: ['num', t.failures ? 'fail' : null], testid: 'adoption-failures',
      title: t.failed_devices != null ? `${t.failed_devices} distinct devices` : null }, num(t.failures)));
}

async function viewAdoption({ app, query, stale }) {
  const days = Number(query.get('days')) || 14;
  const data = await api('GET', appPath(app, `/adoption${qs({ days })}`));
  if (stale()) return null;
  const dayList = data.days || [];
  const items = [
    ...(data.updates || []).map((u) => ({ kind: 'update', item: u, label: u.message || u.id })),
    ...(data.patches || []).map((p) => ({ kind: 'patch', item: p, label: p.message || p.id })),
  ];
  // Chart the busiest eight; the table lists all.
  const charted = [...items].sort((a, b) => ((b.item.totals || {}).devices || 0) - ((a.item.totals || {}).devices || 0)).slice(0, 8);
  const colors = new Map(charted.map((c, i) => [c.item, PALETTE[i % PALETTE.length]]));
  const series = charted.map((c) => {
    const byDay = new Map((c.item.series || []).map((s) => [s.day, s]));
    const pts = dayList.map((d) => byDay.get(d) || {});
    const who = c.kind === 'update' ? `${c.item.platform} ${c.label}` : `patch ${c.item.platform} ${c.item.range || ''} ${c.label}`;
    return {
      label: who.length > 60 ? `${who.slice(0, 57)}…` : who, color: colors.get(c.item),
      values: pts.map((p) => p.devices || 0), failures: pts.map((p) => p.failures || 0),
    };
  });
  const picker = el('select', {
    testid: 'adoption-days', 'aria-label': 'Period',
    onchange: (e) => { location.hash = `#/apps/${enc(app)}/adoption?days=${e.target.value}`; },
  }, [7, 14, 30, 90].map((d) => el('option', { value: String(d), selected: d === days }, `last ${d} days`)));
  const totalFailures = items.reduce((n, c) => n + ((c.item.totals || {}).failures || 0), 0);
  return el('section', { testid: 'view-adoption' },
    pageHead(`${app} · adoption`, picker),
    el('p', { class: 'muted' }, 'Distinct devices (EAS-Client-ID, X-Device-Id) per UTC day that were served each update or patch. ',
      'Failures are devices reporting the update in Expo-Recent-Failed-Update-IDs.'),
    totalFailures ? el('p', { class: 'alert-inline', testid: 'adoption-failure-note' }, `${totalFailures} launch failure reports in this period.`) : null,
    barChart({ days: dayList, series, yLabel: 'Devices', xLabel: 'day (UTC)', testid: 'adoption-chart' }),
    table('adoption-table', ['', 'Release', 'Platform', 'Runtime / versions', 'Devices', 'Served', 'Downloads', 'Failures'],
      items.map((c) => totalsRow(c.kind, c.item, colors.get(c.item), c.label)),
      'No updates or patches yet.'));
}

// ---- explain ----------------------------------------------------------------------------------

const MARK = { pass: '✓', fail: '✗', skip: '–', info: 'i' };

async function viewExplain({ app, query, stale }) {
  const [info, updates] = await Promise.all([
    api('GET', appPath(app)).catch(() => ({})),
    api('GET', appPath(app, `/updates${qs({ limit: 50 })}`)).catch(() => ({ updates: [] })),
  ]);
  if (stale()) return null;
  const ups = updates.updates || [];
  const q = (k, d = '') => query.get(k) ?? d;
  const inputs = {};
  const field = (name, label, node) => { inputs[name] = node; return el('label', {}, label, node); };
  const result = el('div', { class: 'explain-result', testid: 'explain-result' });
  const form = el('form', { class: 'explain-form', testid: 'explain-form', onsubmit: (e) => { e.preventDefault(); run(); } },
    field('platform', 'Platform', el('select', { testid: 'explain-platform' },
      ['ios', 'android'].map((p) => el('option', { value: p, selected: q('platform', 'ios') === p }, p)))),
    field('runtime_version', 'Runtime version', el('input', { value: q('runtime_version', ups[0]?.runtime_version || ''), required: true, list: 'runtimes-list', testid: 'explain-runtime' })),
    field('channel', 'Channel', el('input', { value: q('channel', info.default_channel || 'production'), testid: 'explain-channel' })),
    field('current_update_id', 'Current update id', el('input', { value: q('current_update_id'), list: 'update-ids-list', placeholder: 'Expo-Current-Update-ID', testid: 'explain-current' })),
    field('embedded_update_id', 'Embedded update id', el('input', { value: q('embedded_update_id'), placeholder: 'Expo-Embedded-Update-ID', testid: 'explain-embedded' })),
    field('client_id', 'Client id', el('input', { value: q('client_id'), placeholder: 'EAS-Client-ID', testid: 'explain-client' })),
    field('recent_failed', 'Recent failed update ids', el('input', { value: q('recent_failed'), placeholder: 'Expo-Recent-Failed-Update-IDs', testid: 'explain-failed' })),
    field('protocol_version', 'Protocol', el('select', { testid: 'explain-protocol' },
      ['1', '0'].map((p) => el('option', { value: p, selected: q('protocol_version', '1') === p }, p)))),
    el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'primary', testid: 'explain-submit' }, 'Explain')),
    el('datalist', { id: 'runtimes-list' }, [...new Set(ups.map((u) => u.runtime_version))].map((r) => el('option', { value: r }))),
    el('datalist', { id: 'update-ids-list' }, ups.map((u) => el('option', { value: u.id }, `${u.platform} ${u.message || ''}`))));

  async function run() {
    const params = {};
    for (const [k, node] of Object.entries(inputs)) params[k] = node.value.trim();
    history.replaceState(null, '', `#/apps/${enc(app)}/explain${qs(params)}`);
    // The header is a structured-field list of strings: "id1", "id2".
    const { recent_failed: failed, ...request } = params;
    const ids = failed.split(/[\s,"]+/).filter(Boolean);
    if (ids.length) request.recent_failed_update_ids = ids.map((id) => `"${id}"`).join(', ');
    clear(result, loading());
    try {
      const r = await api('GET', appPath(app, `/explain${qs(request)}`));
      clear(result, renderExplanation(r));
    } catch (err) {
      clear(result);
      showError(err);
    }
  }
  if (query.get('runtime_version')) queueMicrotask(run);

  return el('section', { testid: 'view-explain' },
    pageHead(`${app} · explain`),
    el('p', { class: 'muted' }, 'Why does a device get what it gets? Describe its manifest request (the headers expo-updates sends) and see each rule the server applies.'),
    form, result);
}

function renderExplanation(r) {
  const outcomeKind = { manifest: 'ok', noUpdateAvailable: 'off', rollBackToEmbedded: 'warn', nothing: 'bad' }[r.outcome] || 'off';
  const verdictKind = { chosen: 'ok', excluded: 'bad', not_reached: 'off' };
  return el('div', {},
    el('div', { class: 'explain-summary', testid: 'explain-summary' },
      badge(r.outcome, outcomeKind), ' ', el('span', {}, r.summary || ''),
      (r.update_id || r.branch) ? el('div', { class: 'muted small' },
        r.branch ? ['branch ', el('code', {}, r.branch)] : null, r.branch && r.update_id ? ' · ' : null,
        r.update_id ? ['update ', el('code', { testid: 'explain-update-id' }, r.update_id)] : null) : null),
    el('h2', {}, 'Rules'),
    el('ol', { class: 'steps', testid: 'explain-steps' }, (r.steps || []).map((s) => el('li', { class: `step step-${s.result}` },
      el('span', { class: 'mark', title: s.result, 'aria-label': s.result }, MARK[s.result] || '?'),
      el('span', { class: 'rule' }, s.rule),
      s.detail ? el('span', { class: 'detail' }, detailText(s.detail)) : null))),
    el('h2', {}, 'Candidates'),
    table('explain-candidates', ['Verdict', 'Update', 'Group', 'Created', 'Kind', 'Rollout', 'Reason'],
      (r.candidates || []).map((c) => el('tr', { class: c.verdict === 'chosen' ? 'chosen' : null },
        el('td', {}, badge(c.verdict, verdictKind[c.verdict])),
        el('td', {}, idCell(c.id)), el('td', {}, idCell(c.group_id)), el('td', {}, time(c.created_at)),
        el('td', {}, c.kind), el('td', { class: 'num' }, c.rollout_percent != null ? `${c.rollout_percent}%` : '—'),
        el('td', { class: 'message' }, c.reason || ''))),
      'No update on this branch, runtime version and platform.'),
    el('h2', {}, 'Runtime versions asked for but not served'),
    unservedTable(r.unserved_runtime_versions));
}

// ---- tokens -----------------------------------------------------------------------------------

async function viewTokens({ stale, rerender }) {
  const data = await api('GET', '/api/v1/tokens');
  if (stale()) return null;
  const now = Date.now();
  const rows = (data.tokens || []).map((t) => {
    const revoked = t.revoked_at_ms != null;
    const expired = t.expires_at_ms != null && t.expires_at_ms <= now;
    return el('tr', { testid: 'token-row', class: revoked || expired ? 'inactive' : null, dataset: { tokenId: t.id, tokenName: t.name } },
      el('td', { class: 'strong' }, t.name), el('td', {}, el('code', {}, t.id)), el('td', {}, badge(t.scope, 'scope')),
      el('td', {}, t.app || el('span', { class: 'muted' }, 'all apps')),
      el('td', {}, time(t.created_at_ms)),
      el('td', {}, t.expires_at_ms ? time(t.expires_at_ms) : el('span', { class: 'muted' }, 'never')),
      el('td', {}, time(t.last_used_at_ms)),
      el('td', {}, revoked ? [badge('revoked', 'bad'), ' ', time(t.revoked_at_ms)] : expired ? badge('expired', 'off') : badge('valid', 'ok')),
      el('td', { class: 'actions' }, !revoked && state.me?.token?.id !== t.id
        ? button('Revoke', () => revokeToken(t, rerender), { testid: 'token-revoke-btn', kind: 'danger-ghost' }) : null));
  });

  const secretBox = el('div', { testid: 'token-secret-area' });
  const f = {};
  const form = el('form', { class: 'inline-form', testid: 'token-form', onsubmit: (e) => { e.preventDefault(); create(); } },
    el('label', {}, 'Name', f.name = el('input', { required: true, testid: 'token-name', placeholder: 'ci-publish', spellcheck: 'false' })),
    el('label', {}, 'Scope', f.scope = el('select', { testid: 'token-scope' },
      ['read', 'publish', 'admin'].map((s) => el('option', { value: s, selected: s === 'publish' }, s)))),
    el('label', {}, 'App', f.app = el('select', { testid: 'token-app' },
      el('option', { value: '' }, 'all apps'), (state.apps || []).map((a) => el('option', { value: a.name }, a.name)))),
    el('label', {}, 'Expires in days', f.days = el('input', { type: 'number', min: 1, max: 3650, placeholder: 'never', testid: 'token-days' })),
    el('button', { type: 'submit', class: 'primary', testid: 'token-create' }, 'Create token'));

  async function create() {
    const body = { name: f.name.value.trim(), scope: f.scope.value };
    if (f.app.value) body.app = f.app.value;
    if (f.days.value) body.expires_in_days = Number(f.days.value);
    try {
      const r = await api('POST', '/api/v1/tokens', body);
      await rerender();
      // Shown once: the box lives only in this render, never stored anywhere.
      showSecret(r.token, r.info || {});
    } catch (err) { showError(err); }
  }

  return el('section', { testid: 'view-tokens' },
    pageHead('API tokens'),
    secretBox,
    el('h2', {}, 'New token'), form,
    el('h2', {}, 'Tokens'),
    table('tokens-table', ['Name', 'Id', 'Scope', 'App', 'Created', 'Expires', 'Last used', 'State', ''], rows));
}

function showSecret(secret, info) {
  const area = document.querySelector('[data-testid="token-secret-area"]');
  if (!area) return;
  const input = el('input', { readonly: true, value: secret, class: 'secret', testid: 'token-secret', 'aria-label': 'New token', spellcheck: 'false' });
  const copy = button('Copy', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(secret);
      toast('Token copied');
    } catch {
      toast('Select the text and copy it');
    }
  }, { testid: 'token-copy', kind: 'primary' });
  clear(area, el('div', { class: 'secret-box', role: 'alert', testid: 'token-secret-box' },
    el('strong', {}, `Token “${info.name || ''}” created. Copy it now: it will not be shown again.`),
    el('div', { class: 'secret-row' }, input, copy,
      button('Done', () => clear(area), { testid: 'token-secret-done', kind: 'ghost' }))));
  toast('Token created');
  input.focus();
  input.select();
}

async function revokeToken(t, reload) {
  const ok = await dialog({
    title: `Revoke token “${t.name}”?`,
    body: `Token ${t.id} (${t.scope}) stops working at once, and every admin page session signed in with it ends.`,
    ok: 'Revoke', danger: true,
  });
  if (!ok) return;
  await act(() => api('DELETE', `/api/v1/tokens/${enc(t.id)}`), `Token ${t.name} revoked`, reload);
}

// ---- audit ------------------------------------------------------------------------------------

async function viewAudit({ query, stale }) {
  const appFilter = query.get('app') || '';
  const tbody = el('tbody', {});
  const more = button('Older', () => load().catch((err) => { more.disabled = false; showError(err); }), { testid: 'audit-older' });
  let before = null;
  async function load() {
    more.disabled = true;
    const r = await api('GET', `/api/v1/audit${qs({ limit: 50, before, app: appFilter })}`);
    for (const e of r.entries || []) {
      tbody.append(el('tr', { testid: 'audit-row', dataset: { action: e.action || '' } },
        el('td', {}, time(e.at_ms)), el('td', { title: e.actor || '' }, e.actor_name || e.actor), el('td', { class: 'muted' }, e.peer),
        el('td', {}, el('code', {}, e.action)), el('td', {}, e.app || ''),
        el('td', {}, /^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(String(e.target)) ? idCell(e.target) : detailText(e.target)),
        el('td', { class: 'detail' }, auditDetail(e.detail))));
    }
    if (!tbody.children.length) tbody.append(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No entries.')));
    before = r.next_before ?? null;
    more.hidden = before === null;
    more.disabled = false;
  }
  await load();
  if (stale()) return null;
  const appSelect = el('select', {
    testid: 'audit-app', 'aria-label': 'App',
    onchange: (e) => { location.hash = `#/audit${qs({ app: e.target.value })}`; },
  }, el('option', { value: '' }, 'all apps'), (state.apps || []).map((a) => el('option', { value: a.name, selected: a.name === appFilter }, a.name)));
  return el('section', { testid: 'view-audit' },
    pageHead('Audit log', appSelect),
    el('div', { class: 'table-wrap' }, el('table', { testid: 'audit-table' },
      el('thead', {}, el('tr', {}, ['When', 'Actor', 'Peer', 'Action', 'App', 'Target', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
      tbody)),
    el('div', { class: 'pager' }, more));
}

/** An audit entry's detail object as short key=value pairs; the full JSON on hover. */
function auditDetail(detail) {
  let d = detail;
  if (typeof d === 'string') { try { d = JSON.parse(d); } catch { return d; } }
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return detailText(d);
  const short = (v) => {
    if (Array.isArray(v)) return v.every((x) => typeof x !== 'object') ? v.join(', ') : `${v.length} items`;
    if (v && typeof v === 'object') return `{${Object.keys(v).length} fields}`;
    const text = String(v);
    if (/^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(text)) return text.slice(0, 8);
    return text.length > 60 ? `${text.slice(0, 57)}…` : text;
  };
  return el('span', { title: JSON.stringify(d) },
    Object.entries(d).map(([k, v]) => el('span', { class: 'kv' }, el('span', { class: 'k' }, `${k} `), el('span', { class: 'v' }, short(v)))));
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  onUnauthorized(() => {
    if (state.me) showSignIn('Your session ended. Sign in again.');
  });
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => { clearBannersOnNav(); route(); });
  try {
    const me = await api('GET', '/api/v1/session', undefined, { quiet401: true });
    showShell(me);
    await route();
  } catch (err) {
    showSignIn(err.status === 401 ? null : err);
  }
}

function clearBannersOnNav() {
  // Banners and toasts belong to the view they were raised on.
  clearBanners();
  $('toasts').replaceChildren();
}

start();
