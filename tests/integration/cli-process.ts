/**
 * The CLI as separate processes against a real broker, for the worker tests: `rxrec serve` as a
 * child that can be stopped with SIGTERM or killed with SIGKILL, `rxrec produce` and
 * `rxrec dataset synth` run to completion, and what the cluster says about a consumer group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { StateStore } from '../../state/store.js';
import type { KafkaSettings } from '../../streams/kafka/config.js';
import { endOffsets } from '../../streams/kafka/offsets.js';
import { TopicSubscription, type SubscribedRecord } from '../../streams/kafka/subscriber.js';
import { CLI } from '../cli/cli-run.js';
import { tempDir } from '../fixtures.js';

/** The environment minus the developer's Kafka and rxrec settings: only flags count. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(KAFKA_|RXREC_)/.test(name)));
  return { ...env, ...extra };
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Run the CLI to completion (without blocking this process's event loop). */
export function runCliAsync(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Finished> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Succeeds or throws with what the command printed. */
export async function runCliOk(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const result = await runCliAsync(args, env);
  if (result.code !== 0) throw new Error(`rxrec ${args.join(' ')} exited ${result.code ?? result.signal}:\n${result.stderr}${result.stdout}`);
  return result;
}

/** A small synthetic MovieLens-shaped folder, with extra raw lines appended to u.data. */
export async function syntheticDataset(spec: { users: number; items: number; ratings: number }, extraLines: readonly string[] = []): Promise<string> {
  const dir = join(tempDir('rxrec-it-data-'), 'data');
  await runCliOk(['dataset', 'synth', '--users', String(spec.users), '--items', String(spec.items), '--ratings', String(spec.ratings), '--out', dir]);
  if (extraLines.length > 0) appendFileSync(join(dir, 'u.data'), extraLines.map((line) => `${line}\n`).join(''));
  return dir;
}

/** The dataset's ratings, per user: the items each rated. */
export function ratedItems(dir: string): Map<string, Set<string>> {
  const rated = new Map<string, Set<string>>();
  for (const line of readFileSync(join(dir, 'u.data'), 'utf8').split('\n')) {
    const fields = line.split('\t');
    if (fields.length !== 4) continue;
    const [user, item] = fields as [string, string];
    if (!rated.has(user)) rated.set(user, new Set());
    rated.get(user)!.add(item);
  }
  return rated;
}

/** The flags that point a command at a test's topics (serve and produce also create them). */
export function kafkaArgs(settings: KafkaSettings, creates = true): string[] {
  const args = ['--brokers', settings.brokers.join(','), '--topic-prefix', settings.topicPrefix];
  if (!creates) return args;
  const replication = settings.replicationFactor === undefined ? [] : ['--replication-factor', String(settings.replicationFactor)];
  return [...args, '--partitions', String(settings.ratingsPartitions), ...replication];
}

/** `rxrec serve` as a child process. */
export class Worker {
  readonly child: ChildProcess;
  private stderrText = '';
  readonly exited: Promise<Finished>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    const started = Date.now();
    this.child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(env) });
    let stdout = '';
    this.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: this.stderrText, ms: Date.now() - started }));
    });
  }

  static start(settings: KafkaSettings, group: string, stateDir: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Worker {
    return new Worker([...kafkaArgs(settings), '--group', group, '--state', stateDir, ...extra], env);
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Throws (with what the worker said) if it has exited. */
  assertRunning(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`the worker exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.stderrText}`);
    }
  }

  /** The partitions of the worker's latest assignment, once it has one. */
  assignment(): number[] | undefined {
    const matches = [...this.stderrText.matchAll(/assigned partitions \[([\d, ]*)\]/g)];
    const last = matches[matches.length - 1];
    if (!last) return undefined;
    return last[1]!.trim() === '' ? [] : last[1]!.split(',').map((partition) => Number(partition.trim()));
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      this.assertRunning();
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; worker said:\n${this.stderrText}`);
      await sleep(50);
    }
  }

  /** SIGTERM, and the clean exit it must lead to. */
  async stop(): Promise<Finished> {
    this.child.kill('SIGTERM');
    const finished = await this.exited;
    if (finished.code !== 0) throw new Error(`the worker exited ${finished.code ?? finished.signal} on SIGTERM:\n${finished.stderr}`);
    return finished;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** End offsets of a topic and the group's committed offsets on it. */
export async function groupProgress(kafka: Kafka, groupId: string, topic: string): Promise<{ ends: Map<number, number>; committed: Map<number, number> }> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const [ends, [group]] = await Promise.all([endOffsets(admin, topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    return {
      ends,
      committed: new Map((group?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)])),
    };
  } finally {
    await admin.disconnect();
  }
}

/** Wait until the group has committed every partition's end: every record applied somewhere. */
export async function waitForGroupCaughtUp(
  kafka: Kafka,
  groupId: string,
  topic: string,
  workers: readonly Worker[],
  timeoutMs = 90_000,
): Promise<Map<number, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // On a fresh broker the group's coordinator may still be created or loading: kafkajs's admin does not retry that.
    const progress = await groupProgress(kafka, groupId, topic).catch((error: { retriable?: boolean }) => {
      if (error.retriable && Date.now() < deadline) return undefined;
      throw error;
    });
    if (progress && [...progress.ends].every(([partition, end]) => progress.committed.get(partition) === end)) return progress.ends;
    if (Date.now() > deadline) {
      throw new Error(
        `group ${groupId} committed ${JSON.stringify([...(progress?.committed ?? [])])} of ${JSON.stringify([...(progress?.ends ?? [])])} within ${timeoutMs} ms; workers said:\n${workers.map((w) => w.stderr).join('\n---\n')}`,
      );
    }
    await sleep(100);
  }
}

/** What a stopped worker's state holds: events applied (prequential count), users, positions. */
export async function stateSummary(stateDir: string): Promise<{ applied: number; users: Set<string>; positions: Map<number, number>; history: number }> {
  const store = StateStore.open(stateDir);
  try {
    const snapshot = store.snapshot(['baseline', 'mf']);
    const users = new Set([...snapshot.users].map(([, id]) => id));
    return { applied: snapshot.evaluation?.errors.mf?.count ?? 0, users, positions: store.positions(), history: [...snapshot.history].length };
  } finally {
    await store.close();
  }
}

/** Every record of `topic` up to the end offsets it has now (read from the start). */
export async function readToEnd(kafka: Kafka, settings: KafkaSettings, topic: string, timeoutMs = 30_000): Promise<SubscribedRecord[]> {
  const admin = kafka.admin();
  let ends: Map<number, number>;
  try {
    await admin.connect();
    ends = await endOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const records: SubscribedRecord[] = [];
  const missing = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  let done!: () => void;
  const complete = new Promise<void>((resolve) => (done = resolve));
  if (missing.size === 0) done();
  const subscription = await TopicSubscription.open(kafka, settings, { topics: [topic], fromBeginning: true }, (record) => {
    if (record.offset >= ends.get(record.partition)!) return;
    records.push(record);
    if (record.offset === ends.get(record.partition)! - 1) missing.delete(record.partition);
    if (missing.size === 0) done();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      complete,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read ${records.length} records of ${topic}; partitions ${[...missing]} not to their end in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await subscription.close();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
