/**
 * npm run bench:kafka — the Kafka path end to end: this process produces rating events, one
 * worker (`rxrec serve`, a separate process with a fresh state directory, CLI defaults) consumes
 * them, and this process follows the recs topic. The broker is KAFKA_BROKERS, else a local one
 * started from deploy/kafka/broker.sh for the run. Every run uses fresh topics (6 partitions).
 *
 * Events. The default synthetic set (ML-100K-shaped, 100,000 ratings) in its replay order
 * (timestamp, then file line). Each event keeps its user, item and rating; its `ts` is replaced by
 * a unique increasing value (a fixed base + its index, in ms), so a list on the recs topic says
 * exactly which of its user's events it reflects: `eventTs` is the ts of the user's newest event
 * in the batch that refreshed it, and a user's events are applied in order.
 *
 * Latency of an event e of user u, in ms:
 *     t_visible(e) − t_produce(e)
 *   t_produce(e): wall clock when e was handed to the producer (the send call of its batch);
 *   t_visible(e): wall clock when this process's recs subscriber first received a list of u with
 *                 eventTs ≥ ts(e).
 * Both clocks are this process's, so the figure holds producing (idempotent, acks=all), the
 * broker, the worker's fetch, learning, the LMDB commit, publishing the list, and the
 * subscriber's fetch. The worker's own view (publishedAt − t_produce) is reported too.
 * A list is published only when its order changed, so a user's last events may be reflected by
 * no list: a run ends once the group has committed the whole ratings topic (lists go out before
 * the offsets) and then every event is seen or the recs topic has been quiet for a second. Such
 * events have no latency; `unpublished` counts them.
 *
 * eventsPerSecond: the 100,000 events produced as fast as possible (batches of 5,000) while the
 * worker runs; 100,000 / (t_visible of the last event − t_produce of the first). The median of
 * BENCH_RUNS runs (default 3), for a worker with the default models and again for one with
 * `--models baseline,mf`. workerCatchUpEventsPerSecond: a second worker (fresh state, its own
 * group) reading the same, already full, topic: events / time from its assignment to the
 * group's offsets reaching the end.
 *
 * latencyMs: BENCH_LATENCY_SECONDS (default 30) at a steady 1,000 events/s (a send every 10 ms
 * of the events due), the first second left out as warm-up; p50, p99, max over the rest; the
 * worker with the default models.
 *
 * The last line of standard output is {"eventsPerSecond", "latencyMs": {"p50", "p99", "max"}},
 * both for the worker with the default models.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import type { RatingEvent } from '../src/events/rating.js';
import { kafkaClient } from '../streams/kafka/client.js';
import { kafkaSettings, topicNames, type KafkaSettings } from '../streams/kafka/config.js';
import { untilGroupAtEnd } from '../streams/kafka/offsets.js';
import { openProduceTransport } from '../streams/kafka/open.js';
import { TopicSubscription } from '../streams/kafka/subscriber.js';
import { freePorts } from '../deploy/kafka/free-ports.js';
import { benchBrokers } from './bench-broker.js';
import { syntheticEvents } from './synthetic-events.js';

const CLI = fileURLToPath(new URL('../streams/cli/main.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
const LATENCY_RATE = 1000;
const PARTITIONS = 6;
const TS_BASE = 1_700_000_000_000;
const quiet = () => undefined;

interface RunResult {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly produceSeconds: number;
  readonly latencies: number[];
  readonly publishLatencies: number[];
  readonly recsMessages: number;
  /** Events no later list of their user reflects (that list's order did not change). */
  readonly unpublished: number;
  readonly workerLog: string;
}

