import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDataset } from '../../src/datasets/detect.js';
import { ReplayLog } from '../../streams/embedded/replay-log.js';
import type { Pacing } from '../../streams/embedded/pacing.js';
import { writeMl100k } from '../fixtures.js';

// Ten ratings one minute apart, written out of order: the log must replay them by timestamp.
const ratings = Array.from({ length: 10 }, (_, n) => ({ user: n % 3, item: n, rating: 1 + (n % 5), ts: 1_000_000_000_000 + n * 60_000 }));
const dir = writeMl100k([...ratings].reverse(), { extraLines: ['broken line'] });

async function logWithClock(pacing: Pacing) {
  let now = 0;
  const log = await ReplayLog.load(await openDataset(dir), pacing, { now: () => now });
  await log.start(() => undefined);
  return { log, advance: (ms: number) => (now += ms) };
}

test('the log replays malformed lines first, then ratings by timestamp, with stable offsets', async () => {
  const { log } = await logWithClock({ kind: 'max' });
  const records = (await log.poll(100, 0))!;
  assert.equal(records.length, 11);
  assert.equal(records[0]!.malformed, 'expected 4 fields separated by tabs, found 1');
  assert.equal(records[0]!.origin, 'u.data:11');
  const times = records.slice(1).map((r) => (r.value as { ts: number }).ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.deepEqual(
    records.map((r) => r.offset),
    [...Array(11).keys()],
  );
  assert.equal(await log.poll(100, 0), null);
});

test('--rate releases records as their time comes', async () => {
  const { log, advance } = await logWithClock({ kind: 'rate', eventsPerSecond: 10 });
  assert.equal((await log.poll(100, 0))!.length, 1, 'offset 0 is due at once');
  advance(250);
  assert.equal((await log.poll(100, 0))!.length, 2, 'offsets 1 and 2 are due by 250 ms');
  advance(10_000);
  assert.equal((await log.poll(5, 0))!.length, 5, 'the size bound holds');
  assert.equal((await log.poll(100, 0))!.length, 3);
});

test("--speed follows the gaps between the events' own timestamps", async () => {
  const { log, advance } = await logWithClock({ kind: 'speed', factor: 60 });
  // The malformed line and the first rating are due at once; then one rating per second (a minute at 60×).
  assert.equal((await log.poll(100, 0))!.length, 2);
  advance(1000);
  assert.equal((await log.poll(100, 0))!.length, 1);
  advance(2500);
  assert.equal((await log.poll(100, 0))!.length, 2);
});

test('a resumed log starts at the stored position, and a position past the end is refused', async () => {
  const log = await ReplayLog.load(await openDataset(dir), { kind: 'max' });
  await log.start(() => 7);
  assert.deepEqual(
    (await log.poll(100, 0))!.map((r) => r.offset),
    [7, 8, 9, 10],
  );
  await assert.rejects(
    log.start(() => 12),
    /stored position 12 is past the end of u.data \(11 records\): the file has changed; use --fresh/,
  );
});
