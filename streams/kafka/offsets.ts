/**
 * A topic's partition offsets from the admin client, asked again while a partition has no
 * leader yet (a topic just created, a broker just started, the transaction log being created
 * beside it): kafkajs's admin gives such answers of offset requests back at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { hasKafkaErrorType } from './errors.js';

/** How long a partition without a leader yet is waited for. */
const LEADER_WAIT_MS = 15_000;

/** kafkajs's names of the answers of a partition with no leader here yet (code 6 is NOT_LEADER_OR_FOLLOWER in Kafka's own list). */
const LEADERLESS = ['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION'];

/** Each partition's first (`low`) and end (`high`) offset. */
export function topicOffsets(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  return untilLed(() => admin.fetchTopicOffsets(topic));
}

/** Each partition's end offset: the offset the next record written to it will take. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await topicOffsets(admin, topic)).map(({ partition, high }) => [partition, Number(high)]));
}

/** `read`, again while the broker answers that the partition has no leader there yet, for up to `waitMs`. */
export async function untilLed<T>(read: () => Promise<T>, waitMs = LEADER_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      const leaderless = LEADERLESS.some((type) => hasKafkaErrorType(error, type));
      if (!leaderless || Date.now() >= deadline) throw error;
      await sleep(250);
    }
  }
}

/**
 * Resolves once `group` has committed every partition of `topic` up to its end offset as of the
 * call (a partition with no commit yet is not there); rejects after `timeoutMs`, saying what
 * the group had committed.
 */
export async function untilGroupAtEnd(admin: Admin, group: string, topic: string, timeoutMs: number): Promise<void> {
  const ends = await endOffsets(admin, topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committed = new Map((offsets?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
    if ([...ends].every(([partition, end]) => committed.get(partition) === end)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `group ${group} did not commit the end of ${topic} within ${timeoutMs / 1000} s: ${JSON.stringify([...committed])} of ${JSON.stringify([...ends])}`,
      );
    }
    await sleep(20);
  }
}
