// Small DOM, formatting and HTTP helpers for the admin page. No framework, no innerHTML:
// every string from the server reaches the page through text nodes or attributes.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function applyAttrs(node, attrs, isSvg) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'testid') {
      node.setAttribute('data-testid', value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) node.dataset[k] = v;
    } else if (key === 'style') {
      throw new Error('use classes, not style attributes (CSP)');
    } else if (!isSvg && (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected')) {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** el('tag', {attrs, onclick: fn, testid: 'x'}, ...children): an HTML element. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs, false);
  return append(node, children);
}

/** svg('tag', {attrs}, ...children): an SVG element. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttrs(node, attrs, true);
  return append(node, children);
}

export function clear(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// ---- formatting -------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** Local time as YYYY-MM-DD HH:MM:SS (compact, sortable, unambiguous). */
export function localStamp(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A <time> in local time with the ISO (UTC) string on hover; accepts ms or an ISO string. */
export function time(value) {
  if (value === null || value === undefined || value === '') return el('span', { class: 'muted' }, '—');
  const d = typeof value === 'number' ? new Date(value) : new Date(String(value));
  if (Number.isNaN(d.getTime())) return el('span', {}, String(value));
  const iso = d.toISOString();
  return el('time', { datetime: iso, title: iso }, localStamp(d));
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : '—';
}

/** A short id shown in monospace, the full one on hover. */
export function idCell(id) {
  if (!id) return el('span', { class: 'muted' }, '—');
  return el('code', { title: String(id) }, shortId(id));
}

export function badge(text, kind) {
  return el('span', { class: ['badge', kind && `badge-${kind}`] }, text);
}

export function num(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

export function detailText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// ---- HTTP -------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

const session = { csrf: null, onUnauthorized: null };

export function setCsrf(token) { session.csrf = token; }
export function onUnauthorized(fn) { session.onUnauthorized = fn; }

/**
 * api('GET', '/api/v1/apps') → parsed JSON. Non-GET calls carry X-CSRF-Token; bodies are JSON.
 * Errors throw ApiError with the server's message; a 401 also calls the unauthorized hook.
 */
export async function api(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `The server did not answer (${e.message}).`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data && data.error, (data && data.message) || `${method} ${path}: HTTP ${res.status}`);
    if (res.status === 401 && !quiet401 && session.onUnauthorized) {
      err.handled = true; // the page went back to sign-in and said why
      session.onUnauthorized(err);
    }
    throw err;
  }
  return data;
}

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
