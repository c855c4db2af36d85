/** The default synthetic set's rating events in replay order (timestamp, then file line), for the Kafka benches. */
import type { RatingEvent } from '../src/events/rating.js';
import { resolveDataset } from '../streams/cli/dataset-spec.js';
import { ReplayLog } from '../streams/embedded/replay-log.js';

/** The first `limit` events (all by default). */
export async function syntheticEvents(limit = Infinity): Promise<RatingEvent[]> {
  const log = await ReplayLog.load(await resolveDataset('synthetic'), { kind: 'max' });
  await log.start(() => undefined);
  const events: RatingEvent[] = [];
  for (let records = await log.poll(10_000, 0); records !== null && events.length < limit; records = await log.poll(10_000, 0)) {
    for (const record of records) if (record.malformed === undefined && events.length < limit) events.push(record.value as RatingEvent);
  }
  return events;
}