async function main(): Promise<void> {
  const { brokers, stop: stopBroker } = await benchBrokers();
  try {
    // Each event's ts made unique and increasing: a list's eventTs then says which events it reflects.
    const events = (await syntheticEvents()).map((event, index) => ({ ...event, ts: TS_BASE + index }));
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const configurations: Array<{ name: string; flags: string[] }> = [
      { name: 'default models', flags: [] },
      { name: 'baseline,mf', flags: ['--models', 'baseline,mf'] },
    ];
    const throughput = [];
    for (const { name, flags } of configurations) {
      const runs: RunResult[] = [];
      const catchUps: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const settings = benchSettings(brokers);
        const result = await streamThrough(settings, events, undefined, flags);
        runs.push(result);
        catchUps.push(await catchUp(settings, events.length, flags));
        process.stderr.write(
          `${name}, run ${run + 1}/${RUNS}: ${Math.round(result.eventsPerSecond)} events/s end to end (produce ${result.produceSeconds.toFixed(2)} s); ` +
            `a second worker caught up at ${Math.round(catchUps[catchUps.length - 1]!)} events/s\n`,
        );
      }
      throughput.push({
        workers: name,
        eventsPerSecond: Math.round(median(runs.map((r) => r.eventsPerSecond))),
        runs: runs.map((r) => ({
          eventsPerSecond: Math.round(r.eventsPerSecond),
          seconds: round(r.seconds, 3),
          produceSeconds: round(r.produceSeconds, 3),
          recsMessages: r.recsMessages,
          unpublished: r.unpublished,
        })),
        produceEventsPerSecond: Math.round(median(runs.map((r) => r.events / r.produceSeconds))),
        workerCatchUpEventsPerSecond: Math.round(median(catchUps)),
        latencyUnderFullLoadMs: percentiles(runs[0]!.latencies),
      });
    }
    const steadyCount = Math.min(events.length, LATENCY_SECONDS * LATENCY_RATE);
    const steady = await streamThrough(benchSettings(brokers), events.slice(0, steadyCount), LATENCY_RATE, []);
    const warm = (values: number[]) => values.slice(LATENCY_RATE);
    const latency = percentiles(warm(steady.latencies));
    process.stderr.write(
      `default models, ${LATENCY_RATE}/s for ${LATENCY_SECONDS} s: latency p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms\n`,
    );

    console.log(
      JSON.stringify({
        dataset: '100,000 synthetic ratings (ML-100K-shaped, seed 42), replay order, ts made unique',
        partitions: PARTITIONS,
        throughput,
        steady: {
          workers: 'default models',
          rate: LATENCY_RATE,
          seconds: LATENCY_SECONDS,
          events: steady.latencies.length,
          unpublished: steady.unpublished,
          visibleLatencyMs: latency,
          publishedLatencyMs: percentiles(warm(steady.publishLatencies)),
        },
      }),
    );
    console.log(JSON.stringify({ eventsPerSecond: throughput[0]!.eventsPerSecond, latencyMs: latency }));
  } finally {
    stopBroker();
  }
}

function benchSettings(brokers: readonly string[]): KafkaSettings {
  return kafkaSettings({ brokers: brokers.join(','), clientId: 'rxrec-bench', topicPrefix: `bench-${randomUUID().slice(0, 8)}.`, partitions: PARTITIONS }, {});
}

/**
 * Produce `events` (as fast as possible, or at `rate` per second) while a worker consumes them;
 * resolves once a list reflecting every event has been seen on the recs topic.
 */
