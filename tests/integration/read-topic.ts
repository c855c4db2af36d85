/** Read back what a test wrote, through the same subscriber `rxrec subscribe` uses. */
import type { Kafka } from 'kafkajs';
import type { KafkaSettings } from '../../streams/kafka/config.js';
import { TopicSubscription, type SubscribedRecord } from '../../streams/kafka/subscriber.js';

/** The first `count` records of `topic` from its start; fails with what arrived after `timeoutMs`. */
export async function readTopic(kafka: Kafka, settings: KafkaSettings, topic: string, count: number, timeoutMs = 30_000): Promise<SubscribedRecord[]> {
  const records: SubscribedRecord[] = [];
  let enough!: () => void;
  const arrived = new Promise<void>((resolve) => (enough = resolve));
  const subscription = await TopicSubscription.open(kafka, settings, { topics: [topic], fromBeginning: true }, (record) => {
    records.push(record);
    if (records.length >= count) enough();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      arrived,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`read ${records.length} of ${count} records from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await subscription.close();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
