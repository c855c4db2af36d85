import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import dashboard from '../../deploy/grafana/dashboards/rxrec.json' with { type: 'json' };
import { dashboardQueries, metricNamesIn, variablePromql } from '../../deploy/grafana/dashboard-queries.js';
import { PipelineMetrics } from '../../streams/metrics.js';

/** The series names a scrape of this registry can hold: a histogram's as _bucket, _sum and _count, a summary's as itself, _sum and _count. */
async function exportedNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}

test('metric names in PromQL: selectors, not functions, keywords, labels, strings, ranges, numbers or Grafana variables', () => {
  const cases: [string, string[]][] = [
    ['rxrec_lmdb_size_bytes', ['rxrec_lmdb_size_bytes']],
    ['up{job="rxrec"} == 1', ['up']],
    ['sum by (le, stage) (rate(rxrec_stage_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval]))', ['rxrec_stage_duration_seconds_bucket']],
    ['histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le))', ['a_bucket']],
    ['sum without (model) (x) / ignoring (reason) group_left (model) y', ['x', 'y']],
    ['a and on(instance) b or c unless d atan2 e', ['a', 'b', 'c', 'd', 'e']],
    ['topk without (model) (3, a) + count by (reason) (b)', ['a', 'b']],
    ['rate (a[1h30m:1m] offset 5m) > bool 1.5e-3', ['a']],
    ['label_replace(a, "dst", "$1", "src", "(.*)")', ['a']],
    ['{__name__="rxrec_events_applied_total", instance!="x"}', ['rxrec_events_applied_total']],
    ['{__name__=~"rxrec_.*"}', []],
    ['a{model="sum(b)", reason=\'c{d}\'} + e', ['a', 'e']],
    ['x @ start() + y @ 1609746000', ['x', 'y']],
    ['job:rxrec_events:rate5m + Inf - NaN + 0x1f', ['job:rxrec_events:rate5m']],
    ['vector(0) + time() + scalar(a)', ['a']],
    ['$metric + ${other:raw} + a', ['a']],
    ['a # a comment naming b\n+ c', ['a', 'c']],
    ['a + a', ['a']],
  ];
  for (const [expr, names] of cases) assert.deepEqual(metricNamesIn(expr), names, expr);
});

test("Grafana variable queries: label_values' last argument is a label, not a metric", () => {
  assert.equal(variablePromql('label_values(rxrec_events_consumed_total, instance)'), 'rxrec_events_consumed_total');
  assert.equal(variablePromql('label_values(a{b="x,y"}, model)'), 'a{b="x,y"}');
  assert.equal(variablePromql('label_values(instance)'), '');
  assert.equal(variablePromql('query_result(topk(3, a))'), 'topk(3, a)');
  assert.equal(variablePromql('metrics(rxrec_.*)'), '');
  assert.deepEqual(metricNamesIn(variablePromql('label_values(rxrec_prequential_rmse, model)')), ['rxrec_prequential_rmse']);
});

test('every query of the Grafana dashboard names only metrics that rxrec exports', async () => {
  // The registry a long-running command (serve, replay --http-port) exposes on /metrics.
  const exported = await exportedNames(new PipelineMetrics({ processMetrics: true }).registry);
  const queries = dashboardQueries(dashboard);
  assert.ok(queries.length >= 20, `${queries.length} queries`);
  const problems: string[] = [];
  for (const { where, expr } of queries) {
    const names = metricNamesIn(expr);
    if (names.length === 0) problems.push(`${where} names no metric: ${expr}`);
    for (const name of names.filter((n) => !exported.has(n))) problems.push(`${where} reads ${name}, which rxrec does not export: ${expr}`);
  }
  assert.deepEqual(problems, []);
});

test('the dashboard shows what issue 10 asks for: events/s, lag, latency p50/p99, error and hit rate per model, dead letters, staleness, memory, readiness, Kafka errors and rebalances', () => {
  const exprs = dashboardQueries(dashboard).map((query) => query.expr);
  const reading = (name: string) => exprs.filter((expr) => metricNamesIn(expr).includes(name));
  for (const name of [
    'rxrec_events_consumed_total',
    'rxrec_events_applied_total',
    'rxrec_consumer_lag_records',
    'rxrec_prequential_rmse',
    'rxrec_prequential_mae',
    'rxrec_prequential_hit_rate',
    'rxrec_events_rejected_total',
    'rxrec_published_hit_rate',
    'rxrec_oldest_list_age_seconds',
    'process_resident_memory_bytes',
    'rxrec_ready',
    'rxrec_kafka_errors_total',
    'rxrec_kafka_rebalances_total',
  ]) {
    assert.ok(reading(name).length > 0, `no query reads ${name}`);
  }
  const latency = reading('rxrec_event_to_publish_latency_seconds_bucket');
  assert.ok(
    latency.some((expr) => expr.startsWith('histogram_quantile(0.5,')),
    'latency p50',
  );
  assert.ok(
    latency.some((expr) => expr.startsWith('histogram_quantile(0.99,')),
    'latency p99',
  );
  for (const expr of exprs.filter((e) => /rxrec_prequential_(rmse|mae|hit_rate|ndcg)/.test(e)))
    assert.match(expr, /^rxrec_prequential_\w+\{/, 'one series per model');
});

test('the dashboard lays its panels out on the grid without overlaps, with unique ids, on the data source variable', () => {
  const cells = new Map<string, number>();
  const ids = new Set<number>();
  for (const panel of dashboard.panels) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} twice`);
    ids.add(panel.id);
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && x + w <= 24, `panel ${panel.title} is off the 24-column grid`);
    for (let row = y; row < y + h; row++) {
      for (let column = x; column < x + w; column++) {
        const other = cells.get(`${row},${column}`);
        assert.equal(other, undefined, `panel ${panel.title} overlaps panel ${other}`);
        cells.set(`${row},${column}`, panel.id);
      }
    }
    if (panel.type !== 'row') assert.deepEqual((panel as { datasource?: unknown }).datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
  }
});
