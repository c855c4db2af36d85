/**
 * The kafkajs client for a KafkaSettings, with a quiet logger: warnings and errors only, one line
 * each, on standard error (KAFKAJS_LOG_LEVEL=debug still turns kafkajs's own detail on).
 */
import type { Kafka, KafkaConfig, logCreator, RetryOptions, SASLOptions } from 'kafkajs';
import kafkajs from './kafkajs.js';
import type { KafkaSettings } from './config.js';

// kafkajs is CommonJS; not all of its exports are visible to ESM named imports.
const { logLevel } = kafkajs;

export type KafkaLog = (line: string) => void;

export const writeToStderr: KafkaLog = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * Connecting gives up after about 10 s (6 attempts, 300 ms doubling), so a wrong address is
 * reported quickly; a consumer that loses the broker later restarts itself (see source.ts).
 */
export const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 300, retries: 5, maxRetryTime: 30_000 };

/** kafkajs's default: one connection attempt to a broker that does not answer ends after this. */
const CONNECTION_TIMEOUT_MS = 1_000;
/** kafkajs's retry randomisation: a pause may be this much longer than its nominal time. */
const RETRY_JITTER = 1.2;

/**
 * DEFAULT_RETRY cut to the attempts that end within `budgetMs`, each counted at its longest (a
 * connection timeout plus the pause before it): what `--connect-timeout` allows one start-up
 * attempt, which at the default retry would take about 10 s on its own.
 */
export function retryWithin(budgetMs: number): RetryOptions {
  const initial = DEFAULT_RETRY.initialRetryTime!;
  let retries = 0;
  let spent = CONNECTION_TIMEOUT_MS;
  while (retries < DEFAULT_RETRY.retries!) {
    const next = spent + RETRY_JITTER * initial * 2 ** retries + CONNECTION_TIMEOUT_MS;
    if (next > budgetMs) break;
    spent = next;
    retries++;
  }
  return { ...DEFAULT_RETRY, retries };
}

export function kafkaClient(settings: KafkaSettings, log: KafkaLog = writeToStderr, retry: RetryOptions = DEFAULT_RETRY): Kafka {
  const config: KafkaConfig = {
    brokers: [...settings.brokers],
    clientId: settings.clientId,
    retry,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    logLevel: logLevel.WARN,
    logCreator: quietLogCreator(log),
  };
  if (settings.ssl) config.ssl = settings.sslCa === undefined ? true : { ca: [settings.sslCa] };
  // The three mechanisms take the same fields; kafkajs types them one by one.
  if (settings.sasl) config.sasl = { ...settings.sasl } as SASLOptions;
  return new kafkajs.Kafka(config);
}

const PER_ATTEMPT_NAMESPACES = new Set(['Connection', 'BrokerPool']);
const CONCURRENT_TRANSACTIONS = /another concurrent operation on the same transaction was ongoing/;

function quietLogCreator(log: KafkaLog): logCreator {
  return () =>
    ({ namespace, label, log: entry }) => {
      // Failed connections and requests are retried; what finally fails is raised as an error we
      // explain, or logged by the consumer as a crash and restart. Each attempt's line is noise.
      if (PER_ATTEMPT_NAMESPACES.has(namespace) && !process.env.KAFKAJS_LOG_LEVEL) return;
      const { message, error } = entry as { message: string; error?: unknown };
      // A transaction begun while the broker still writes the last one's markers: kafkajs retries it at once.
      if (CONCURRENT_TRANSACTIONS.test(String(error ?? '')) && !process.env.KAFKAJS_LOG_LEVEL) return;
      const detail = error === undefined || String(message).includes(String(error)) ? '' : `: ${String(error)}`;
      log(`kafka ${label.toLowerCase()}: [${namespace}] ${message}${detail}`);
    };
}