async function streamThrough(
  settings: KafkaSettings,
  events: readonly RatingEvent[],
  rate: number | undefined,
  workerFlags: readonly string[],
): Promise<RunResult> {
  const producing = await openProduceTransport(settings, quiet);
  const worker = await startWorker(settings, `${settings.topicPrefix}workers`, workerFlags);
  const kafka = kafkaClient(settings, quiet);
  const producedAt = new Float64Array(events.length);
  const latencies = new Array<number>(events.length);
  const publishLatencies = new Array<number>(events.length);
  // Per user, the indices of its events not yet seen in a list, oldest first.
  const pending = new Map<string, number[]>();
  const cursor = new Map<string, number>();
  events.forEach((event, index) => {
    if (!pending.has(event.userId)) pending.set(event.userId, []);
    pending.get(event.userId)!.push(index);
  });
  let seen = 0;
  let recsMessages = 0;
  let lastSeenAt = 0;
  let lastMessageAt = 0;
  const subscription = await TopicSubscription.open(kafka, settings, { topics: [topicNames(settings.topicPrefix).recs], fromBeginning: true }, (record) => {
    const now = performance.now() + performance.timeOrigin;
    lastMessageAt = now;
    recsMessages++;
    const list = JSON.parse(record.value!) as { userId: string; eventTs: number; publishedAt: number };
    const indices = pending.get(list.userId) ?? [];
    let next = cursor.get(list.userId) ?? 0;
    while (next < indices.length && events[indices[next]!]!.ts <= list.eventTs) {
      const index = indices[next]!;
      latencies[index] = now - producedAt[index]!;
      publishLatencies[index] = list.publishedAt - producedAt[index]!;
      next++;
      seen++;
    }
    if (next > (cursor.get(list.userId) ?? 0)) lastSeenAt = now;
    cursor.set(list.userId, next);
  });
  try {
    const started = performance.now() + performance.timeOrigin;
    const batches = rate === undefined ? fixedBatches(events.length, 5000) : undefined;
    if (batches) {
      for (const [from, to] of batches) {
        const sendAt = performance.now() + performance.timeOrigin;
        producedAt.fill(sendAt, from, to);
        await producing.ratings.publish(events.slice(from, to));
      }
    } else {
      let sent = 0;
      while (sent < events.length) {
        const due = Math.min(events.length, Math.floor(((performance.now() + performance.timeOrigin - started) / 1000) * rate!) + 1);
        if (due > sent) {
          const sendAt = performance.now() + performance.timeOrigin;
          producedAt.fill(sendAt, sent, due);
          await producing.ratings.publish(events.slice(sent, due));
          sent = due;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const produceSeconds = (performance.now() + performance.timeOrigin - started) / 1000;
    // Lists go out before the offsets: once the group committed the topic, what is left to see is in flight.
    const drained = async () => {
      await groupAtEnd(kafka, `${settings.topicPrefix}workers`, topicNames(settings.topicPrefix).ratings, 180_000);
      while (seen < events.length && performance.now() + performance.timeOrigin - lastMessageAt < 1000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await withTimeout(drained(), 180_000, () => `saw ${seen} of ${events.length} events on the recs topic; the worker said:\n${worker.log()}`);
    const seconds = (lastSeenAt - started) / 1000;
    return {
      events: events.length,
      seconds,
      eventsPerSecond: events.length / seconds,
      produceSeconds,
      latencies,
      publishLatencies,
      recsMessages,
      unpublished: events.length - seen,
      workerLog: worker.log(),
    };
  } finally {
    await subscription.close();
    await producing.close();
    await worker.stop();
  }
}

/** A second worker, its own group and state, on the now full topic: its catch-up rate. */
async function catchUp(settings: KafkaSettings, events: number, workerFlags: readonly string[]): Promise<number> {
  const group = `${settings.topicPrefix}catch-up`;
  const worker = await startWorker(settings, group, workerFlags, false);
  try {
    await withTimeout(worker.assigned, 60_000, () => `no assignment; the worker said:\n${worker.log()}`);
    const started = performance.now();
    await groupAtEnd(kafkaClient(settings, quiet), group, topicNames(settings.topicPrefix).ratings, 600_000);
    return events / ((performance.now() - started) / 1000);
  } finally {
    await worker.stop();
  }
}

/** `untilGroupAtEnd` on an admin of its own. */
async function groupAtEnd(kafka: Kafka, group: string, topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await untilGroupAtEnd(admin, group, topic, timeoutMs);
  } finally {
    await admin.disconnect();
  }
}

interface WorkerProcess {
  readonly assigned: Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/** `rxrec serve` with a fresh state; resolves once it holds partitions (and, if asked, is ready). */
async function startWorker(settings: KafkaSettings, group: string, workerFlags: readonly string[], waitUntilReady = true): Promise<WorkerProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'rxrec-bench-kafka-'));
  const [httpPort] = await freePorts(1);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--brokers',
      settings.brokers.join(','),
      '--topic-prefix',
      settings.topicPrefix,
      '--group',
      group,
      '--state',
      stateDir,
      '--http-port',
      String(httpPort),
      ...workerFlags,
      ...extraWorkerFlags(),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KAFKA_BROKERS: '', KAFKA_GROUP_ID: '', RXREC_TOPIC_PREFIX: '' } },
  );
  let log = '';
  let markAssigned!: () => void;
  const assigned = new Promise<void>((resolve) => (markAssigned = resolve));
  child.stderr!.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (/assigned partitions \[\d/.test(log)) markAssigned();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const worker: WorkerProcess = {
    assigned,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  if (waitUntilReady) {
    await withTimeout(
      (async () => {
        for (;;) {
          const status = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(
            (response) => response.status,
            () => 0,
          );
          if (status === 200) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      60_000,
      () => `the worker did not become ready; it said:\n${log}`,
    );
  }
  return worker;
}

/** BENCH_WORKER_FLAGS, e.g. "--batch-size 2000", to try other settings without editing. */
function extraWorkerFlags(): string[] {
  return (process.env.BENCH_WORKER_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

function fixedBatches(count: number, size: number): Array<[number, number]> {
  const batches: Array<[number, number]> = [];
  for (let from = 0; from < count; from += size) batches.push([from, Math.min(count, from + size)]);
  return batches;
}

function percentiles(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = values.filter((value) => value !== undefined).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: round(at(0.5), 1), p99: round(at(0.99), 1), max: round(sorted[sorted.length - 1] ?? NaN, 1) };
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function round(value: number, digits = 0): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

await main();
