import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import { DEFAULT_MODEL_SETTINGS } from '../../../src/models/registry.js';
import { assembleRecommender } from '../../../streams/assemble.js';
import { Front } from '../../../streams/http/front.js';
import { startHttpApi } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import { servedList, type ServedState } from '../../../streams/served-list.js';
import { randomRatings } from '../../fixtures.js';

const NO_STATE: ServedState = { itemLabel: () => undefined, userActivity: () => undefined, position: () => undefined };

/**
 * GET `path` from a child process while this thread is blocked in execFileSync: only a thread
 * other than this one can answer. Prints the body, or `timeout` after `timeoutMs`.
 */
function fetchWhileBlocked(port: number, path: string, timeoutMs: number): string {
  const script = `fetch('http://127.0.0.1:${port}${path}', { signal: AbortSignal.timeout(${timeoutMs}) })
    .then((r) => r.text()).then((t) => process.stdout.write(t), () => process.stdout.write('timeout'))`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
}

test('the front thread answers list requests while the pipeline thread is busy: known users their own list, unknown users the cold-start list; other routes wait for it', async () => {
  const recommender = assembleRecommender({ ...DEFAULT_MODEL_SETTINGS, scale: WHOLE_STARS.name, rankModel: 'ensemble' }, 10);
  const events = randomRatings(2000, 30, 50, 4).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }));
  const lists = recommender.applyBatch(recommender.index(events));
  const api = await startHttpApi({ recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined } }, { port: 0 });
  try {
    api.refreshed(lists.map((list) => list.user));
    await sleep(200);
    const { publishedAt: _, ...expected } = servedList(recommender, NO_STATE, 'u3', 10).list;
    const { publishedAt, ...own } = JSON.parse(fetchWhileBlocked(api.port, '/recommendations/u3', 3000));
    assert.deepEqual(own, expected);
    assert.equal(typeof publishedAt, 'number');
    const { publishedAt: __, ...cold } = servedList(recommender, NO_STATE, 'stranger', 10).list;
    const { publishedAt: ___, ...newcomer } = JSON.parse(fetchWhileBlocked(api.port, '/recommendations/stranger', 3000));
    assert.deepEqual(newcomer, cold);
    assert.equal(newcomer.known, false);
    // What only this thread can answer waits for it.
    assert.equal(fetchWhileBlocked(api.port, '/summary', 500), 'timeout');
    // And is answered once it is free, through the front.
    const summary = await fetch(`http://127.0.0.1:${api.port}/summary`);
    assert.equal(summary.status, 200);
  } finally {
    await api.close();
  }
});

test('a request the front passes on is sent again once when the pipeline thread’s server closed the kept-alive socket it went out on', async () => {
  const { dir, path } = Front.socketPath();
  // Answers the first request of each connection and keeps it alive, then drops the connection
  // at its second request, unanswered: the race of a keep-alive timeout with a reused socket.
  const connections: number[] = [];
  const upstream = createNetServer((socket) => {
    const index = connections.push(0) - 1;
    socket.on('data', () => {
      if (++connections[index]! > 1) return void socket.destroy();
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(path, resolve));
  const front = await Front.start({ port: 0, host: '127.0.0.1', maxHeaderBytes: 16_384, requestTimeoutMs: 5000, socketPath: path }, dir);
  try {
    const statuses = [];
    for (let request = 0; request < 3; request++) statuses.push((await fetch(`http://127.0.0.1:${front.port}/summary`)).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    // The second and third each went out on the kept-alive socket, were dropped, and went again on a new one.
    assert.deepEqual(connections, [2, 2, 1]);
  } finally {
    await front.close();
    upstream.close();
  }
});
