/**
 * How rxrec reaches Kafka: brokers, client id, optional SASL and TLS, the topic prefix, and the
 * partition count and replication of the topics it creates. Each setting comes from a CLI-style
 * option, else from the environment, else from a default, and a bad value is rejected here with
 * the option's name.
 *
 *   option             flag                  environment
 *   brokers            --brokers             KAFKA_BROKERS             host:port[,host:port...]
 *   clientId           --client-id           KAFKA_CLIENT_ID
 *   saslMechanism      --sasl-mechanism      KAFKA_SASL_MECHANISM      plain | scram-sha-256 | scram-sha-512
 *   saslUsername       --sasl-username       KAFKA_SASL_USERNAME
 *   saslPassword       --sasl-password       KAFKA_SASL_PASSWORD       (prefer the variable: argv is public)
 *   ssl                --ssl                 KAFKA_SSL                 on/off
 *   sslCa              --ssl-ca              KAFKA_SSL_CA              PEM file; implies --ssl
 *   topicPrefix        --topic-prefix        RXREC_TOPIC_PREFIX        default 'rxrec.'
 *   partitions         --partitions                                    ratings topic, default 6
 *   replicationFactor  --replication-factor  KAFKA_REPLICATION_FACTOR  topics rxrec creates; default the cluster's
 *   groupId            --group               KAFKA_GROUP_ID            default '<prefix>workers'
 *
 * streams/cli/kafka-flags.ts declares the flags and maps them onto these options.
 */
import { readFileSync } from 'node:fs';
import { KafkaConfigError } from './errors.js';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslSettings {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly sasl?: SaslSettings;
  /** TLS on; `sslCa` (PEM text) replaces the system's trusted CAs when given. */
  readonly ssl: boolean;
  readonly sslCa?: string;
  readonly topicPrefix: string;
  /** Partitions of the ratings topic when rxrec creates it: the most workers that can share it. */
  readonly ratingsPartitions: number;
  /** Replicas of each topic rxrec creates; undefined: the cluster's default.replication.factor. */
  readonly replicationFactor?: number;
  /** Consumer group of the workers that share the ratings topic. */
  readonly groupId: string;
}

/** What a command line may say; anything left undefined falls back to the environment. */
export interface KafkaOptions {
  readonly brokers?: string;
  readonly clientId?: string;
  readonly saslMechanism?: string;
  readonly saslUsername?: string;
  readonly saslPassword?: string;
  readonly ssl?: boolean | string;
  readonly sslCa?: string;
  readonly topicPrefix?: string;
  readonly partitions?: number | string;
  readonly replicationFactor?: number | string;
  readonly groupId?: string;
}

export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const DEFAULT_CLIENT_ID = 'rxrec';
export const DEFAULT_TOPIC_PREFIX = 'rxrec.';
export const DEFAULT_RATINGS_PARTITIONS = 6;

/** Kafka's own rule for topic names (prefix + the longest suffix must fit in 249 characters). */
const TOPIC_NAME_CHARACTERS = /^[a-zA-Z0-9._-]*$/;
const LONGEST_TOPIC_SUFFIX = 'similar-items'.length;

