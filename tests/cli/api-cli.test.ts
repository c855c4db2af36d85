/** `rxrec api`: a finished or running state served over HTTP, read only, following its writer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts, randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { runCli, startCli } from './cli-run.js';

const ratings = randomRatings(6000, 60, 100, 12);
const datasetDir = writeMl100k(ratings);

interface Listed {
  readonly sourceOffset: string;
  readonly items: ReadonlyArray<{ readonly itemId: string }>;
}

async function listOf(port: number, query = ''): Promise<Listed> {
  const response = await fetch(`http://127.0.0.1:${port}/recommendations/3${query}`);
  assert.equal(response.status, 200);
  return (await response.json()) as Listed;
}

function files(dir: string): string[] {
  return readdirSync(dir).sort();
}

test('api serves a stopped state read only, then follows the replay that continues it', async (t) => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--stop-at', '3000']).status, 0);
  const before = files(state);
  const dataFile = statSync(join(state, 'rxrec.mdb'));

  const [port] = await freePorts(1);
  const api = startCli(['api', '--state', state, '--http-port', String(port!), '--reload-every', '0.2']);
  t.after(() => api.kill('SIGKILL'));
  let stderr = '';
  api.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('serving the state') && Date.now() < deadline) await sleep(50);
  assert.match(
    stderr,
    /^serving the state in .* read-only \(\d+ users, \d+ items, position p0@3000\) on http:\/\/127\.0\.0\.1:\d+\/, reading it again every 0\.2 s/,
  );

  assert.equal((await listOf(port!)).sourceOffset, '0:2999');
  assert.equal((await fetch(`http://127.0.0.1:${port}/health/ready`)).status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^rxrec_ready 1$/m);
  assert.match(metrics, /^process_resident_memory_bytes \d+/m);

  // The writer continues the state while the API serves it.
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state]).status, 0);
  const final = JSON.parse(runCli(['recommend', '--user', '3', '--state', state, '--json']).stdout) as Listed;
  assert.equal(final.sourceOffset, `0:${ratings.length - 1}`);
  let front: Listed | undefined;
  let passedThrough: Listed | undefined;
  while (Date.now() < deadline) {
    // The front thread's copy (k at its default), and a list the pipeline thread computes (another k).
    front = await listOf(port!);
    passedThrough = await listOf(port!, '?k=10');
    if (front.sourceOffset === final.sourceOffset && passedThrough.sourceOffset === final.sourceOffset) break;
    await sleep(100);
  }
  assert.equal(front?.sourceOffset, final.sourceOffset, 'the front copy followed the writer');
  assert.deepEqual(
    front?.items.map((item) => item.itemId),
    final.items.map((item) => item.itemId),
  );
  assert.equal(passedThrough?.sourceOffset, final.sourceOffset);

  api.kill('SIGTERM');
  const [code] = await once(api, 'exit');
  assert.equal(code, 0, stderr);
  // Read only: the directory holds what the writers left, nothing of the API's.
  assert.deepEqual(files(state), before);
  assert.ok(statSync(join(state, 'rxrec.mdb')).size >= dataFile.size);
});
