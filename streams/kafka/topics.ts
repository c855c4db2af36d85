/**
 * The topic contract on a real cluster: create what is missing with the policy the design gives
 * it, and refuse to run against a topic whose cleanup.policy contradicts it (a compacted ratings
 * topic would silently drop events; a delete-policy recs topic would lose users' lists).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import kafkajs from './kafkajs.js';
import { topicNames, type KafkaSettings } from './config.js';
import { explainKafkaError, hasKafkaErrorType, TopicPolicyError } from './errors.js';

/**
 * On a cluster of several brokers, a topic just created reaches each broker's metadata when that
 * broker catches up with the controller, a moment later: a metadata or config request sent to
 * one that has not meanwhile answers UNKNOWN_TOPIC_OR_PARTITION (or LEADER_NOT_AVAILABLE).
 * Retried this long.
 */
const NEW_TOPIC_PROPAGATION_MS = 15_000;

export type CleanupPolicy = 'delete' | 'compact';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** -1: records are kept for ever (the catalogue's order must never lose its start); else the cluster's default. */
  readonly retentionMs?: -1;
  /** Further settings given when rxrec creates the topic (not checked on an existing one). */
  readonly created?: Readonly<Record<string, string>>;
}

/** Every topic of the contract. Outputs keyed by user share the ratings' partition count. */
export function topicSpecs(settings: KafkaSettings): TopicSpec[] {
  const names = topicNames(settings.topicPrefix);
  const partitions = settings.ratingsPartitions;
  return [
    { name: names.ratings, partitions, cleanupPolicy: 'delete' },
    { name: names.items, partitions: 1, cleanupPolicy: 'compact' },
    { name: names.users, partitions: 1, cleanupPolicy: 'compact' },
    { name: names.recs, partitions, cleanupPolicy: 'compact' },
    { name: names.similarItems, partitions: 1, cleanupPolicy: 'compact' },
    { name: names.dlq, partitions: 1, cleanupPolicy: 'delete' },
  ];
}

/**
 * The topics of serve --scale-out: the shared catalogue (one partition, a total order kept for
 * ever), the model updates (the latest total per slot and parameter: compacted) and the
 * changelog of user state (the latest value per user key: compacted).
 */
export function scaleOutTopicSpecs(settings: KafkaSettings): TopicSpec[] {
  const names = topicNames(settings.topicPrefix);
  return [
    { name: names.catalogue, partitions: 1, cleanupPolicy: 'delete', retentionMs: -1 },
    // Kafka never compacts the active segment: rolled every 10 minutes, so that the cleaner gets to it.
    { name: names.modelUpdates, partitions: 1, cleanupPolicy: 'compact', created: { 'segment.ms': '600000' } },
    // Keyed by user, partitioned like the ratings: partition p holds the state of p's users.
    { name: names.userState, partitions: settings.ratingsPartitions, cleanupPolicy: 'compact', created: { 'segment.ms': '600000' } },
  ];
}

/**
 * Create the missing topics and check the policy of all of them. Resolves with the names it
 * created. The admin client may be connected already; it is left connected.
 */
export async function ensureTopics(admin: Admin, settings: KafkaSettings, specs: readonly TopicSpec[] = topicSpecs(settings)): Promise<string[]> {
  const context = (doing: string) => ({
    brokers: settings.brokers,
    doing,
    topics: specs.map((spec) => spec.name),
    sasl: settings.sasl,
  });

  let missing: TopicSpec[];
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    missing = specs.filter((spec) => !existing.has(spec.name));
    if (missing.length > 0) {
      // kafkajs's own wait for leaders asks the broker it created them on, and gives up at UNKNOWN_TOPIC_OR_PARTITION.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          // -1: the cluster's default.replication.factor.
          replicationFactor: settings.replicationFactor ?? -1,
          configEntries: [
            { name: 'cleanup.policy', value: spec.cleanupPolicy },
            ...(spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }]),
            ...Object.entries(spec.created ?? {}).map(([name, value]) => ({ name, value })),
          ],
        })),
      });
    }
  } catch (error) {
    throw explainKafkaError(error, context('creating topics'));
  }

  const propagated = Date.now() + NEW_TOPIC_PROPAGATION_MS;
  /** `read`, retried while a topic just created is not yet known everywhere (or has no leader yet). */
  const onceKnown = async <T>(doing: string, read: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await read();
      } catch (error) {
        const notYet = ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE'].some((type) => hasKafkaErrorType(error, type));
        if (missing.length === 0 || !notYet || Date.now() >= propagated) throw explainKafkaError(error, context(doing));
        await sleep(250);
      }
    }
  };
  if (missing.length > 0) {
    await onceKnown('waiting for the leaders of the topics it created', async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: missing.map((spec) => spec.name) });
      const leaderless = topics.flatMap((topic) => topic.partitions).filter((partition) => partition.leader < 0);
      if (leaderless.length > 0) throw Object.assign(new Error('a partition has no leader yet'), { type: 'LEADER_NOT_AVAILABLE' });
    });
  }
  const found = await onceKnown('reading topic configs', () =>
    topicConfigs(
      admin,
      specs.map((spec) => spec.name),
    ),
  );
  const wrong = specs.filter((spec) => normalisePolicy(found.get(spec.name)?.policy ?? '') !== spec.cleanupPolicy);
  if (wrong.length > 0) {
    throw new TopicPolicyError(
      wrong
        .map((spec) => `topic '${spec.name}' has cleanup.policy=${found.get(spec.name)?.policy || '(none)'} but rxrec needs ${spec.cleanupPolicy}`)
        .join('; ') +
        `; change it (kafka-configs.sh --alter --entity-type topics --entity-name <topic> --add-config cleanup.policy=<policy>) or use another --topic-prefix`,
    );
  }
  const expiring = specs.filter((spec) => spec.retentionMs !== undefined && found.get(spec.name)?.retentionMs !== String(spec.retentionMs));
  if (expiring.length > 0) {
    throw new TopicPolicyError(
      expiring
        .map(
          (spec) =>
            `topic '${spec.name}' has retention.ms=${found.get(spec.name)?.retentionMs || '(none)'} but rxrec needs ${spec.retentionMs} (kept for ever)`,
        )
        .join('; ') +
        `; change it (kafka-configs.sh --alter --entity-type topics --entity-name <topic> --add-config retention.ms=-1) or use another --topic-prefix`,
    );
  }
  return missing.map((spec) => spec.name);
}

async function topicConfigs(admin: Admin, topics: readonly string[]): Promise<Map<string, { policy: string; retentionMs: string }>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'retention.ms'] })),
  });
  const policies = new Map<string, { policy: string; retentionMs: string }>();
  for (const resource of resources) {
    const value = (name: string) => resource.configEntries.find((config) => config.configName === name)?.configValue ?? '';
    policies.set(resource.resourceName, { policy: value('cleanup.policy'), retentionMs: value('retention.ms') });
  }
  return policies;
}

/** 'delete,compact' and 'compact, delete' are the same policy; neither is 'compact'. */
function normalisePolicy(policy: string): string {
  return policy
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .sort()
    .join(',');
}
