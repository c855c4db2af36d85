/**
 * npm run soak [-- --minutes 10 --rate 500 --users 300 --items 200 --brokers host:port --http-rate 4 --bad-share 0.01]
 *
 * A bounded soak of the Kafka path: one `rxrec serve` worker (a child process, CLI defaults, its
 * HTTP API on) consumes a steady `--rate` of ratings for `--minutes`, produced by this process
 * with a `--bad-share` of hostile records (bench/hostile-records.ts, so the dlq fills too), while
 * this process asks its HTTP API for lists of known and unknown users (`--http-rate` requests/s)
 * and scrapes /metrics every 5 s for the worker's RSS (process_resident_memory_bytes) and heap
 * (nodejs_heap_size_used_bytes). The broker is `--brokers`, else KAFKA_BROKERS, else a local one
 * started for the run (deploy/kafka/local-broker.ts); the topics are fresh (3 partitions).
 *
 * The ratings are drawn uniformly over `--users` × `--items` (300 × 200 by default): a catalogue
 * the stream covers within its first minutes (60,000 pairs; at 500 events/s 92 % of them are
 * rated after five minutes), so the state stops growing early and RSS growth in the second half is
 * not the state's. A larger catalogue measures the state growing as well.
 *
 * Figures: events produced and applied (and whether every valid one was), the dlq count (records
 * on the dlq topic) beside the worker's rejected count, RSS and heap at the start (the first
 * sample under load) and at the end, the event-to-publish p99 from the worker's histogram
 * rxrec_event_to_publish_latency_seconds (interpolated within its buckets), the HTTP p99 of the
 * list requests as this process timed them, and the RSS slope: least squares over the samples of
 * the second half of the run, in MB per minute. Verdict: bounded when that slope is under
 * 1 MB/min (what a leak of one record's bytes per event at 500 events/s would far exceed).
 * Progress on standard error; the last line of standard output is one JSON object.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kafkaClient } from '../streams/kafka/client.js';
import { kafkaSettings, topicNames, type KafkaSettings } from '../streams/kafka/config.js';
import { topicOffsets } from '../streams/kafka/offsets.js';
import { SharedProducer } from '../streams/kafka/producer.js';
import { ensureTopics } from '../streams/kafka/topics.js';
import { freePorts } from '../deploy/kafka/free-ports.js';
import { benchBrokers } from './bench-broker.js';
import { HostileRecords, seededRandom, type Expected } from './hostile-records.js';
import { histogramQuantile, scrape, type Samples } from './worker-metrics.js';

const CLI = fileURLToPath(new URL('../streams/cli/main.js', import.meta.url));
const SAMPLE_EVERY_MS = 5000;
const SEND_EVERY_MS = 100;
const SLOPE_BOUND_MB_PER_MINUTE = 1;
const MB = 1024 * 1024;
const quiet = () => undefined;

interface Sample {
  readonly minute: number;
  readonly rssMB: number;
  readonly heapMB: number;
  /** The V8 heap the main thread holds (used or not), and memory outside it (Buffers, typed arrays). */
  readonly heapTotalMB: number;
  readonly externalMB: number;
  /** The LMDB data file: mapped, so the pages the worker touched count in its RSS. */
  readonly lmdbMB: number;
  readonly applied: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '500' },
      brokers: { type: 'string' },
      'http-rate': { type: 'string', default: '4' },
      'bad-share': { type: 'string', default: '0.01' },
      seed: { type: 'string', default: '42' },
      users: { type: 'string', default: '300' },
      items: { type: 'string', default: '200' },
    },
  });
  const number = (name: keyof typeof values, min: number) => {
    const value = Number(values[name]);
    if (!(value >= min)) throw new Error(`--${name} must be a number of at least ${min}, not '${values[name]}'`);
    return value;
  };
  const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '').trim();
  return {
    minutes: number('minutes', 0.1),
    rate: number('rate', 1),
    httpRate: number('http-rate', 0),
    badShare: Math.min(1, number('bad-share', 0)),
    seed: number('seed', 0),
    catalogue: { users: Math.round(number('users', 1)), items: Math.round(number('items', 1)) },
    brokers: brokers === '' ? undefined : brokers,
  };
}

async function main(): Promise<void> {
  const run = options();
  const local = await benchBrokers(run.brokers, progress);
  const brokers = local.brokers.join(',');
  const stopBroker = local.stop;
  const stopping = new AbortController();
  // The first signal ends the run early, with its figures; a second one exits at once (the broker and the worker with it).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping.signal.aborted ? process.exit(130) : stopping.abort()));
  const settings = kafkaSettings({ brokers, clientId: 'rxrec-soak', topicPrefix: `soak-${randomUUID().slice(0, 8)}.`, partitions: 3 }, {});
  const stateDir = mkdtempSync(join(tmpdir(), 'rxrec-soak-'));
  try {
    const figures = await soak(settings, run, stateDir, stopping.signal);
    console.log(JSON.stringify(figures));
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
    stopBroker?.();
  }
}

