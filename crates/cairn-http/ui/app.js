// cairn's web page: the groups from api/v1/metrics, the status from api/v1/status.
//
// Every URL is relative, so the page works under a route prefix and behind a proxy. To stay
// fast with thousands of groups, the cards are built collapsed from one HTML string, the
// browser skips laying out those off screen (content-visibility in app.css), a card's
// families are built only when it is first opened, and the filter only toggles `hidden`.
'use strict';

const SERIES_SHOWN = 50; // series listed per family before a "show all" button
const EXPAND_MAX = 500; // "Expand all" refuses more groups than this
const PAGE = 100; // cards added to the list at a time
const STALE_KEY = 'cairn.staleSecs';
const STALE_DEFAULT = 86400;
const TIME_GAUGES = ['push_time_seconds', 'push_failure_time_seconds'];
const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const $ = (id) => document.getElementById(id);

const state = {
  groups: [], // every group, in grouping-key order
  view: [], // the groups that match the filter, in the chosen order
  rendered: 0, // how many of `view` have their card in the list
  openIds: new Set(), // the groups opened, kept across reloads
  moreNear: false, // whether the end of the list is near the screen
  byEl: new WeakMap(), // card element -> group
  status: null,
  adminApi: false,
  utf8Names: false,
  terms: [],
  show: 'all',
  staleSecs: STALE_DEFAULT,
  sort: 'key',
};

// ---- text helpers ----

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);

function labelText(name, value) {
  const n = LEGACY_NAME.test(name) ? name : JSON.stringify(name);
  return n + '=' + JSON.stringify(value);
}

