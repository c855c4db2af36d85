/**
 * The live page at `/`: no build step, no library, nothing fetched from elsewhere. Its script
 * listens to `/events` (server-sent events, see live-feed.ts) and draws the charts as SVG
 * itself: events/s, each rating model's prequential RMSE and each ranking model's hit@k over
 * the stream position; below them the figures as a table, the newest published lists with
 * titles, and the list of a user picked by id (or by clicking one of the newest), which changes
 * as that user's ratings stream in.
 *
 * Ids and titles come from whoever can produce a rating or an item record, so the script writes
 * every value with textContent or as an SVG attribute holding a number: never as markup. The
 * Content-Security-Policy allows only this page's own script and style (by hash) and requests
 * to this origin, so even a value that became markup could run nothing.
 *
 * A bearer token given as `/?token=…` is passed on to `/events?token=…` (EventSource sends no
 * headers). When the stream ends the page keeps the last figures and says so; when the server
 * goes away it says that too and EventSource keeps retrying.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5em 2em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}
#status{font-weight:600}#status.finished{color:#0a6}#status.down{color:#b40}
.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;border:1px solid #ddd;padding:.5em;width:30em}
figcaption{font-weight:600;margin-bottom:.3em}
svg{width:100%;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#555}
svg .axis{stroke:#aaa;stroke-width:1}
svg .series{fill:none;stroke-width:1.8}
.legend{list-style:none;padding:0;margin:.3em 0 0;display:flex;flex-wrap:wrap;gap:.2em 1em;font-size:12px}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-1px}
table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}
ol{margin:.2em 0;padding-left:1.8em}li{margin:.1em 0}
.id{color:#777;font-size:12px}.why{color:#777;font-style:italic}
.lists{display:flex;flex-wrap:wrap;gap:.5em 2em}.lists section{min-width:18em;max-width:28em}
button.user{font:inherit;border:0;background:none;color:#06c;text-decoration:underline;cursor:pointer;padding:0}
input{width:10em}
`;

const SCRIPT = `
'use strict';
const SVG_NS = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MAX_POINTS = 600;
const params = new URLSearchParams(location.search);
const token = params.get('token');
const $ = (id) => document.getElementById(id);
let summaries = [];
let source;

// Every value goes in as text: ids and titles come from the stream and must never become markup.
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}
function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
const isNumber = (x) => typeof x === 'number' && Number.isFinite(x);
const fixed = (x, digits) => (isNumber(x) ? x.toFixed(digits) : '–');
const count = (x) => (isNumber(x) ? Math.round(x).toLocaleString('en') : '–');

function drawChart(box, legend, series, digits) {
  const W = 480, H = 200, left = 52, right = 10, top = 10, bottom = 24;
  const drawn = series.filter((s) => s.points.length > 0);
  const points = drawn.flatMap((s) => s.points);
  if (points.length === 0) {
    box.replaceChildren(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'waiting for figures'));
    legend.replaceChildren();
    return;
  }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= y0 === 0 ? 1 : Math.abs(y0) * 0.05; y1 += y1 === 0 ? 1 : Math.abs(y1) * 0.05; }
  const sx = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const sy = (y) => top + (1 - (y - y0) / (y1 - y0)) * (H - top - bottom);
  const nodes = [
    svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: H - bottom }),
    svg('line', { class: 'axis', x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }),
  ];
  for (const y of [y0, (y0 + y1) / 2, y1]) nodes.push(svg('text', { x: left - 4, y: sy(y) + 4, 'text-anchor': 'end' }, y.toFixed(digits)));
  nodes.push(svg('text', { x: left, y: H - 6 }, count(x0)));
  nodes.push(svg('text', { x: W - right, y: H - 6, 'text-anchor': 'end' }, count(x1) + ' events'));
  legend.replaceChildren();
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => (j === 0 ? 'M' : 'L') + sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join('');
      nodes.push(svg('path', { class: 'series', d, stroke: colour }));
      const last = s.points[s.points.length - 1];
      nodes.push(svg('circle', { cx: sx(last[0]).toFixed(1), cy: sy(last[1]).toFixed(1), r: 2.5, fill: colour }));
    }
    const entry = element('li');
    const swatch = element('span', undefined, 'swatch');
    swatch.style.background = colour;
    const latest = s.points.length > 0 ? s.points[s.points.length - 1][1] : undefined;
    entry.append(swatch, document.createTextNode(s.name + ' ' + fixed(latest, digits)));
    legend.append(entry);
  });
  box.replaceChildren(...nodes);
}

function seriesOf(names, figure) {
  return names.map((name) => ({
    name,
    points: summaries.filter((s) => isNumber(s.models[name] && s.models[name][figure])).map((s) => [s.position, s.models[name][figure]]),
  }));
}

function render() {
  const s = summaries[summaries.length - 1];
  if (!s) return;
  const where = isNumber(s.total) ? count(s.position) + ' of ' + count(s.total) + ' (' + fixed((100 * s.position) / Math.max(s.total, 1), 1) + ' %)' : count(s.position);
  $('position').textContent = where + (isNumber(s.lag) ? ', lag ' + count(s.lag) + ' records' : '');
  $('rate').textContent = count(s.eventsPerSecond);
  $('rank-model').textContent = s.rankModel;
  if (s.finished) setStatus('finished: the stream ended, these are its final figures', 'finished');
  drawChart($('chart-rate'), $('legend-rate'), [{ name: 'events/s', points: summaries.map((x) => [x.position, x.eventsPerSecond]) }], 0);
  drawChart($('chart-rmse'), $('legend-rmse'), seriesOf(s.ratingModels, 'rmse'), 3);
  drawChart($('chart-hit'), $('legend-hit'), seriesOf(s.rankingModels, 'hitAt10'), 3);
  for (const node of document.querySelectorAll('.k')) node.textContent = String(s.k);
  const names = [...new Set([...s.ratingModels, ...s.rankingModels])];
  $('models').replaceChildren(
    ...names.map((name) => {
      const f = s.models[name] || {};
      const row = element('tr');
      const cells = [name + (name === s.rankModel ? ' (serves the lists)' : ''), fixed(f.rmse, 4), fixed(f.mae, 4), fixed(f.hitAt10, 4), fixed(f.ndcgAt10, 4)];
      for (const cell of cells) row.append(element('td', cell));
      return row;
    }),
  );
  $('published').textContent = 'lists as published: hit@' + s.k + ' ' + fixed(s.published.hitAtK, 4) + ', NDCG@' + s.k + ' ' + fixed(s.published.ndcgAtK, 4);
}

function setStatus(text, className) {
  $('status').textContent = text;
  $('status').className = className || '';
}

function listItems(items) {
  const list = element('ol');
  for (const item of items) {
    const entry = element('li');
    entry.append(element('span', item.title === undefined ? item.itemId : item.title, 'title'), document.createTextNode(' '));
    entry.append(element('span', '(' + item.itemId + ', ' + fixed(item.score, 3) + ')', 'id'), document.createTextNode(' '));
    entry.append(element('span', item.why, 'why'));
    list.append(entry);
  }
  return list;
}

function userButton(userId) {
  const button = element('button', 'user ' + userId, 'user');
  button.type = 'button';
  button.addEventListener('click', () => watch(userId));
  return button;
}

function renderNewest(lists) {
  if (lists.length === 0) return $('newest').replaceChildren(element('p', 'no list published yet'));
  $('newest').replaceChildren(
    ...lists.map((list) => {
      const section = element('section');
      const heading = element('h3');
      heading.append(userButton(list.userId), document.createTextNode(' · ' + list.model + ' · after offset ' + (list.sourceOffset || '–')));
      section.append(heading, listItems(list.items));
      return section;
    }),
  );
}

function renderUser(list) {
  const when = new Date(list.publishedAt).toLocaleTimeString('en-GB');
  const about = list.known ? 'their list after offset ' + list.sourceOffset : 'no ratings yet: the newcomer list';
  $('user-status').textContent = 'user ' + list.userId + ', ' + about + ' (' + list.model + ', computed ' + when + ')';
  $('user-list').replaceChildren(listItems(list.items));
}

function connect(user) {
  if (source) source.close();
  const query = new URLSearchParams();
  if (user) query.set('user', user);
  if (token) query.set('token', token);
  source = new EventSource('/events' + (query.size > 0 ? '?' + query : ''));
  source.onopen = () => { if (!(summaries.length > 0 && summaries[summaries.length - 1].finished)) setStatus('live'); };
  source.onerror = () => {
    const finished = summaries.length > 0 && summaries[summaries.length - 1].finished;
    setStatus((finished ? 'finished, and the server has stopped' : 'disconnected') + ': showing the last figures received; reconnecting…', 'down');
  };
  source.addEventListener('history', (e) => { summaries = JSON.parse(e.data); render(); });
  source.addEventListener('summary', (e) => {
    summaries.push(JSON.parse(e.data));
    if (summaries.length > MAX_POINTS) summaries.shift();
    render();
  });
  source.addEventListener('lists', (e) => renderNewest(JSON.parse(e.data)));
  source.addEventListener('user', (e) => renderUser(JSON.parse(e.data)));
}

function watch(user) {
  $('user').value = user;
  const address = new URL(location.href);
  if (user) address.searchParams.set('user', user);
  else address.searchParams.delete('user');
  history.replaceState(null, '', address);
  $('user-status').textContent = user ? 'waiting for user ' + user + '…' : '';
  $('user-list').replaceChildren();
  connect(user);
}

$('picker').addEventListener('submit', (e) => { e.preventDefault(); watch($('user').value.trim()); });
watch(params.get('user') || '');
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxrec live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
</head><body>
<h1>rxrec live</h1>
<p><span id="status">connecting…</span></p>
<p>stream position <b id="position">–</b> · <b id="rate">–</b> events/s · lists served by <b id="rank-model">–</b></p>
<div class="charts">
<figure><figcaption>events/s</figcaption><svg id="chart-rate" viewBox="0 0 480 200" role="img" aria-label="events per second"></svg><ul class="legend" id="legend-rate"></ul></figure>
<figure><figcaption>prequential RMSE per rating model</figcaption><svg id="chart-rmse" viewBox="0 0 480 200" role="img" aria-label="prequential RMSE"></svg><ul class="legend" id="legend-rmse"></ul></figure>
<figure><figcaption>prequential hit@<span class="k">10</span> per ranking model</figcaption><svg id="chart-hit" viewBox="0 0 480 200" role="img" aria-label="prequential hit rate"></svg><ul class="legend" id="legend-hit"></ul></figure>
</div>
<h2>Prequential figures (test, then train)</h2>
<table><thead><tr><th>model</th><th>RMSE</th><th>MAE</th><th>hit@<span class="k">10</span></th><th>NDCG@<span class="k">10</span></th></tr></thead><tbody id="models"></tbody></table>
<p id="published"></p>
<h2>A user's list</h2>
<form id="picker">user <input id="user" name="user" autocomplete="off"> <button>watch</button> (or click a user below)</form>
<p id="user-status"></p>
<div id="user-list"></div>
<h2>Newest published lists</h2>
<div id="newest" class="lists"></div>
<script>${SCRIPT}</script>
</body></html>
`;

export const LIVE_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  // The page's address may hold the bearer token: never send it on, never keep a copy.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;