async function soak(settings: KafkaSettings, run: ReturnType<typeof options>, stateDir: string, stop: AbortSignal) {
  const names = topicNames(settings.topicPrefix);
  const client = kafkaClient(settings, quiet);
  const admin = client.admin();
  await ensureTopics(admin, settings);
  const [httpPort] = await freePorts(1);
  const base = `http://127.0.0.1:${httpPort}`;
  const worker = startWorker(settings, stateDir, httpPort!);
  const producer = new SharedProducer(client, settings, quiet).retain();
  try {
    await until(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 120_000, 'the worker to be ready', worker);
    progress(
      `worker ready on ${base}; producing ${run.rate} events/s over ${run.catalogue.users} users × ${run.catalogue.items} items (${run.badShare * 100} % hostile) for ${run.minutes} min`,
    );

    const generator = new HostileRecords(run.seed, run.catalogue);
    const hostileDraw = seededRandom(run.seed + 1);
    const produced: Expected[] = [];
    const http = httpLoad(base, run.httpRate, run.seed, run.catalogue.users);
    const samples: Sample[] = [];
    const loadAtStart = loadavg()[0]!;
    const started = performance.now();
    const minutes = () => (performance.now() - started) / 60_000;
    let nextSample = 0;
    let sent = 0;
    while (minutes() < run.minutes && !stop.aborted) {
      worker.assertRunning();
      const due = Math.floor(((performance.now() - started) / 1000) * run.rate) - sent;
      if (due > 0) {
        const batch = Array.from({ length: due }, () => (hostileDraw() < run.badShare ? generator.hostile() : generator.valid()));
        await producer.send(
          names.ratings,
          batch.map(({ key, value }) => ({ key, value })),
        );
        for (const record of batch) produced.push(record.expected);
        sent += due;
      }
      if (performance.now() - started >= nextSample) {
        nextSample += SAMPLE_EVERY_MS;
        const metrics = await scrape(base).catch(() => undefined);
        if (metrics) {
          const sample = sampleOf(metrics, minutes());
          samples.push(sample);
          progress(
            `soak ${sample.minute.toFixed(1)}/${run.minutes} min: produced ${sent}, applied ${sample.applied}, dlq ${rejected(metrics)}, ` +
              `RSS ${sample.rssMB.toFixed(0)} MB, heap ${sample.heapMB.toFixed(0)} of ${sample.heapTotalMB.toFixed(0)} MB, external ${sample.externalMB.toFixed(0)} MB, LMDB ${sample.lmdbMB.toFixed(0)} MB, HTTP ${http.answered()} answered`,
          );
        }
      }
      await sleep(SEND_EVERY_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    const valid = produced.filter((expected) => expected === 'valid').length;
    progress(`stopped producing after ${seconds.toFixed(0)} s; waiting for the worker to apply the last events`);
    let final = await scrape(base);
    await until(
      async () => {
        final = await scrape(base);
        return (final.get('rxrec_events_applied_total') ?? 0) + rejected(final) >= produced.length;
      },
      120_000,
      'the worker to read every produced record',
      worker,
    );
    const httpFigures = await http.stop();
    samples.push(sampleOf(final, minutes()));
    const dlq = (await topicOffsets(admin, names.dlq)).reduce((sum, { high }) => sum + Number(high), 0);
    const firstLoaded = samples[1] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    const slope = rssSlope(samples.filter((sample) => sample.minute >= seconds / 120));
    const p50 = histogramQuantile(final, 'rxrec_event_to_publish_latency_seconds', 0.5);
    const p99 = histogramQuantile(final, 'rxrec_event_to_publish_latency_seconds', 0.99);
    const figures = {
      minutes: round(seconds / 60, 2),
      rate: run.rate,
      users: run.catalogue.users,
      items: run.catalogue.items,
      produced: produced.length,
      producedValid: valid,
      applied: final.get('rxrec_events_applied_total') ?? 0,
      allValidApplied: final.get('rxrec_events_applied_total') === valid,
      dlq,
      rejected: rejected(final),
      rssStartMB: round(firstLoaded.rssMB, 1),
      rssEndMB: round(last.rssMB, 1),
      heapStartMB: round(firstLoaded.heapMB, 1),
      heapEndMB: round(last.heapMB, 1),
      rssPeakMB: round(Math.max(...samples.map((sample) => sample.rssMB)), 1),
      heapTotalStartMB: round(firstLoaded.heapTotalMB, 1),
      heapTotalEndMB: round(last.heapTotalMB, 1),
      externalStartMB: round(firstLoaded.externalMB, 1),
      externalEndMB: round(last.externalMB, 1),
      lmdbStartMB: round(firstLoaded.lmdbMB, 1),
      lmdbEndMB: round(last.lmdbMB, 1),
      eventToPublishP50Ms: p50 === undefined ? null : round(p50 * 1000, 1),
      eventToPublishP99Ms: p99 === undefined ? null : round(p99 * 1000, 1),
      http: httpFigures,
      rssSlopeMBPerMinute: round(slope, 3),
      samples: samples.length,
      verdict: slope < SLOPE_BOUND_MB_PER_MINUTE ? 'bounded' : 'growing',
      // The machine is shared: its load says how much of the latency is waiting for a core.
      loadAverage: [round(loadAtStart, 2), round(loadavg()[0]!, 2)],
    };
    const stopped = await worker.stop();
    process.stderr.write(
      [
        `events produced ${figures.produced} (${figures.producedValid} valid), applied ${figures.applied}${figures.allValidApplied ? ' (every valid one)' : ' (NOT every valid one)'}`,
        `dlq ${figures.dlq} records (the worker rejected ${figures.rejected})`,
        `worker RSS ${figures.rssStartMB} MB at the start, ${figures.rssEndMB} MB at the end (peak ${figures.rssPeakMB}); heap ${figures.heapStartMB} → ${figures.heapEndMB} MB; LMDB file ${figures.lmdbStartMB} → ${figures.lmdbEndMB} MB`,
        `event-to-publish p50 ${figures.eventToPublishP50Ms} ms, p99 ${figures.eventToPublishP99Ms} ms; HTTP p99 ${figures.http.p99Ms} ms over ${figures.http.requests} requests (${figures.http.failed} failed)`,
        `RSS slope over the second half ${figures.rssSlopeMBPerMinute} MB/min: ${figures.verdict === 'bounded' ? `bounded (under ${SLOPE_BOUND_MB_PER_MINUTE} MB/min)` : `GROWING (at least ${SLOPE_BOUND_MB_PER_MINUTE} MB/min)`}`,
        `load average ${figures.loadAverage.join(' → ')} on ${availableParallelism()} cores`,
        `worker: ${stopped.trim().split('\n').pop()}`,
        '',
      ].join('\n'),
    );
    return figures;
  } finally {
    await producer.release().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    worker.kill();
  }
}

function sampleOf(metrics: Samples, minute: number): Sample {
  return {
    minute,
    rssMB: (metrics.get('process_resident_memory_bytes') ?? NaN) / MB,
    heapMB: (metrics.get('nodejs_heap_size_used_bytes') ?? NaN) / MB,
    heapTotalMB: (metrics.get('nodejs_heap_size_total_bytes') ?? NaN) / MB,
    externalMB: (metrics.get('nodejs_external_memory_bytes') ?? NaN) / MB,
    lmdbMB: (metrics.get('rxrec_lmdb_size_bytes') ?? NaN) / MB,
    applied: metrics.get('rxrec_events_applied_total') ?? 0,
  };
}

function rejected(metrics: Samples): number {
  let total = 0;
  for (const [series, value] of metrics) if (series.startsWith('rxrec_events_rejected_total{')) total += value;
  return total;
}

/** Least-squares slope of RSS (MB) over time (minutes). */
function rssSlope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const meanT = samples.reduce((sum, s) => sum + s.minute, 0) / n;
  const meanR = samples.reduce((sum, s) => sum + s.rssMB, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.minute - meanT) * (s.rssMB - meanR);
    variance += (s.minute - meanT) ** 2;
  }
  return covariance / variance;
}

