/**
 * kafkajs (2.2.4) hands read_committed consumers records of aborted transactions when
 * transactions of several producers interleave on a partition: it activates the broker's list
 * of aborted transactions in list order, one entry per record, and the broker lists them in the
 * order they ended (the transaction index), not by first offset. An aborted transaction that
 * began before another one that ended first is then read as committed. A scaled-out worker read
 * a killed worker's aborted model-update totals this way, and counted a batch twice.
 *
 * This module puts a filter with the Java client's rule (Fetcher: the aborted transactions as a
 * queue by first offset; a producer's transactional records are skipped from the first offset
 * of its aborted transaction to its abort marker) in kafkajs's place. It must be evaluated
 * before kafkajs is loaded, which `./kafkajs.js` ensures: the project imports kafkajs only
 * through it (an eslint rule says so).
 */
import { createRequire, Module } from 'node:module';

interface FetchedMessage {
  readonly offset: string;
  readonly key?: Buffer | null;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** The key of an abort marker (a control record: version 0, type 0). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** The records of one fetched partition without those of aborted transactions (control records are dropped by kafkajs after this). */
export function withoutAborted<M extends FetchedMessage>({
  messages,
  abortedTransactions,
}: {
  readonly messages: readonly M[];
  readonly abortedTransactions?: readonly AbortedTransaction[];
}): M[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return [...messages];
  const queue = [...abortedTransactions].sort((a, b) => compare(BigInt(a.firstOffset), BigInt(b.firstOffset)));
  // Producers inside an aborted transaction at the record being looked at.
  const aborting = new Set<string>();
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (queue.length > 0 && BigInt(queue[0]!.firstOffset) <= offset) aborting.add(String(queue.shift()!.producerId));
    const { producerId, inTransaction } = message.batchContext;
    if (message.key && ABORT_MARKER_KEY.equals(message.key)) {
      aborting.delete(String(producerId));
      return true;
    }
    return !(inTransaction && aborting.has(String(producerId)));
  });
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const require = createRequire(import.meta.url);
const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
const batchPath = require.resolve('kafkajs/src/consumer/batch.js');
if (require.cache[batchPath] && require.cache[filterPath]?.exports !== withoutAborted) {
  throw new Error('kafkajs was loaded before streams/kafka/read-committed.js: import kafkajs through streams/kafka/kafkajs.js');
}
const replacement = new Module(filterPath);
replacement.filename = filterPath;
replacement.loaded = true;
replacement.exports = withoutAborted;
require.cache[filterPath] = replacement;
