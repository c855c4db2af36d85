/**
 * Kafka failures as one-line errors that say what went wrong and what to do. kafkajs reports the
 * same problem in several shapes (a retries-exceeded error wrapping a connection error, an
 * aggregate of per-topic protocol errors); `explainKafkaError` turns each into one of these.
 */

/** Any Kafka problem the user must act on; the CLI prints the message as one line. */
export class KafkaError extends Error {
  override readonly name: string = 'KafkaError';
}

/** A bad setting (broker address, SASL mechanism, topic prefix...). */
export class KafkaConfigError extends KafkaError {
  override readonly name = 'KafkaConfigError';
}

/** The brokers could not be reached, after retries. */
export class KafkaUnavailableError extends KafkaError {
  override readonly name = 'KafkaUnavailableError';
}

/** SASL login refused: wrong credentials or mechanism. */
export class KafkaAuthenticationError extends KafkaError {
  override readonly name = 'KafkaAuthenticationError';
}

/** Logged in, but ACLs deny what rxrec needs on a topic, the group or the cluster. */
export class KafkaAuthorizationError extends KafkaError {
  override readonly name = 'KafkaAuthorizationError';
}

/** The TLS handshake failed: a certificate that cannot be verified, or TLS against a plaintext listener. Retrying does not help. */
export class KafkaTlsError extends KafkaError {
  override readonly name = 'KafkaTlsError';
}

/** An existing topic whose cleanup.policy contradicts the topic contract. */
export class TopicPolicyError extends KafkaError {
  override readonly name = 'TopicPolicyError';
}

export interface KafkaErrorContext {
  readonly brokers: readonly string[];
  /** What rxrec was doing, e.g. 'creating topics', 'joining consumer group rxrec.workers'. */
  readonly doing: string;
  readonly topics?: readonly string[];
  readonly groupId?: string;
  readonly sasl?: { readonly mechanism: string; readonly username: string };
}

interface KafkaJsErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly type?: string;
  readonly cause?: unknown;
  readonly errors?: readonly unknown[];
  readonly retryCount?: number;
}

const CONNECTION_FAILURES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
]);

/** Node's messages for a certificate chain it cannot verify, or one for another host. */
const UNTRUSTED_CERTIFICATE =
  /self[- ]signed certificate|unable to (verify|get) (the first|local issuer) certificate|certificate has expired|does not match certificate|certificate is not yet valid/i;
/** What a TLS client sees from a listener that does not speak TLS. */
const NOT_TLS = /before secure TLS connection was established|wrong version number|packet length too long/i;

export function explainKafkaError(error: unknown, context: KafkaErrorContext): Error {
  if (error instanceof KafkaError) return error;
  const chain = causeChain(error);
  const types = errorTypes(chain);
  const root = chain[chain.length - 1] ?? {};
  const rootMessage = root.message ?? String(error);
  const brokers = context.brokers.join(',');
  const who = context.sasl ? `user '${context.sasl.username}'` : 'this client';

  if (chain.some((link) => link.name === 'KafkaJSSASLAuthenticationError')) {
    const mechanism = context.sasl?.mechanism ?? 'SASL';
    return new KafkaAuthenticationError(
      `Kafka at ${brokers} refused the ${mechanism} login of ${who} while ${context.doing}: ${rootMessage}; check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
    );
  }
  if (types.has('ILLEGAL_SASL_STATE') || types.has('UNSUPPORTED_SASL_MECHANISM')) {
    return new KafkaAuthenticationError(
      `Kafka at ${brokers} does not accept SASL ${context.sasl?.mechanism ?? ''} on that listener (${rootMessage}); check the port (a plaintext listener takes no SASL) and KAFKA_SASL_MECHANISM`,
    );
  }
  if (types.has('UNKNOWN_TOPIC_OR_PARTITION')) {
    const topics = context.topics?.length ? ` ${context.topics.join(', ')}` : '';
    return new KafkaError(
      `topic(s)${topics} do not exist at ${brokers} (while ${context.doing}); rxrec creates its topics when it starts serving or producing, or check --topic-prefix / RXREC_TOPIC_PREFIX`,
    );
  }
  if (types.has('TOPIC_AUTHORIZATION_FAILED')) {
    const topics = context.topics?.length ? ` ${context.topics.join(', ')}` : '';
    return new KafkaAuthorizationError(
      `Kafka denied ${who} access to topic(s)${topics} while ${context.doing} (TOPIC_AUTHORIZATION_FAILED); grant it Describe, Read, Write and Create ACLs on those topics or connect as another user`,
    );
  }
  if (types.has('GROUP_AUTHORIZATION_FAILED')) {
    return new KafkaAuthorizationError(
      `Kafka denied ${who} access to consumer group '${context.groupId ?? '?'}' while ${context.doing} (GROUP_AUTHORIZATION_FAILED); grant it Read on the group or choose another group id (KAFKA_GROUP_ID)`,
    );
  }
  if (types.has('CLUSTER_AUTHORIZATION_FAILED')) {
    return new KafkaAuthorizationError(
      `Kafka denied ${who} a cluster operation while ${context.doing} (CLUSTER_AUTHORIZATION_FAILED); grant it the cluster ACL (e.g. IdempotentWrite, Create) or connect as another user`,
    );
  }
  if (UNTRUSTED_CERTIFICATE.test(rootMessage)) {
    return new KafkaTlsError(
      `the TLS certificate of Kafka at ${brokers} cannot be verified while ${context.doing} (${rootMessage}); give the CA that signed it with --ssl-ca / KAFKA_SSL_CA`,
    );
  }
  if (NOT_TLS.test(rootMessage)) {
    return new KafkaTlsError(
      `Kafka at ${brokers} did not answer the TLS handshake while ${context.doing} (${rootMessage}); is that a plaintext listener? Use its TLS port or drop --ssl / KAFKA_SSL`,
    );
  }
  if (chain.some((link) => link.name !== undefined && CONNECTION_FAILURES.has(link.name))) {
    const attempts = chain.find((link) => link.retryCount !== undefined)?.retryCount;
    const tried = attempts === undefined ? '' : ` after ${attempts + 1} attempts`;
    return new KafkaUnavailableError(
      `cannot reach Kafka at ${brokers} while ${context.doing}${tried}: ${rootMessage}; check --brokers / KAFKA_BROKERS and that the broker is up (npm run kafka:start runs a local one)`,
    );
  }
  const wrapped = new KafkaError(`Kafka at ${brokers}: ${context.doing} failed: ${rootMessage}`);
  wrapped.cause = error;
  return wrapped;
}

/** Whether kafkajs's error, or one it wraps, is the broker's error code `type` (e.g. UNKNOWN_TOPIC_OR_PARTITION). */
export function hasKafkaErrorType(error: unknown, type: string): boolean {
  return errorTypes(causeChain(error)).has(type);
}

/** The broker error codes along the chain, an aggregate's inner errors' included. */
function errorTypes(chain: readonly KafkaJsErrorShape[]): Set<string | undefined> {
  return new Set(chain.flatMap((link) => [link.type, ...(link.errors ?? []).map((inner) => (inner as KafkaJsErrorShape).type)]));
}

function causeChain(error: unknown): KafkaJsErrorShape[] {
  const chain: KafkaJsErrorShape[] = [];
  let link: unknown = error;
  while (link !== null && typeof link === 'object' && chain.length < 10) {
    chain.push(link as KafkaJsErrorShape);
    link = (link as KafkaJsErrorShape).cause;
  }
  return chain;
}