/** GET /recommendations of known and unknown users and /metrics, `rate` a second, one at a time per tick; timed here. */
function httpLoad(base: string, rate: number, seed: number, users: number) {
  const latencies: number[] = [];
  let failed = 0;
  let running = rate > 0;
  let tick = 0;
  const loop = (async () => {
    while (running) {
      tick++;
      const path = tick % 10 === 0 ? '/metrics' : tick % 3 === 0 ? `/recommendations/stranger-${seed}-${tick}` : `/recommendations/${1 + (tick % users)}`;
      const started = performance.now();
      try {
        const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        if (response.status !== 200) failed++;
        else if (path.startsWith('/recommendations/')) latencies.push(performance.now() - started);
      } catch {
        failed++;
      }
      await sleep(Math.max(0, 1000 / rate - (performance.now() - started)));
    }
  })();
  return {
    answered: () => latencies.length,
    async stop() {
      running = false;
      await loop;
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => (sorted.length === 0 ? null : round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!, 1));
      return { requests: latencies.length + failed, failed, p50Ms: at(0.5), p99Ms: at(0.99) };
    },
  };
}

/** `rxrec serve` with a fresh state and CLI defaults, its HTTP API on `port`. */
function startWorker(settings: KafkaSettings, stateDir: string, port: number) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(KAFKA_|RXREC_)/.test(name)));
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--brokers',
      settings.brokers.join(','),
      '--topic-prefix',
      settings.topicPrefix,
      '--partitions',
      String(settings.ratingsPartitions),
      '--state',
      stateDir,
      '--http-port',
      String(port),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return {
    assertRunning() {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the worker exited (${child.exitCode ?? child.signalCode}):\n${log}`);
    },
    async stop(): Promise<string> {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`the worker exited ${code} on SIGTERM:\n${log}`);
      return log;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string, worker: { assertRunning(): void }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    worker.assertRunning();
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await sleep(200);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits: number) => Number(value.toFixed(digits));
const progress = (line: string) => process.stderr.write(`${line}\n`);

await main();