function compareNames(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A bucket bound or quantile key as a number ("+Inf" included).
function bound(s) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- time ----

const pad = (n) => String(n).padStart(2, '0');

function absolute(secs) {
  const d = new Date(secs * 1000);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

function relative(secs, now) {
  const delta = now - secs;
  const a = Math.abs(delta);
  if (a < 5) return 'just now';
  let s;
  if (a < 60) s = Math.floor(a) + ' s';
  else if (a < 3600) s = Math.floor(a / 60) + ' min';
  else if (a < 2 * 86400) s = Math.floor(a / 3600) + ' h';
  else s = Math.floor(a / 86400) + ' days';
  return delta >= 0 ? s + ' ago' : 'in ' + s;
}

const nowSecs = () => Date.now() / 1000;

// RFC 3339 with nanoseconds: Date.parse wants at most milliseconds.
function parseTime(rfc3339) {
  const ms = Date.parse(String(rfc3339).replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : ms / 1000;
}

// "3 min ago 2026-11-27 22:51:03", the relative part kept fresh by a timer.
function timeHtml(secs, now) {
  if (secs === null || secs <= 0) return '<span class="never">never</span>';
  const iso = new Date(secs * 1000).toISOString();
  return '<time class="ago" datetime="' + iso + '" title="' + iso + '" data-t="' + secs + '">' +
    relative(secs, now) + '</time> <span class="abs">' + absolute(secs) + '</span>';
}

function timeNode(secs) {
  const span = el('span');
  span.innerHTML = timeHtml(secs, nowSecs());
  return span;
}

function refreshTimes() {
  const now = nowSecs();
  for (const t of document.querySelectorAll('time.ago')) {
    t.textContent = relative(Number(t.dataset.t), now);
  }
}

// ---- model ----

function firstValue(family) {
  const m = family && family.metrics && family.metrics[0];
  if (!m || m.value === undefined) return null;
  const v = Number(m.value);
  return Number.isFinite(v) ? v : null;
}

function toGroup(raw) {
  const labels = Object.entries(raw.labels || {}).sort(([a], [b]) =>
    a === 'job' ? -1 : b === 'job' ? 1 : compareNames(a, b));
  const families = [];
  let series = 0;
  for (const name of Object.keys(raw)) {
    if (name === 'labels' || name === 'last_push_successful' || TIME_GAUGES.includes(name)) {
      continue;
    }
    const family = raw[name];
    if (!family || !Array.isArray(family.metrics)) continue;
    families.push({ name, family });
    series += family.metrics.length;
  }
  families.sort((a, b) => compareNames(a.name, b.name));
  const text = labels.map(([n, v]) => labelText(n, v)).join(' ') + ' ' +
    families.map((f) => f.name).join(' ');
  return {
    id: JSON.stringify(labels),
    labels,
    families,
    series,
    pushTime: firstValue(raw.push_time_seconds),
    failTime: firstValue(raw.push_failure_time_seconds),
    failed: raw.last_push_successful === false,
    stale: false,
    search: text.toLowerCase(),
    el: null,
  };
}

// Grouping-key order as people read it: by job, then by the other labels.
function compareKeys(a, b) {
  const n = Math.min(a.labels.length, b.labels.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = a.labels[i];
    const [bn, bv] = b.labels[i];
    if (an !== bn) return compareNames(an, bn);
    if (av !== bv) return compareNames(av, bv);
  }
  return a.labels.length - b.labels.length;
}

function isStale(group, now) {
  if (state.staleSecs <= 0) return false;
  return group.pushTime === null || group.pushTime <= 0 || now - group.pushTime > state.staleSecs;
}

// ---- the group list ----

function cardHtml(group, now) {
  let html = '<details class="group' + (group.failed ? ' failed' : '') +
    (group.stale ? ' stale' : '') + '"><summary>';
  for (const [name, value] of group.labels) {
    html += '<span class="badge' + (name === 'job' ? ' job' : '') + '">' +
      esc(labelText(name, value)) + '</span>';
  }
  if (group.failed) html += '<span class="flag failed">last push failed</span>';
  html += '<span class="flag stale">stale</span>';
  const nf = group.families.length;
  html += '<span class="meta">' + nf + (nf === 1 ? ' family, ' : ' families, ') +
    group.series + ' series · pushed ' +
    timeHtml(group.pushTime, now);
  if (group.failed && group.failTime !== null) {
    html += ' · <span class="failed-at">failed ' + timeHtml(group.failTime, now) + '</span>';
  }
  return html + '</span></summary></details>';
}

// The list shows `state.view` (the groups that match, in the chosen order) from the top,
// PAGE cards at a time: more are appended as the end of the list nears the screen, so the
// page costs the same with 50 groups or 50,000. A group's card is built once and kept.
function cardElements(groups) {
  const missing = groups.filter((g) => !g.el);
  if (missing.length === 0) return;
  const now = nowSecs();
  const template = document.createElement('template');
  template.innerHTML = missing.map((g) => cardHtml(g, now)).join('');
  const nodes = template.content.children;
  for (let i = 0; i < missing.length; i++) {
    missing[i].el = nodes[i];
    state.byEl.set(nodes[i], missing[i]);
  }
}

function renderMore(count) {
  const next = state.view.slice(state.rendered, state.rendered + count);
  cardElements(next);
  const fragment = document.createDocumentFragment();
  for (const g of next) fragment.append(g.el);
  $('groups').append(fragment);
  state.rendered += next.length;
  for (const g of next) {
    if (state.openIds.has(g.id) && !g.el.open) g.el.open = true;
    if (g.el.open && !g.el.querySelector('.body')) fillGroup(g);
  }
  const left = state.view.length - state.rendered;
  $('more').hidden = left <= 0;
  $('more-all').hidden = left <= 0;
  $('more-count').textContent = String(left);
  // The observer reports only changes: while the end stays near, keep adding.
  if (state.moreNear && left > 0) requestAnimationFrame(() => state.moreNear && renderMore(PAGE));
}

// After a load: the groups are new objects, so the list is rebuilt (even when empty).
function renderGroups() {
  state.byEl = new WeakMap();
  state.view = null;
  applyView();
}

function matches(group) {
  for (const term of state.terms) if (!group.search.includes(term)) return false;
  switch (state.show) {
    case 'failed': return group.failed;
    case 'stale': return group.stale;
    case 'attention': return group.failed || group.stale;
    default: return true;
  }
}

function sameGroups(a, b) {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Staleness, filter, order and the summary line. The list is rebuilt only if what it
// shows changed, keeping as many cards as it had.
function applyView() {
  const now = nowSecs();
  let families = 0;
  let series = 0;
  let failed = 0;
  let stale = 0;
  const view = [];
  for (const g of state.groups) {
    const s = isStale(g, now);
    if (s !== g.stale) {
      g.stale = s;
      if (g.el) g.el.classList.toggle('stale', s);
    }
    if (matches(g)) view.push(g);
    families += g.families.length;
    series += g.series;
    if (g.failed) failed++;
    if (g.stale) stale++;
  }
  if (state.sort !== 'key') {
    const sign = state.sort === 'oldest' ? 1 : -1;
    view.sort((a, b) => sign * ((a.pushTime || 0) - (b.pushTime || 0)));
  }
  if (!sameGroups(view, state.view)) {
    const keep = Math.max(PAGE, state.rendered);
    state.view = view;
    state.rendered = 0;
    $('groups').replaceChildren();
    renderMore(keep);
  }
  const total = state.groups.length;
  const shown = view.length;
  let html = '<strong>' + total + '</strong> ' + (total === 1 ? 'group' : 'groups') +
    ', <strong>' + families + '</strong> families, <strong>' + series + '</strong> series';
  html += ' · <span class="n-failed">' + failed + ' failed</span>';
  if (state.staleSecs > 0) html += ' · <span class="n-stale">' + stale + ' stale</span>';
  if (shown !== total) html += ' · showing <strong id="shown">' + shown + '</strong>';
  if (total === 0) html = 'No groups: nothing has been pushed yet.';
  else if (shown === 0) html += ' · no group matches';
  $('summary').innerHTML = html;
}

// ---- an opened group ----

function fillGroup(group) {
  const body = el('div', 'body');
  const info = el('div', 'info');
  const last = el('span', null, 'Last push: ');
  last.append(timeNode(group.pushTime));
  info.append(last);
  if (group.failTime !== null && group.failTime > 0) {
    const failed = el('span', group.failed ? 'failed-at' : null, 'Last failed push: ');
    failed.append(timeNode(group.failTime));
    info.append(failed);
  }
  if (state.adminApi) {
    const button = el('button', 'danger delete', 'Delete group');
    button.type = 'button';
    button.dataset.action = 'delete';
    info.append(button);
  }
  body.append(info);
  if (group.families.length === 0) {
    body.append(el('p', 'empty-note', 'No metric families: the last push replaced them with nothing.'));
  }
  const grouping = new Map(group.labels);
  for (const { name, family } of group.families) body.append(familyNode(name, family, grouping));
  group.el.append(body);
}

function familyNode(name, family, grouping) {
  const box = el('section', 'family');
  const head = el('div', 'fhead');
  head.append(el('code', 'fname', name));
  const type = String(family.type || 'UNTYPED').toLowerCase();
  head.append(el('span', 'type', type.replace('_', ' ')));
  const pushed = el('span', 'pushed', 'pushed ');
  pushed.append(timeNode(parseTime(family.time_stamp)));
  head.append(pushed);
  box.append(head);
  if (family.help) box.append(el('p', 'help', family.help));
  box.append(seriesTable(family.metrics, grouping, SERIES_SHOWN));
  return box;
}

// The series of one family: their own labels (the grouping labels and empty values, which
// every series has, are left out) and their values as the type has them.
function seriesTable(metrics, grouping, limit) {
  const wrap = el('div');
  const table = el('table', 'series');
  const first = metrics[0] || {};
  const kind = first.quantiles ? 'summary' : first.buckets ? 'histogram' : 'value';
  const head = el('tr');
  const columns = kind === 'value' ? ['series', 'value']
    : ['series', 'count', 'sum', kind === 'summary' ? 'quantiles' : 'buckets (cumulative)'];
  for (const c of columns) head.append(el('th', null, c));
  table.append(head);
  const shown = Math.min(metrics.length, limit);
  for (let i = 0; i < shown; i++) table.append(seriesRow(metrics[i], kind, grouping));
  wrap.append(table);
  if (metrics.length > shown) {
    const more = el('button', 'more', 'Show all ' + metrics.length + ' series');
    more.type = 'button';
    more.addEventListener('click', () => wrap.replaceWith(seriesTable(metrics, grouping, Infinity)));
    wrap.append(more);
  }
  return wrap;
}

function seriesRow(metric, kind, grouping) {
  const row = el('tr');
  const cell = el('td', 'mono');
  let own = 0;
  for (const [name, value] of Object.entries(metric.labels || {})) {
    if (value === '' || grouping.get(name) === value) continue;
    cell.append(el('span', 'lbl', labelText(name, value)));
    own++;
  }
  if (own === 0) cell.append(el('span', 'abs', '(grouping labels only)'));
  row.append(cell);
  if (kind === 'value') {
    row.append(el('td', 'num', metric.value));
    return row;
  }
  row.append(el('td', 'num', metric.count), el('td', 'num', metric.sum));
  const dist = el('td');
  if (kind === 'summary') {
    dist.append(twoRows('quantile', 'value', Object.entries(metric.quantiles)
      .sort(([a], [b]) => bound(a) - bound(b))));
  } else if (Array.isArray(metric.buckets)) {
    // Native histogram: [boundary code, lower, upper, count]; the code says which ends
    // are open: 0 (l,u]  1 [l,u)  2 (l,u)  3 [l,u].
    const ends = [['(', ']'], ['[', ')'], ['(', ')'], ['[', ']']];
    dist.append(twoRows('bucket', 'count', metric.buckets.map(([code, lower, upper, count]) => {
      const [l, r] = ends[code] || ends[0];
      return [l + lower + ', ' + upper + r, count];
    })));
  } else {
    dist.append(twoRows('le', 'count', Object.entries(metric.buckets)
      .sort(([a], [b]) => bound(a) - bound(b))));
  }
  row.append(dist);
  return row;
}

// A small table of key/value pairs laid out in two rows (bounds above, counts below).
function twoRows(keyName, valueName, pairs) {
  const box = el('div', 'dist');
  const table = el('table');
  const keys = el('tr');
  const values = el('tr');
  keys.append(el('th', null, keyName));
  values.append(el('th', null, valueName));
  for (const [k, v] of pairs) {
    keys.append(el('th', null, k));
    values.append(el('td', null, v));
  }
  table.append(keys, values);
  box.append(table);
  return box;
}

// ---- delete and wipe ----

function base64url(value) {
  if (value === '') return '=';
  let binary = '';
  for (const byte of new TextEncoder().encode(value)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// A label name as a push URL names it: as it is, or `U__`-escaped under UTF-8 names when
// it is not a legacy name, or starts with `__` (refused as written) or `U__`.
function urlName(name) {
  const plain = LEGACY_NAME.test(name) && !name.startsWith('__') && !name.startsWith('U__');
  if (!state.utf8Names || plain) return name;
  let out = 'U__';
  for (const ch of name) {
    if (/[a-zA-Z0-9]/.test(ch)) out += ch;
    else if (ch === '_') out += '__';
    else out += '_' + ch.codePointAt(0).toString(16) + '_';
  }
  return out;
}

// Every value in base64, so empty values and values with `/` name the group exactly.
function deleteUrl(group) {
  let url = 'metrics/job@base64/' + base64url(new Map(group.labels).get('job') || '');
  for (const [name, value] of group.labels) {
    if (name !== 'job') url += '/' + urlName(name) + '@base64/' + base64url(value);
  }
  return url;
}

async function deleteGroup(group) {
  const key = '{' + group.labels.map(([n, v]) => labelText(n, v)).join(', ') + '}';
  if (!window.confirm('Delete group ' + key + '?')) return;
  const response = await fetch(deleteUrl(group), { method: 'DELETE' });
  if (!response.ok) {
    showError('Deleting ' + key + ' failed: ' + response.status + ' ' + (await response.text()));
    return;
  }
  group.el.remove();
  state.groups = state.groups.filter((g) => g !== group);
  const at = state.view.indexOf(group);
  if (at >= 0) {
    state.view.splice(at, 1);
    if (at < state.rendered) state.rendered--;
  }
  applyView();
}

async function wipe() {
  const n = state.groups.length;
  if (!window.confirm('Delete all ' + n + (n === 1 ? ' group?' : ' groups?'))) return;
  const response = await fetch('api/v1/admin/wipe', { method: 'PUT' });
  if (!response.ok) {
    showError('Deleting all groups failed: ' + response.status + ' ' + (await response.text()));
    return;
  }
  await load();
}

// ---- status tab ----

function kvRows(table, pairs) {
  table.replaceChildren();
  for (const [k, v] of pairs) {
    const row = el('tr');
    const value = el('td');
    if (v instanceof Node) value.append(v);
    else value.textContent = v;
    row.append(el('th', null, k), value);
    table.append(row);
  }
}

const BUILD_NAMES = {
  version: 'Version',
  revision: 'Revision',
  branch: 'Branch',
  buildUser: 'Build user',
  buildDate: 'Build date',
  goVersion: 'Compiler',
};

function renderStatus() {
  const status = state.status;
  if (!status) return;
  const started = parseTime(status.start_time);
  const since = el('span');
  if (started !== null) since.append(timeNode(started));
  kvRows($('started'), [['Started', started === null ? String(status.start_time) : since]]);
  const build = status.build_information || {};
  kvRows($('build'), Object.keys(build).sort().map((k) => [BUILD_NAMES[k] || k, build[k]]));
  const flags = status.flags || {};
  kvRows($('flags'), Object.keys(flags).sort().map((k) => ['--' + k, flags[k]]));
}

// ---- loading ----

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

// The body of a GET as text; parsed by the caller, so that the two can be timed apart.
async function getText(url) {
  const response = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) throw new Error(url + ': ' + response.status + ' ' + text.trim());
  return text;
}

// Timings of the last load, in ms, for the render benchmark (tests/ui/render_bench.py).
window.cairnTiming = null;

async function load() {
  const started = performance.now();
  $('error').hidden = true;
  let texts;
  try {
    texts = await Promise.all([getText('api/v1/status'), getText('api/v1/metrics')]);
  } catch (err) {
    showError('Could not load ' + err.message);
    $('summary').textContent = '';
    return;
  }
  const fetched = performance.now();
  const [status, groups] = texts.map((t) => JSON.parse(t).data);
  const parsed = performance.now();
  state.status = status;
  const flags = (status && status.flags) || {};
  state.adminApi = flags['web.enable-admin-api'] === 'true';
  state.utf8Names = flags['push.enable-utf8-names'] === 'true';
  $('wipe').hidden = !state.adminApi;
  renderStatus();
  state.groups = (Array.isArray(groups) ? groups : []).map(toGroup).sort(compareKeys);
  const modelled = performance.now();
  renderGroups();
  const built = performance.now();
  // After the next frame is painted: the cards are on screen.
  requestAnimationFrame(() => setTimeout(() => {
    const painted = performance.now();
    window.cairnTiming = {
      groups: state.groups.length,
      fetchMs: fetched - started,
      parseMs: parsed - fetched,
      modelMs: modelled - parsed,
      buildMs: built - modelled,
      paintMs: painted - built,
      sinceNavigationMs: painted,
    };
    document.documentElement.dataset.rendered = String(painted);
  }, 0));
}

// ---- wiring ----

function selectTab(status) {
  $('groups-view').hidden = status;
  $('status-view').hidden = !status;
  const [current, other] = status ? ['tab-status', 'tab-groups'] : ['tab-groups', 'tab-status'];
  $(current).setAttribute('aria-current', 'page');
  $(other).removeAttribute('aria-current');
}

const onStatusPath = () => /\/status$/.test(location.pathname);

let viewQueued = false;
function queueView() {
  if (viewQueued) return;
  viewQueued = true;
  requestAnimationFrame(() => {
    viewQueued = false;
    applyView();
  });
}

function setFilter(text) {
  state.terms = text.toLowerCase().split(/\s+/).filter(Boolean);
  const url = new URL(location.href);
  if (text) url.searchParams.set('q', text);
  else url.searchParams.delete('q');
  history.replaceState(history.state, '', url);
  queueView();
}

function init() {
  const filter = $('filter');
  const query = new URLSearchParams(location.search).get('q') || '';
  filter.value = query;
  state.terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  filter.addEventListener('input', () => setFilter(filter.value));

  const stored = Number(localStorage.getItem(STALE_KEY));
  const stale = $('stale');
  if (localStorage.getItem(STALE_KEY) !== null && [...stale.options].some((o) => Number(o.value) === stored)) {
    state.staleSecs = stored;
  }
  stale.value = String(state.staleSecs);
  stale.addEventListener('change', () => {
    state.staleSecs = Number(stale.value);
    localStorage.setItem(STALE_KEY, String(state.staleSecs));
    applyView();
  });
  $('show').addEventListener('change', (e) => {
    state.show = e.target.value;
    applyView();
  });
  $('sort').addEventListener('change', (e) => {
    state.sort = e.target.value;
    applyView();
  });
  $('expand').addEventListener('click', () => {
    if (state.view.length > EXPAND_MAX) {
      showError('Filter to ' + EXPAND_MAX + ' groups or fewer to expand them all (' +
        state.view.length + ' shown).');
      return;
    }
    for (const g of state.view) state.openIds.add(g.id);
    renderMore(Infinity);
    for (const g of state.view) g.el.open = true;
  });
  $('collapse').addEventListener('click', () => {
    state.openIds.clear();
    for (const g of state.groups) if (g.el && g.el.open) g.el.open = false;
  });
  $('more-all').addEventListener('click', () => renderMore(Infinity));
  // Near the end of the list, the next cards come in before they are needed.
  new IntersectionObserver((entries) => {
    state.moreNear = entries[entries.length - 1].isIntersecting;
    if (state.moreNear) renderMore(PAGE);
  }, { rootMargin: '1500px 0px' }).observe($('more'));
  $('refresh').addEventListener('click', load);
  $('wipe').addEventListener('click', wipe);

  const groupsEl = $('groups');
  // `toggle` does not bubble; capturing on the container sees every card's.
  groupsEl.addEventListener('toggle', (e) => {
    const group = state.byEl.get(e.target);
    if (!group) return;
    if (group.el.open) state.openIds.add(group.id);
    else state.openIds.delete(group.id);
    if (group.el.open && !group.el.querySelector('.body')) fillGroup(group);
  }, true);
  groupsEl.addEventListener('click', (e) => {
    const button = e.target.closest('button[data-action="delete"]');
    if (!button) return;
    const group = state.byEl.get(button.closest('details.group'));
    if (group) deleteGroup(group);
  });

  for (const [id, status] of [['tab-groups', false], ['tab-status', true]]) {
    $(id).addEventListener('click', (e) => {
      e.preventDefault();
      history.pushState(null, '', $(id).getAttribute('href') + (status ? '' : location.search));
      selectTab(status);
    });
  }
  window.addEventListener('popstate', () => selectTab(onStatusPath()));
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && document.activeElement !== filter && !onStatusPath()) {
      e.preventDefault();
      filter.focus();
    }
  });
  selectTab(onStatusPath());
  setInterval(() => {
    refreshTimes();
    if (state.groups.length) applyView();
  }, 30000);
  load();
}

init();
