/**
 * A throwaway local Kafka cluster: several deploy/kafka/broker.sh nodes on free ports, each a
 * combined broker and KRaft controller with its own data directory, all voters of one quorum
 * and formatted with one cluster id. Three nodes give the durability a production cluster has:
 * replication factor 3 for every topic (internal ones included) and min.insync.replicas 2, so
 * any one node can be stopped without losing an acknowledged record or refusing a write. Used
 * by the leader-change test (tests/integration/serve-cluster.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerInstance, type BrokerInstance } from './local-broker.js';
import { freePorts } from './free-ports.js';

export interface ClusterNode {
  /** node.id, as metadata names a partition's leader and replicas. */
  readonly id: number;
  readonly broker: string;
  /** Stop it (a controlled shutdown: its leaderships move first) and start it again, same ports and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface LocalCluster {
  /** Every node's client listener: the bootstrap list. */
  readonly brokers: readonly string[];
  readonly nodes: readonly ClusterNode[];
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** One of Kafka's tools (broker.sh tool), e.g. kafka-leader-election. */
  tool(name: string, args: readonly string[]): Promise<{ code: number; text: string }>;
  /** Stop every node and delete the data; synchronous, so it also works from an 'exit' handler. */
  destroy(): void;
}

/** Three JVMs share the machine: a small heap each (the single broker gets 384 MB). */
const NODE_HEAP = '-Xms64m -Xmx256m';

export async function startLocalCluster(size = 3): Promise<LocalCluster> {
  const ports = await freePorts(2 * size);
  const ids = Array.from({ length: size }, (_, index) => index + 1);
  const clientPort = (id: number) => ports[2 * (id - 1)]!;
  const controllerPort = (id: number) => ports[2 * (id - 1) + 1]!;
  const replicationFactor = Math.min(3, size);
  const minInsyncReplicas = Math.max(1, replicationFactor - 1);
  const root = mkdtempSync(join(tmpdir(), 'rxrec-kafka-cluster-'));
  const shared = {
    KAFKA_QUORUM_VOTERS: ids.map((id) => `${id}@127.0.0.1:${controllerPort(id)}`).join(','),
    KAFKA_CLUSTER_ID: clusterId(),
    KAFKA_REPLICATION_FACTOR: String(replicationFactor),
    KAFKA_MIN_INSYNC_REPLICAS: String(minInsyncReplicas),
    KAFKA_HEAP_OPTS: NODE_HEAP,
    // Each node waits for a quorum, so for the others; two cores start three JVMs.
    KAFKA_START_TIMEOUT: '180',
  };
  const instances = new Map<number, BrokerInstance>(
    ids.map((id) => {
      const dataDir = join(root, `node-${id}`);
      mkdirSync(dataDir);
      const instance = brokerInstance({
        ...shared,
        KAFKA_NODE_ID: String(id),
        KAFKA_PORT: String(clientPort(id)),
        KAFKA_CONTROLLER_PORT: String(controllerPort(id)),
        KAFKA_DATA_DIR: dataDir,
      });
      return [id, instance];
    }),
  );
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    // The last node of a quorum cannot shut down in a controlled way (no controller left to hand over to): it is killed soon.
    for (const instance of instances.values()) instance.stopSync(5);
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', destroy);
  // Together: a node is ready only once a majority of the voters runs.
  const started = await Promise.allSettled([...instances.values()].map((instance) => instance.start()));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    destroy();
    throw new Error(`the local Kafka cluster of ${size} nodes did not start: ${(failed.reason as Error).message}`);
  }
  const first = instances.get(1)!;
  return {
    brokers: ids.map((id) => `127.0.0.1:${clientPort(id)}`),
    nodes: ids.map((id) => ({ id, broker: `127.0.0.1:${clientPort(id)}`, stop: instances.get(id)!.stop, start: instances.get(id)!.start })),
    replicationFactor,
    minInsyncReplicas,
    tool: first.tool,
    destroy,
  };
}

/** 16 random bytes in URL-safe base64, not starting with '-' (the storage tool would read an option). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
