import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import recommendationsSchema from '../../src/schemas/recommendations.schema.json' with { type: 'json' };
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { CLI, runCli } from './cli-run.js';

const ratings = randomRatings(6000, 60, 100, 8);
const datasetDir = writeMl100k(ratings);

/** Starts a paced replay with the HTTP API and resolves with its port once it listens. */
async function replayWithApi(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'replay', '--dataset', datasetDir, '--state', tempDir(), '--rate', '1500', '--batch-size', '100', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /live page and metrics on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`replay exited: ${stderr}`)));
  });
  return { child, port, log: () => stderr };
}

test('replay --http-port serves /metrics with the process metrics under their standard names and a live LMDB size, behind RXREC_HTTP_TOKEN', async () => {
  const { child, port, log } = await replayWithApi(['--http-port', '0', '--http-host', '127.0.0.1'], { RXREC_HTTP_TOKEN: 'tok-123' });
  try {
    const url = `http://127.0.0.1:${port}`;
    const refused = await fetch(`${url}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="rxrec"');
    assert.equal((await fetch(`${url}/health/live`)).status, 200, 'probes need no token');
    let text = '';
    let lmdbBytes = 0;
    for (let attempt = 0; attempt < 50 && !(lmdbBytes > 0); attempt++) {
      await sleep(100);
      const response = await fetch(`${url}/metrics?k=0`, { headers: { authorization: 'Bearer tok-123' } });
      assert.equal(response.status, 200);
      text = await response.text();
      lmdbBytes = Number(/^rxrec_lmdb_size_bytes (\d+)$/m.exec(text)?.[1]);
    }
    assert.ok(lmdbBytes > 0, 'the LMDB size is current while the replay runs');
    assert.match(text, /^rxrec_events_applied_total [1-9]\d*$/m, 'scraped mid-replay');
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.match(text, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), name);
    }
    assert.doesNotMatch(text, /^rxrec_(process|nodejs)_/m);
    // Neither the token nor a wrong one shows in the metrics, the answers or the log.
    const wrong = await fetch(`${url}/summary`, { headers: { authorization: 'Bearer wrong-tok-456' } });
    assert.equal(wrong.status, 401);
    const said = `${text}${await wrong.text()}`;
    assert.ok(!said.includes('tok-123') && !said.includes('wrong-tok-456'), 'a token in an answer');
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  assert.ok(!log().includes('tok-123') && !log().includes('wrong-tok-456'), 'a token in the log');
});

test('replay --http-host is where the API listens: an address of no local interface fails in one line', () => {
  const { status, stderr } = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--http-port', '0', '--http-host', '203.0.113.7']);
  assert.equal(status, 1);
  assert.match(stderr.trim().split('\n').pop()!, /^rxrec: cannot listen on 203\.0\.113\.7:0: .* \(see --http-host\)$/);
  const blank = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--http-port', '0'], { RXREC_HTTP_TOKEN: ' ' });
  assert.equal(blank.status, 2);
  assert.match(blank.stderr, /--http-token \(or RXREC_HTTP_TOKEN\) is empty or contains white space/);
});

test('recommend --json follows the recommendations contract; a reader that stops early ends it quietly', async () => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state]).status, 0);
  const validate = new Ajv2020({ strict: true }).compile(recommendationsSchema);
  for (const user of ['3', 'nobody']) {
    const { status, stdout } = runCli(['recommend', '--user', user, '--state', state, '--json']);
    assert.equal(status, 0);
    const list = JSON.parse(stdout);
    assert.ok(validate(list), `${user}: ${JSON.stringify(validate.errors)}`);
    assert.equal(list.known, user === '3');
  }
  const known = JSON.parse(runCli(['recommend', '--user', '3', '--state', state, '--json']).stdout);
  assert.equal(known.eventTs, Math.max(...ratings.filter((r) => r.user === 2).map((r) => Math.floor(r.ts / 1000) * 1000)));
  assert.equal(known.sourceOffset, `0:${ratings.length - 1}`);
  assert.match(known.items[0].title, /^Film \d+ \(1995\)$/);

  // `rxrec recommend | head -1`: the reader is gone before the first write.
  const child = spawn(process.execPath, [CLI, 'recommend', '--user', '3', '--state', state, '--k', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(stderr, '', 'no EPIPE stack trace');
  assert.equal(code, 0);
});
