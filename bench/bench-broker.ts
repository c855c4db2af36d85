/** The Kafka cluster a bench script runs against: the one given, else KAFKA_BROKERS, else a local broker started for the run. */
import { missingBrokerTools, startLocalBroker } from '../deploy/kafka/local-broker.js';

export interface BenchBrokers {
  readonly brokers: string[];
  /** Stops the local broker, if one was started. */
  stop(): void;
}

export async function benchBrokers(
  given = process.env.KAFKA_BROKERS,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<BenchBrokers> {
  const brokers = (given ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length > 0) return { brokers, stop: () => undefined };
  const missing = missingBrokerTools();
  if (missing.length > 0) throw new Error(`no Kafka broker: set KAFKA_BROKERS (or --brokers), or put ${missing.join(' and ')} on PATH to start a local one`);
  say('starting a local Kafka broker (deploy/kafka/broker.sh)');
  const local = await startLocalBroker();
  return { brokers: [...local.brokers], stop: local.destroy };
}
