/** The live page: polls /summary and /metrics-derived figures; no build step, no dependencies. */
export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxrec live</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}input{width:8em}</style>
</head><body>
<h1>rxrec</h1>
<p>Prequential figures (test, then train), refreshed every second.</p>
<table id="models"><thead><tr><th>model</th><th>RMSE</th><th>MAE</th></tr></thead><tbody></tbody></table>
<p id="ranking"></p>
<h2>Recommendations</h2>
<form id="lookup">user <input name="user" value="1"> <button>show</button></form>
<ol id="list"></ol>
<script>
const fmt = (x) => (x === null || Number.isNaN(x) ? '–' : x.toFixed(4));
async function refresh() {
  const s = await (await fetch('/summary')).json();
  document.querySelector('#models tbody').innerHTML = Object.entries(s.models)
    .map(([m, f]) => '<tr><td>' + m + '</td><td>' + fmt(f.rmse) + '</td><td>' + fmt(f.mae) + '</td></tr>').join('');
  document.querySelector('#ranking').textContent = 'hit@k ' + fmt(s.hitAtK) + ', NDCG@k ' + fmt(s.ndcgAtK);
}
document.querySelector('#lookup').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = new FormData(e.target).get('user');
  const r = await (await fetch('/recommendations/' + encodeURIComponent(user))).json();
  document.querySelector('#list').innerHTML = r.items.map((i) => '<li>' + i.itemId + ' (' + i.score.toFixed(3) + ')</li>').join('');
});
refresh(); setInterval(refresh, 1000);
</script></body></html>
`;
