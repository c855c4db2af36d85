/**
 * The Kafka broker every integration test talks to. KAFKA_BROKERS names one that is running;
 * otherwise, with java and mvn on PATH, deploy/kafka/broker.sh starts a local KRaft broker on
 * free ports with its own data directory, once per test process, and stops it when the process's
 * tests are done. A test that stops its broker or needs its SASL listener asks for its own
 * (`{ own: true }`): that one is always started locally, KAFKA_BROKERS or not, so a CI run with
 * a shared cluster still runs every test. Without java and mvn a test that has no broker is
 * skipped with the reason shown, unless REQUIRE_KAFKA=1, where a missing broker fails it.
 * A test of broker faults on a replicated cluster asks for `kafkaCluster`: three local nodes of
 * its own, whatever KAFKA_BROKERS says.
 */
import { randomUUID } from 'node:crypto';
import { after, type TestContext } from 'node:test';
import { kafkaSettings, type KafkaOptions, type KafkaSettings } from '../../streams/kafka/config.js';
import { missingBrokerTools, startLocalBroker, type LocalBroker, type SaslUser } from '../../deploy/kafka/local-broker.js';
import { startLocalCluster, type LocalCluster } from '../../deploy/kafka/local-cluster.js';

export type { SaslUser };

export interface TestBroker {
  readonly brokers: readonly string[];
  /** A SASL_PLAINTEXT/PLAIN listener with ACLs enforced; only on a broker started here. */
  readonly sasl?: LocalBroker['sasl'];
  /** A TLS listener with a self-signed certificate; only on a broker started here. */
  readonly tls?: LocalBroker['tls'];
  /** Stop and start the broker (same ports, same data); only on a broker started here. */
  readonly control?: {
    stop(): Promise<void>;
    start(): Promise<void>;
  };
}

let localBroker: Promise<LocalBroker> | undefined;

/**
 * The broker for this test, or undefined after skipping it (with the reason) when there is none.
 * Call first in every Kafka test: `const broker = await kafkaBroker(t); if (!broker) return;`
 * With `own`, the broker is one this process started (it has `sasl` and `control`).
 */
export async function kafkaBroker(t: TestContext, needs: { own?: boolean } = {}): Promise<TestBroker | undefined> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external && !needs.own) return { brokers: external.split(',').map((broker) => broker.trim()) };
  if (!canStartLocally(t, needs.own ? 'this test stops or reconfigures its broker, so it starts its own, and' : undefined)) return undefined;
  localBroker ??= startLocalBroker();
  const broker = await localBroker;
  return { brokers: broker.brokers, sasl: broker.sasl, tls: broker.tls, control: { stop: broker.stop, start: broker.start } };
}

/**
 * A cluster of `size` local nodes for this test alone (replication factor 3, min.insync.replicas
 * 2), stopped when the process's tests are done; undefined after skipping the test as above.
 */
export async function kafkaCluster(t: TestContext, size = 3): Promise<LocalCluster | undefined> {
  if (!canStartLocally(t, `this test stops brokers of a ${size}-node cluster, so it starts its own, and`)) return undefined;
  const cluster = startLocalCluster(size);
  localClusters.push(cluster);
  return cluster;
}

const localClusters: Promise<LocalCluster>[] = [];

/** True with java and mvn on PATH; otherwise the test is skipped with the reason (or fails under REQUIRE_KAFKA=1). */
function canStartLocally(t: TestContext, why: string | undefined): boolean {
  const missing = missingBrokerTools();
  if (missing.length === 0) return true;
  const tools = `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH`;
  const reason = why ? `${why} ${tools}` : `no Kafka broker: KAFKA_BROKERS is not set and ${tools} to start one`;
  if (process.env.REQUIRE_KAFKA === '1') throw new Error(`${reason} (REQUIRE_KAFKA=1)`);
  t.skip(reason);
  return false;
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

after(async () => {
  for (const cluster of localClusters) (await cluster.catch(() => undefined))?.destroy();
  if (!localBroker) return;
  const started = await localBroker.catch(() => undefined);
  started?.destroy();
});
