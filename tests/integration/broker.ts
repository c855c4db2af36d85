/**
 * The Kafka broker every integration test talks to. KAFKA_BROKERS names one that is running;
 * otherwise, with java and mvn on PATH, deploy/kafka/broker.sh starts a local KRaft broker on
 * free ports with its own data directory, once per test process, and stops it when the process's
 * tests are done. Without either the test is skipped with the reason shown, unless
 * REQUIRE_KAFKA=1, where a missing broker fails it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, type TestContext } from 'node:test';
import { kafkaSettings, type KafkaOptions, type KafkaSettings } from '../../streams/kafka/config.js';

export interface SaslUser {
  readonly username: string;
  readonly password: string;
}

export interface TestBroker {
  readonly brokers: readonly string[];
  /** A SASL_PLAINTEXT/PLAIN listener with ACLs enforced; only on the broker started here. */
  readonly sasl?: {
    readonly brokers: readonly string[];
    /** Allowed everything. */
    readonly admin: SaslUser;
    /** Authenticated, but without any ACL. */
    readonly unprivileged: SaslUser;
  };
  /** Stop and start the broker (same ports, same data); only on the broker started here. */
  readonly control?: {
    stop(): Promise<void>;
    start(): Promise<void>;
  };
}

/** dist/tests/integration → the repository root. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BROKER_SCRIPT = join(REPO_ROOT, 'deploy/kafka/broker.sh');

interface LocalBroker {
  readonly broker: TestBroker;
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
}

let localBroker: Promise<LocalBroker> | undefined;
let stopped = false;

/**
 * The broker for this test, or undefined after skipping it (with the reason) when there is none.
 * Call first in every Kafka test: `const broker = await kafkaBroker(t); if (!broker) return;`
 */
export async function kafkaBroker(t: TestContext): Promise<TestBroker | undefined> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) return { brokers: external.split(',').map((broker) => broker.trim()) };
  const missing = ['java', 'mvn'].filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    const reason = `no Kafka broker: KAFKA_BROKERS is not set and ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH to start one`;
    if (process.env.REQUIRE_KAFKA === '1') throw new Error(`${reason} (REQUIRE_KAFKA=1)`);
    t.skip(reason);
    return undefined;
  }
  localBroker ??= startLocalBroker();
  return (await localBroker).broker;
}

/** Settings for one test: its own topic prefix (and so its own topics and group). */
export function testSettings(brokers: readonly string[], options: KafkaOptions = {}): KafkaSettings {
  const topicPrefix = `it-${randomUUID().slice(0, 8)}.`;
  // An empty environment: the developer's KAFKA_* variables must not leak into a test.
  return kafkaSettings({ brokers: brokers.join(','), clientId: 'rxrec-it', topicPrefix, partitions: 3, ...options }, {});
}

/** Collects kafkajs warnings instead of printing them, so tests can assert on them. */
export function collectingLog(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

async function startLocalBroker(): Promise<LocalBroker> {
  const [port, controllerPort, saslPort] = await freePorts(3);
  const dataDir = mkdtempSync(join(tmpdir(), 'rxrec-kafka-it-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SASL_PORT: String(saslPort),
    KAFKA_SASL_USERS: 'admin:admin-secret,rxrec:rxrec-secret',
    KAFKA_SASL_SUPER_USERS: 'admin',
    KAFKA_DATA_DIR: dataDir,
    KAFKA_HEAP_OPTS: '-Xms64m -Xmx384m',
  };
  const output = await run('bash', [BROKER_SCRIPT, 'start'], env);
  if (output.code !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`the local Kafka broker did not start (exit ${output.code}):\n${output.text}`);
  }
  process.once('exit', () => stopLocalBrokerNow(env, dataDir));
  const script = async (command: 'start' | 'stop') => {
    const result = await run('bash', [BROKER_SCRIPT, command], env);
    if (result.code !== 0) throw new Error(`broker.sh ${command} failed (exit ${result.code}):\n${result.text}`);
  };
  return {
    env,
    dataDir,
    broker: {
      control: { stop: () => script('stop'), start: () => script('start') },
      brokers: [`127.0.0.1:${port}`],
      sasl: {
        brokers: [`127.0.0.1:${saslPort}`],
        admin: { username: 'admin', password: 'admin-secret' },
        unprivileged: { username: 'rxrec', password: 'rxrec-secret' },
      },
    },
  };
}

after(async () => {
  if (!localBroker) return;
  const started = await localBroker.catch(() => undefined);
  if (started) stopLocalBrokerNow(started.env, started.dataDir);
});

/** Synchronous, so it also works from the process's 'exit' event. */
function stopLocalBrokerNow(env: NodeJS.ProcessEnv, dataDir: string): void {
  if (stopped) return;
  stopped = true;
  spawnSync('bash', [BROKER_SCRIPT, 'stop'], { env, stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, text }));
  });
}

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolvePromise, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolvePromise(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolvePromise) => server.close(resolvePromise))));
  return ports;
}
