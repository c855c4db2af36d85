/**
 * npm run bench:scale — serve --scale-out with 1, 2 and 3 workers on this machine: events/s,
 * p99 event-to-publish latency, and the bytes per event on the internal topics (model updates,
 * catalogue, user state). For each group size: fresh topics (6 partitions), N `rxrec serve --scale-out`
 * workers (fresh state directories, default models, HTTP on for /metrics) that must each hold
 * a share of the partitions, then the first `--ratings` ratings of the default synthetic set
 * (replay order) produced as fast as possible. events/s: ratings / (time from the first send to
 * the group's committed offsets reaching the topic's end). p99: the workers' histograms of
 * rxrec_event_to_publish_latency_seconds summed, interpolated within buckets. Bytes: the
 * workers' rxrec_model_update_bytes_total, rxrec_catalogue_bytes_total and
 * rxrec_user_state_bytes_total{direction="sent"} summed, per event.
 * The delay until another worker has added a published total in: the workers'
 * rxrec_model_update_delay_seconds summed (p50, p99; none with one worker).
 * The broker is KAFKA_BROKERS, else a local one started for the run. Progress on standard
 * error; the last line of standard output:
 *   {"workers": {"1": {"eventsPerSecond", "p99Ms"}, "2": {...}, "3": {...}}, "modelUpdateBytesPerEvent": x}
 * (modelUpdateBytesPerEvent of the largest group).
 *
 *   npm run bench:scale [-- --ratings 20000 --workers 1,2,3]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RatingEvent } from '../src/events/rating.js';
import { freePorts } from '../deploy/kafka/free-ports.js';
import { kafkaClient } from '../streams/kafka/client.js';
import { kafkaSettings, topicNames, type KafkaSettings } from '../streams/kafka/config.js';
import { untilGroupAtEnd } from '../streams/kafka/offsets.js';
import { openProduceTransport } from '../streams/kafka/open.js';
import { benchBrokers } from './bench-broker.js';
import { syntheticEvents } from './synthetic-events.js';
import { histogramQuantile, scrape, type Samples } from './worker-metrics.js';

const CLI = fileURLToPath(new URL('../streams/cli/main.js', import.meta.url));
const PARTITIONS = 6;
const quiet = () => undefined;
const say = (line: string) => process.stderr.write(`${line}\n`);

const { values: flags } = parseArgs({ options: { ratings: { type: 'string', default: '20000' }, workers: { type: 'string', default: '1,2,3' } } });
const ratings = Number(flags.ratings);
if (!(Number.isInteger(ratings) && ratings > 0)) throw new Error(`--ratings must be a positive whole number, not '${flags.ratings}'`);
const sizes = flags.workers.split(',').map(Number);
if (sizes.some((n) => !(Number.isInteger(n) && n >= 1 && n <= PARTITIONS))) throw new Error(`--workers must list group sizes from 1 to ${PARTITIONS}`);

interface GroupFigures {
  readonly eventsPerSecond: number;
  readonly p99Ms: number | undefined;
  readonly seconds: number;
  readonly modelUpdateBytesPerEvent: number;
  readonly catalogueBytesPerEvent: number;
  /** The changelog of user state, as written (restores read more, on a rebalance only). */
  readonly userStateBytesPerEvent: number;
  /** From a worker publishing a total to another adding it in (rxrec_model_update_delay_seconds, all workers). */
  readonly updateDelayMs: { readonly p50: number | undefined; readonly p99: number | undefined };
}

const { brokers, stop: stopBroker } = await benchBrokers();
try {
  const events = await syntheticEvents(ratings);
  const results: Record<string, GroupFigures> = {};
  for (const size of sizes) {
    const figures = await runGroup(size, events);
    results[String(size)] = figures;
    say(
      `${size} worker${size > 1 ? 's' : ''}: ${figures.eventsPerSecond} events/s, p99 ${figures.p99Ms ?? '?'} ms; ` +
        `model updates ${figures.modelUpdateBytesPerEvent} B/event (applied by the others after p50 ${figures.updateDelayMs.p50 ?? '-'} ms, ` +
        `p99 ${figures.updateDelayMs.p99 ?? '-'} ms), catalogue ${figures.catalogueBytesPerEvent} B/event, user state ${figures.userStateBytesPerEvent} B/event`,
    );
  }
  const largest = results[String(Math.max(...sizes))]!;
  console.log(JSON.stringify({ ratings, partitions: PARTITIONS, groups: results }));
  console.log(
    JSON.stringify({
      workers: Object.fromEntries(Object.entries(results).map(([size, f]) => [size, { eventsPerSecond: f.eventsPerSecond, p99Ms: f.p99Ms }])),
      modelUpdateBytesPerEvent: largest.modelUpdateBytesPerEvent,
    }),
  );
} finally {
  stopBroker();
}

