/** The live page: polls /summary and /metrics-derived figures; no build step, no dependencies. */
export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxrec live</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}input{width:8em}</style>
</head><body>
<h1>rxrec</h1>
<p>Prequential figures (test, then train), refreshed every second.</p>
<table id="models"><thead><tr><th>model</th><th>RMSE</th><th>MAE</th><th>hit@k</th><th>NDCG@k</th></tr></thead><tbody></tbody></table>
<p id="ranking"></p>
<h2>Recommendations</h2>
<form id="lookup">user <input name="user" value="1"> <button>show</button></form>
<ol id="list"></ol>
<script>
const fmt = (x) => (typeof x !== 'number' || Number.isNaN(x) ? '–' : x.toFixed(4));
// Text nodes only: ids and titles come from the stream and must never become markup.
const row = (cells, tag = 'td') => { const tr = document.createElement('tr'); for (const c of cells) { const td = document.createElement(tag); td.textContent = c; tr.append(td); } return tr; };
async function refresh() {
  const s = await (await fetch('/summary')).json();
  document.querySelector('#models tbody').replaceChildren(...Object.entries(s.models).map(([m, f]) => row([m, fmt(f.rmse), fmt(f.mae), fmt(f.hitAt10), fmt(f.ndcgAt10)])));
  document.querySelector('#ranking').textContent = 'lists as published: hit@k ' + fmt(s.published.hitAtK) + ', NDCG@k ' + fmt(s.published.ndcgAtK);
}
document.querySelector('#lookup').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = new FormData(e.target).get('user');
  const r = await (await fetch('/recommendations/' + encodeURIComponent(user))).json();
  document.querySelector('#list').replaceChildren(...r.items.map((i) => { const li = document.createElement('li'); li.textContent = i.itemId + ' (' + i.score.toFixed(3) + ') — ' + i.why; return li; }));
});
refresh(); setInterval(refresh, 1000);
</script></body></html>
`;
