/**
 * Defects found by trying rxrec as a new user would, on a real broker: the scale travels with
 * the stream (a half-star stream stops a worker on the whole-star scale at once instead of
 * filling the dlq), dead letters carry the contract's key and the original bytes, an
 * interrupted produce says so in its exit code, and /health/ready turns 503 within its stated
 * bound when the broker goes away. Its own broker: the last test stops it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, readToEnd, runCliOk, sleep, stateSummary, syntheticDataset, Worker } from './cli-process.js';
import { freePorts, tempDir } from '../fixtures.js';
import { spawn } from 'node:child_process';
import { CLI } from '../cli/cli-run.js';

/** An ml-10m folder (ratings.dat, half stars, no users file): a quarter of its ratings are halves. */
function halfStarDataset(count: number, extra: readonly Buffer[]): string {
  const dir = join(tempDir(), 'ml-10m');
  mkdirSync(dir);
  const lines = Array.from({ length: count }, (_, n) => `${1 + (n % 20)}::${1 + ((n * 7) % 50)}::${0.5 + (n % 10) * 0.5}::${1_000_000_000 + n}`);
  writeFileSync(
    join(dir, 'ratings.dat'),
    Buffer.concat([Buffer.from(lines.join('\n') + '\n'), ...extra.map((line) => Buffer.concat([line, Buffer.from('\n')]))]),
  );
  return dir;
}

test('a half-star stream stops a worker on the 1-5 scale at once with one line; on 0.5-5 every rating is applied; dead letters carry key and original bytes', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  const topics = topicNames(settings.topicPrefix);
  const latin1Line = Buffer.from('7::caf\xe9::x', 'latin1');
  const dataset = halfStarDataset(400, [latin1Line]);
  const produced = await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--json']);
  assert.equal(JSON.parse(produced.stdout.trim().split('\n').pop()!).ratings, 401);
  const kafka = kafkaClient(settings, collectingLog().log);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: topics.ratings, messages: [{ key: '4', value: '{"userId":"4","itemId":"9","rating":9,"ts":881250949000}' }] });
  await producer.disconnect();

  const wholeState = tempDir();
  const whole = Worker.start(settings, `${settings.topicPrefix}whole`, wholeState);
  const stopped = await whole.exited;
  assert.equal(stopped.code, 1, stopped.stderr);
  const errors = stopped.stderr.split('\n').filter((line) => line.startsWith('rxrec:'));
  assert.equal(errors.length, 1, stopped.stderr);
  assert.match(
    errors[0]!,
    /^rxrec: .*ratings carries ratings on the 0\.5-5 scale \(record 0:\d+, produced from a 0\.5-5 dataset\), but this worker validates against 1-5: start it with --scale 0\.5-5 and a --state of that scale; nothing of this batch was applied$/,
  );
  assert.equal((await stateSummary(wholeState)).applied, 0);
  assert.equal((await readToEnd(kafka, settings, topics.dlq)).length, 0, 'nothing went to the dlq');

  const halfState = tempDir();
  const half = Worker.start(settings, `${settings.topicPrefix}half`, halfState, ['--scale', '0.5-5']);
  await half.waitFor('the stream applied', () => /applied|assigned/.test(half.stderr));
  let letters = await readToEnd(kafka, settings, topics.dlq);
  for (const deadline = Date.now() + 60_000; letters.length < 2; letters = await readToEnd(kafka, settings, topics.dlq)) {
    half.assertRunning();
    assert.ok(Date.now() < deadline, `two dead letters within 60 s, got ${letters.length}`);
    await sleep(500);
  }
  const finished = await half.stop();
  assert.match(finished.stderr, /stopped: applied 400 events, rejected 2/);
  const values = letters.map((record) => JSON.parse(record.value!));
  for (const value of values) assert.deepEqual(Object.keys(value), ['reason', 'topic', 'partition', 'offset', 'origin', 'key', 'raw']);
  const keyed = values.find((value) => value.key === '4');
  assert.ok(keyed, JSON.stringify(values));
  assert.equal(letters.find((record) => record.key === '4') !== undefined, true, 'the key is the message key too');
  assert.equal(keyed.raw, '{"userId":"4","itemId":"9","rating":9,"ts":881250949000}');
  const line = values.find((value) => value.key === null);
  assert.equal(line?.raw, `base64:${latin1Line.toString('base64')}`, 'the line as its original (latin-1, not UTF-8) bytes');
});

test('produce interrupted by SIGINT exits 130 after its summary', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  const dataset = await syntheticDataset({ users: 30, items: 60, ratings: 1000 });
  const child = spawn(process.execPath, [CLI, 'produce', ...kafkaArgs(settings), '--dataset', dataset, '--rate', '50', '--no-metadata'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (const deadline = Date.now() + 60_000; !/producing ml-100k/.test(stderr); await sleep(50)) assert.ok(Date.now() < deadline, stderr);
  await sleep(1000);
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stdout, /ratings records to .* \(interrupted\)/);
});

test('/health/ready turns 503 within 6 s of the broker going away, and 200 again once it is back', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.control);
  const settings = testSettings(broker.brokers, { partitions: 2 });
  const [httpPort] = await freePorts(1);
  const worker = Worker.start(settings, `${settings.topicPrefix}workers`, tempDir(), ['--http-port', String(httpPort)]);
  t.after(() => worker.child.kill('SIGKILL'));
  const status = () =>
    fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(
      async (response) => ({ status: response.status, reason: ((await response.json()) as { reason?: string }).reason }),
      () => ({ status: 0, reason: undefined }),
    );
  for (const deadline = Date.now() + 90_000; (await status()).status !== 200; await sleep(200)) {
    worker.assertRunning();
    assert.ok(Date.now() < deadline, `ready within 90 s:\n${worker.stderr}`);
  }
  await sleep(3000); // steady state: fetching and heartbeating
  const stopping = Date.now();
  await broker.control.stop();
  const stoppedAt = Date.now();
  let answer = await status();
  while (answer.status === 200) {
    assert.ok(Date.now() - stoppedAt < 15_000, 'not ready within 15 s of the outage');
    await sleep(100);
    answer = await status();
  }
  const notReadyAfterMs = Date.now() - stoppedAt;
  console.log(`ready → ${answer.status} ${notReadyAfterMs} ms after the broker stopped (stop took ${stoppedAt - stopping} ms): ${answer.reason}`);
  assert.equal(answer.status, 503);
  assert.match(answer.reason!, /^the consumer is not in touch with Kafka/);
  assert.ok(notReadyAfterMs <= 6_500, `not ready after ${notReadyAfterMs} ms; the stated bound is 6 s`);
  await broker.control.start();
  for (const deadline = Date.now() + 90_000; (await status()).status !== 200; await sleep(200)) {
    worker.assertRunning();
    assert.ok(Date.now() < deadline, `ready again within 90 s:\n${worker.stderr}`);
  }
  await worker.stop();
});
