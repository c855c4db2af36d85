/**
 * A throwaway local Kafka broker: deploy/kafka/broker.sh on free ports with its own data
 * directory, with a SASL/PLAIN listener (ACLs enforced) and a TLS listener (a self-signed
 * certificate) beside the plaintext one. Used by the
 * integration tests (tests/integration/broker.ts) and by bench/kafka.ts; nothing here depends on
 * the test runner.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';

export interface SaslUser {
  readonly username: string;
  readonly password: string;
}

export interface LocalBroker {
  readonly brokers: readonly string[];
  readonly sasl: {
    readonly brokers: readonly string[];
    /** Allowed everything. */
    readonly admin: SaslUser;
    /** Authenticated, but without any ACL. */
    readonly unprivileged: SaslUser;
  };
  /** A TLS listener; `caFile` is the PEM of its self-signed certificate (what --ssl-ca takes). */
  readonly tls: {
    readonly brokers: readonly string[];
    readonly caFile: string;
  };
  /** Stop and start it again (same ports, same data). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop it for good and delete its data; synchronous, so it also works from an 'exit' handler. */
  destroy(): void;
}

/** dist/deploy/kafka → the repository root. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BROKER_SCRIPT = join(REPO_ROOT, 'deploy/kafka/broker.sh');

/** The tools broker.sh needs that are missing from PATH. */
export function missingBrokerTools(): string[] {
  return ['java', 'mvn'].filter((tool) => !onPath(tool));
}

export async function startLocalBroker(): Promise<LocalBroker> {
  const [port, controllerPort, saslPort, sslPort] = await freePorts(4);
  const dataDir = mkdtempSync(join(tmpdir(), 'rxrec-kafka-it-'));
  const instance = brokerInstance({
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SASL_PORT: String(saslPort),
    KAFKA_SASL_USERS: 'admin:admin-secret,rxrec:rxrec-secret',
    KAFKA_SASL_SUPER_USERS: 'admin',
    KAFKA_SSL_PORT: String(sslPort),
    KAFKA_DATA_DIR: dataDir,
    KAFKA_HEAP_OPTS: '-Xms64m -Xmx384m',
  });
  try {
    await instance.start();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`the local Kafka broker did not start: ${(error as Error).message}`);
  }
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    instance.stopSync();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', destroy);
  return {
    brokers: [`127.0.0.1:${port}`],
    sasl: {
      brokers: [`127.0.0.1:${saslPort}`],
      admin: { username: 'admin', password: 'admin-secret' },
      unprivileged: { username: 'rxrec', password: 'rxrec-secret' },
    },
    tls: { brokers: [`127.0.0.1:${sslPort}`], caFile: join(dataDir, 'tls/ca.pem') },
    stop: instance.stop,
    start: instance.start,
    destroy,
  };
}

/** One broker.sh instance, named by its environment (ports, data directory, node id, ...). */
export interface BrokerInstance {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For 'exit' handlers and clean-up after a failure; SIGKILL after `timeoutSeconds` (broker.sh's default 30). */
  stopSync(timeoutSeconds?: number): void;
  /** One of Kafka's tools (broker.sh tool <name>), with what it printed. */
  tool(name: string, args: readonly string[]): Promise<{ code: number; text: string }>;
}

export function brokerInstance(variables: Readonly<Record<string, string>>): BrokerInstance {
  const env: NodeJS.ProcessEnv = { ...process.env, ...variables };
  const script = async (command: 'start' | 'stop') => {
    const result = await run('bash', [BROKER_SCRIPT, command], env);
    if (result.code !== 0) throw new Error(`broker.sh ${command} failed (exit ${result.code}):\n${result.text}`);
  };
  return {
    start: () => script('start'),
    stop: () => script('stop'),
    stopSync: (timeoutSeconds) => {
      const stopEnv = timeoutSeconds === undefined ? env : { ...env, KAFKA_STOP_TIMEOUT: String(timeoutSeconds) };
      spawnSync('bash', [BROKER_SCRIPT, 'stop'], { env: stopEnv, stdio: 'ignore' });
    },
    tool: (name, args) => run('bash', [BROKER_SCRIPT, 'tool', name, ...args], env),
  };
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