async function runGroup(size: number, events: readonly RatingEvent[]): Promise<GroupFigures> {
  const settings = kafkaSettings(
    { brokers: brokers.join(','), clientId: 'rxrec-bench-scale', topicPrefix: `scale-${randomUUID().slice(0, 8)}.`, partitions: PARTITIONS },
    {},
  );
  const producing = await openProduceTransport(settings, quiet);
  const ports = await freePorts(size);
  const workers = ports.map((port) => startWorker(settings, port));
  try {
    // Every worker holds a share before the stream starts (else the first to join takes it all).
    await until(
      `${size} workers sharing the ${PARTITIONS} partitions`,
      120_000,
      () => {
        const held = workers.map((worker) => worker.assignment());
        return held.every((partitions) => (partitions?.length ?? 0) > 0) && held.flat().length === PARTITIONS;
      },
      () => workers.map((worker) => worker.log()).join('\n---\n'),
    );
    const started = performance.now();
    for (let from = 0; from < events.length; from += 5000) await producing.ratings.publish(events.slice(from, from + 5000));
    await groupCaughtUp(settings, events.length);
    const seconds = (performance.now() - started) / 1000;
    const scraped = await Promise.all(ports.map((port) => scrape(`http://127.0.0.1:${port}`)));
    const sum = (name: string) => scraped.reduce((total, samples) => total + (samples.get(name) ?? 0), 0);
    const p99 = histogramQuantile(summed(scraped, 'rxrec_event_to_publish_latency_seconds_bucket'), 'rxrec_event_to_publish_latency_seconds', 0.99);
    const delays = summed(scraped, 'rxrec_model_update_delay_seconds_bucket');
    const delayMs = (q: number) => {
      const seconds = histogramQuantile(delays, 'rxrec_model_update_delay_seconds', q);
      return seconds === undefined ? undefined : Math.round(seconds * 1000);
    };
    return {
      eventsPerSecond: Math.round(events.length / seconds),
      p99Ms: p99 === undefined ? undefined : Math.round(p99 * 1000),
      seconds: Math.round(seconds * 10) / 10,
      modelUpdateBytesPerEvent: Math.round(sum('rxrec_model_update_bytes_total') / events.length),
      catalogueBytesPerEvent: Math.round((sum('rxrec_catalogue_bytes_total') / events.length) * 10) / 10,
      userStateBytesPerEvent: Math.round(sum('rxrec_user_state_bytes_total{direction="sent"}') / events.length),
      updateDelayMs: { p50: delayMs(0.5), p99: delayMs(0.99) },
    };
  } finally {
    await producing.close();
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/** The workers' samples of one histogram's buckets, added up by bucket. */
function summed(scraped: readonly Samples[], prefix: string): Samples {
  const total = new Map<string, number>();
  for (const samples of scraped) for (const [series, value] of samples) if (series.startsWith(prefix)) total.set(series, (total.get(series) ?? 0) + value);
  return total;
}

/** Resolves once the group has committed every event produced. */
async function groupCaughtUp(settings: KafkaSettings, events: number): Promise<void> {
  const admin = kafkaClient(settings, quiet).admin();
  await admin.connect();
  try {
    await untilGroupAtEnd(admin, settings.groupId, topicNames(settings.topicPrefix).ratings, Math.max(300_000, events * 20));
  } finally {
    await admin.disconnect();
  }
}

function startWorker(settings: KafkaSettings, httpPort: number) {
  const stateDir = mkdtempSync(join(tmpdir(), 'rxrec-bench-scale-'));
  const args = ['serve', '--brokers', settings.brokers.join(','), '--topic-prefix', settings.topicPrefix, '--group', settings.groupId];
  const child = spawn(process.execPath, [CLI, ...args, '--state', stateDir, '--http-port', String(httpPort), '--scale-out'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KAFKA_BROKERS: '', KAFKA_GROUP_ID: '', RXREC_TOPIC_PREFIX: '' },
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    log: () => log,
    assignment: (): number[] | undefined => {
      const last = [...log.matchAll(/assigned partitions \[([\d, ]*)\]/g)].pop();
      return last && (last[1]!.trim() === '' ? [] : last[1]!.split(',').map(Number));
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

async function until(what: string, timeoutMs: number, condition: () => boolean, said: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s; the workers said:\n${said()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
