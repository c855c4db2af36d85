/**
 * The kafkajs client for a KafkaSettings, with a quiet logger: warnings and errors only, one line
 * each, on standard error (KAFKAJS_LOG_LEVEL=debug still turns kafkajs's own detail on).
 */
import kafkajs, { type Kafka, type KafkaConfig, type logCreator, type RetryOptions, type SASLOptions } from 'kafkajs';
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

export function kafkaClient(settings: KafkaSettings, log: KafkaLog = writeToStderr): Kafka {
  const config: KafkaConfig = {
    brokers: [...settings.brokers],
    clientId: settings.clientId,
    retry: DEFAULT_RETRY,
    logLevel: logLevel.WARN,
    logCreator: quietLogCreator(log),
  };
  if (settings.ssl) config.ssl = settings.sslCa === undefined ? true : { ca: [settings.sslCa] };
  // The three mechanisms take the same fields; kafkajs types them one by one.
  if (settings.sasl) config.sasl = { ...settings.sasl } as SASLOptions;
  return new kafkajs.Kafka(config);
}

const PER_ATTEMPT_NAMESPACES = new Set(['Connection', 'BrokerPool']);

function quietLogCreator(log: KafkaLog): logCreator {
  return () =>
    ({ namespace, label, log: entry }) => {
      // Failed connections and requests are retried; what finally fails is raised as an error we
      // explain, or logged by the consumer as a crash and restart. Each attempt's line is noise.
      if (PER_ATTEMPT_NAMESPACES.has(namespace) && !process.env.KAFKAJS_LOG_LEVEL) return;
      const { message, error } = entry as { message: string; error?: unknown };
      const detail = error === undefined || String(message).includes(String(error)) ? '' : `: ${String(error)}`;
      log(`kafka ${label.toLowerCase()}: [${namespace}] ${message}${detail}`);
    };
}
