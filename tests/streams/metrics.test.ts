import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJECTION_KINDS } from '../../src/events/rating.js';
import { KAFKA_ERROR_KINDS, PipelineMetrics } from '../../streams/metrics.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { replayDataset } from './replay-run.js';

async function gaugeValue(metrics: PipelineMetrics): Promise<number> {
  return (await metrics.lmdbSize.get()).values[0]?.value ?? 0;
}

test('the LMDB size gauge follows the state during a replay, not only at its end', async () => {
  const metrics = new PipelineMetrics();
  const during: number[] = [];
  await replayDataset(writeMl100k(randomRatings(2000, 40, 60, 11)), tempDir(), {
    rankModel: 'mf',
    batchSize: 200,
    metrics,
    onBatch: () => {
      // A gauge without labels holds its value synchronously: read it as a scrape would see it now.
      void gaugeValue(metrics).then((value) => during.push(value));
    },
  });
  assert.ok(during.length >= 5, `${during.length} batches`);
  assert.ok(
    during.every((value) => value > 0),
    `size after each commit: ${during.join(', ')}`,
  );
  assert.ok((await gaugeValue(metrics)) > 0);
});

test('the event-to-publish latency histogram reaches catch-up times: 30 s falls in a finite bucket, the top one is at least 60 s', async () => {
  const metrics = new PipelineMetrics();
  metrics.publishLatency.observe(30);
  const buckets = (await metrics.publishLatency.get()).values.filter((v) => v.metricName === 'rxrec_event_to_publish_latency_seconds_bucket');
  const bounds = buckets.map((v) => v.labels.le).filter((le): le is number => typeof le === 'number');
  assert.ok(Math.max(...bounds) >= 60, `top bucket ${Math.max(...bounds)}`);
  const holding = buckets.find((v) => typeof v.labels.le === 'number' && v.value === 1);
  assert.ok(holding, 'some finite bucket counts the 30 s observation');
  assert.ok((holding.labels.le as number) <= 60);
});

test('labelled counters have their series from the start, at 0: every rejection reason, every Kafka error kind; readiness starts not ready', async () => {
  const text = await new PipelineMetrics().registry.metrics();
  for (const reason of REJECTION_KINDS) assert.match(text, new RegExp(`^rxrec_events_rejected_total\\{reason="${reason}"\\} 0$`, 'm'));
  for (const kind of KAFKA_ERROR_KINDS) assert.match(text, new RegExp(`^rxrec_kafka_errors_total\\{kind="${kind}"\\} 0$`, 'm'));
  assert.match(text, /^rxrec_kafka_rebalances_total 0$/m);
  assert.match(text, /^rxrec_ready 0$/m);
});
