/**
 * `rxrec report`: one self-contained HTML file from a state directory — the replay's series
 * (prequential RMSE and hit@10 of each model over the stream, throughput over time, the
 * event-to-publish latency histogram), the final figures, and the side-by-side table of
 * bench/results/reference.json (`npm run bench:reference`) when there is one. Static SVG, inline
 * CSS, no script: it opens from disk, offline, and prints.
 */
import type { SeriesPoint } from '../../state/store.js';
import { LATENCY_BUCKETS } from '../metrics.js';
import { barChart, escapeXml, lineChart, type Line } from './svg.js';

export interface ReportInput {
  readonly stateDir: string;
  readonly series: readonly SeriesPoint[];
  /** The settings bound to the state (models, scale, …). */
  readonly config: Readonly<Record<string, unknown>> | undefined;
  readonly figures: Readonly<Record<string, { readonly rmse?: number; readonly mae?: number; readonly hitAt10?: number; readonly ndcgAt10?: number }>>;
  /** Rows of the references table (bench/results/reference.json), when it exists. */
  readonly references?: { readonly source: string; readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>> };
  readonly generatedAt: Date;
}

export function reportHtml(input: ReportInput): string {
  const { series } = input;
  const models = [...new Set(series.flatMap((p) => Object.keys(p.models)))];
  const over = (figure: 'rmse' | 'hitAt10'): Line[] =>
    models
      .map((name) => ({
        name,
        points: series.flatMap((p) => {
          const y = p.models[name]?.[figure];
          return y === undefined ? [] : [[p.position, y] as const];
        }),
      }))
      .filter((line) => line.points.length > 0);
  const sections = [
    lineChart({ title: 'Prequential RMSE over the stream', x: 'events applied', y: 'RMSE' }, over('rmse')),
    lineChart({ title: 'Prequential hit@10 over the stream (fresh lists, sampled events)', x: 'events applied', y: 'hit@10' }, over('hitAt10')),
    lineChart({ title: 'Throughput over time', x: 'seconds of replay', y: 'events/s' }, [{ name: 'events/s', points: throughput(series) }]),
    barChart({ title: 'Event-to-publish latency', x: 'at most', y: 'events' }, latencyBars(series)),
  ];
  const last = series[series.length - 1];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxrec report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}
svg{display:block;margin:1em 0;max-width:100%;height:auto}
svg .title{font-weight:600;font-size:14px}svg .tick,svg .legend{font-size:11px;fill:#444}svg .label{font-size:12px;fill:#444}
svg .axis{stroke:#444}svg .grid{stroke:#eee}svg .empty{fill:#888}
.meta{color:#555}
</style></head><body>
<h1>rxrec report</h1>
<p class="meta">State ${escapeXml(input.stateDir)}; ${last ? `${last.position.toLocaleString('en-US')} events applied` : 'no series recorded (replay this state with a newer rxrec to record one)'}; generated ${escapeXml(input.generatedAt.toISOString())}.${input.config ? ` Models: ${escapeXml(String((input.config.models as string[] | undefined)?.join(', ') ?? ''))}; scale ${escapeXml(String(input.config.scale ?? ''))}.` : ''}</p>
<h2>Final prequential figures</h2>
${table(
  ['model', 'RMSE', 'MAE', 'hit@10', 'NDCG@10'],
  Object.entries(input.figures).map(([name, f]) => [name, f.rmse, f.mae, f.hitAt10, f.ndcgAt10]),
)}
<h2>Over the stream</h2>
${sections.join('\n')}
${input.references ? `<h2>Side by side with other toolkits</h2>\n<p class="meta">From ${escapeXml(input.references.source)}.</p>\n${referenceTable(input.references.rows)}` : '<p class="meta">No side-by-side table: run <code>npm run bench:reference</code> to make bench/results/reference.json.</p>'}
</body></html>
`;
}

/** events/s between consecutive points of the same run, against seconds of replay (runs laid end to end). */
function throughput(series: readonly SeriesPoint[]): Array<readonly [number, number]> {
  const points: Array<readonly [number, number]> = [];
  let elapsed = 0;
  for (let i = 1; i < series.length; i++) {
    const [a, b] = [series[i - 1]!, series[i]!];
    if (a.run !== b.run || b.time <= a.time) continue;
    elapsed += (b.time - a.time) / 1000;
    points.push([elapsed, (b.position - a.position) / ((b.time - a.time) / 1000)]);
  }
  return points;
}

function latencyBars(series: readonly SeriesPoint[]): Array<readonly [string, number]> {
  const counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  for (const point of series) point.latency.forEach((count, bucket) => (counts[bucket]! += count));
  const label = (s: number) => (s < 1 ? `${s * 1000} ms` : `${s} s`);
  return counts.map(
    (count, bucket) => [bucket < LATENCY_BUCKETS.length ? label(LATENCY_BUCKETS[bucket]!) : `> ${label(LATENCY_BUCKETS.at(-1)!)}`, count] as const,
  );
}

function referenceTable(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return table(
    columns,
    rows.map((row) => columns.map((column) => row[column])),
  );
}

function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): string {
  const cell = (value: unknown) => {
    if (value === undefined || value === null) return '–';
    if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(4);
    return escapeXml(String(value));
  };
  return `<table><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