export function kafkaSettings(options: KafkaOptions = {}, env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  const pick = (option: string | undefined, variable: string): string | undefined => {
    const value = option ?? env[variable];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const brokers = (pick(options.brokers, 'KAFKA_BROKERS') ?? DEFAULT_BROKERS)
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(broker)) {
      throw new KafkaConfigError(`--brokers: '${broker}' is not host:port (e.g. 127.0.0.1:9092)`);
    }
  }
  if (brokers.length === 0) throw new KafkaConfigError('--brokers: no broker given (e.g. 127.0.0.1:9092)');

  const topicPrefix = options.topicPrefix ?? env.RXREC_TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  if (!TOPIC_NAME_CHARACTERS.test(topicPrefix) || topicPrefix.length + LONGEST_TOPIC_SUFFIX > 249) {
    throw new KafkaConfigError(
      `--topic-prefix: '${topicPrefix}' cannot start a Kafka topic name (letters, digits, '.', '_', '-'; at most ${249 - LONGEST_TOPIC_SUFFIX} characters)`,
    );
  }

  const partitionsText = options.partitions === undefined ? undefined : String(options.partitions);
  const ratingsPartitions = Number(partitionsText ?? DEFAULT_RATINGS_PARTITIONS);
  if (!Number.isInteger(ratingsPartitions) || ratingsPartitions < 1) {
    throw new KafkaConfigError(`--partitions: '${partitionsText}' is not a positive integer`);
  }

  const replicationText = pick(options.replicationFactor === undefined ? undefined : String(options.replicationFactor), 'KAFKA_REPLICATION_FACTOR');
  const replicationFactor = replicationText === undefined ? undefined : Number(replicationText);
  if (replicationFactor !== undefined && (!Number.isInteger(replicationFactor) || replicationFactor < 1)) {
    throw new KafkaConfigError(`--replication-factor: '${replicationText}' is not a positive integer`);
  }

  const ssl = parseFlag(options.ssl ?? env.KAFKA_SSL, '--ssl / KAFKA_SSL');
  const sslCaFile = pick(options.sslCa, 'KAFKA_SSL_CA');
  let sslCa: string | undefined;
  if (sslCaFile !== undefined) {
    try {
      sslCa = readFileSync(sslCaFile, 'utf8');
    } catch (error) {
      throw new KafkaConfigError(`--ssl-ca: cannot read CA file '${sslCaFile}': ${(error as Error).message}`);
    }
  }

  return {
    brokers,
    clientId: pick(options.clientId, 'KAFKA_CLIENT_ID') ?? DEFAULT_CLIENT_ID,
    sasl: saslSettings(
      pick(options.saslMechanism, 'KAFKA_SASL_MECHANISM'),
      pick(options.saslUsername, 'KAFKA_SASL_USERNAME'),
      options.saslPassword ?? env.KAFKA_SASL_PASSWORD,
    ),
    ssl: ssl || sslCa !== undefined,
    sslCa,
    topicPrefix,
    ratingsPartitions,
    replicationFactor,
    groupId: pick(options.groupId, 'KAFKA_GROUP_ID') ?? `${topicPrefix}workers`,
  };
}

function saslSettings(mechanism: string | undefined, username: string | undefined, password: string | undefined): SaslSettings | undefined {
  if (mechanism === undefined) {
    if (username !== undefined) throw new KafkaConfigError('--sasl-username given without --sasl-mechanism (plain, scram-sha-256 or scram-sha-512)');
    return undefined;
  }
  const normalised = mechanism.toLowerCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(normalised)) {
    throw new KafkaConfigError(`--sasl-mechanism: '${mechanism}' is not one of ${SASL_MECHANISMS.join(', ')}`);
  }
  if (username === undefined || password === undefined) {
    throw new KafkaConfigError(`SASL ${normalised} needs a username and a password (--sasl-username, KAFKA_SASL_PASSWORD)`);
  }
  return { mechanism: normalised as SaslMechanism, username, password };
}

function parseFlag(value: boolean | string | undefined, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === undefined || value.trim() === '') return false;
  const normalised = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalised)) return true;
  if (['0', 'false', 'no', 'off'].includes(normalised)) return false;
  throw new KafkaConfigError(`${name}: '${value}' is not on/off (true, false, 1, 0)`);
}

/** The topics of the contract, under one prefix. */
export interface TopicNames {
  readonly ratings: string;
  readonly items: string;
  readonly users: string;
  readonly recs: string;
  readonly similarItems: string;
  readonly dlq: string;
  /**
   * serve --scale-out: the group's shared catalogue (streams/kafka/catalogue.ts), model updates
   * (model-updates.ts) and changelog of user state (user-changelog.ts).
   */
  readonly catalogue: string;
  readonly modelUpdates: string;
  readonly userState: string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    ratings: `${prefix}ratings`,
    items: `${prefix}items`,
    users: `${prefix}users`,
    recs: `${prefix}recs`,
    similarItems: `${prefix}similar-items`,
    dlq: `${prefix}dlq`,
    catalogue: `${prefix}catalogue`,
    modelUpdates: `${prefix}model-updates`,
    userState: `${prefix}user-state`,
  };
}
