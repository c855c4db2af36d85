/**
 * The connection flags every Kafka command shares (serve, produce, subscribe). A flag left out
 * falls back to its environment variable, then to the default (see streams/kafka/config.ts); a
 * bad value is a usage error naming the flag.
 */
import type { Command } from 'commander';
import { kafkaSettings, type KafkaSettings } from '../kafka/config.js';
import { KafkaConfigError } from '../kafka/errors.js';
import { UsageError } from './errors.js';

export interface KafkaFlags {
  brokers?: string;
  clientId?: string;
  topicPrefix?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  ssl?: boolean;
  sslCa?: string;
  partitions?: string;
  replicationFactor?: string;
  group?: string;
}

export function addKafkaFlags(command: Command, extra: { partitions?: boolean; group?: boolean } = {}): Command {
  command
    .option('--brokers <host:port,...>', 'Kafka bootstrap brokers (env KAFKA_BROKERS; default 127.0.0.1:9092)')
    .option('--client-id <id>', 'Kafka client id (env KAFKA_CLIENT_ID; default rxrec)')
    .option('--topic-prefix <prefix>', "prefix of every topic name (env RXREC_TOPIC_PREFIX; default 'rxrec.')")
    .option('--sasl-mechanism <name>', 'plain, scram-sha-256 or scram-sha-512 (env KAFKA_SASL_MECHANISM)')
    .option('--sasl-username <user>', 'SASL user (env KAFKA_SASL_USERNAME)')
    .option('--sasl-password <password>', 'SASL password; prefer env KAFKA_SASL_PASSWORD (argv is visible to other users)')
    .option('--ssl', 'connect with TLS (env KAFKA_SSL=1)')
    .option('--ssl-ca <file>', "PEM file of the CA that signed the brokers' certificates; implies --ssl (env KAFKA_SSL_CA)");
  if (extra.partitions)
    command.option(
      '--partitions <n>',
      'partitions of the ratings and recs topics when rxrec creates them (default 6: at most that many workers share the stream)',
    );
  if (extra.partitions)
    command.option(
      '--replication-factor <n>',
      "replicas of each topic rxrec creates (env KAFKA_REPLICATION_FACTOR; default the cluster's default.replication.factor)",
    );
  if (extra.group) command.option('--group <id>', "consumer group of the workers (env KAFKA_GROUP_ID; default '<prefix>workers')");
  return command;
}

/** The settings the flags (then the environment) give; a bad value is a UsageError. */
export function settingsFromFlags(flags: KafkaFlags, env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  try {
    return kafkaSettings(
      {
        brokers: flags.brokers,
        clientId: flags.clientId,
        topicPrefix: flags.topicPrefix,
        saslMechanism: flags.saslMechanism,
        saslUsername: flags.saslUsername,
        saslPassword: flags.saslPassword,
        ssl: flags.ssl,
        sslCa: flags.sslCa,
        partitions: flags.partitions,
        replicationFactor: flags.replicationFactor,
        groupId: flags.group,
      },
      env,
    );
  } catch (error) {
    if (error instanceof KafkaConfigError) throw new UsageError(error.message);
    throw error;
  }
}
