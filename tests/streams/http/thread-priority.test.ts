/** --pipeline-nice lowers every thread of the process but the HTTP front's (Linux keeps nice values per thread). */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { currentThreadId, lowerOtherThreads } from '../../../streams/http/thread-priority.js';

test('every thread but the spared one is lowered: the main thread, V8 and libuv threads, other workers', async (t) => {
  if (currentThreadId() === undefined) return t.skip('no /proc/thread-self: not Linux');
  const spawn = () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
       parentPort.postMessage(tid);
       setInterval(() => {}, 1000);`,
      { eval: true },
    );
    t.after(() => worker.terminate());
    return new Promise<number>((resolve) => worker.once('message', resolve));
  };
  const [front, other] = await Promise.all([spawn(), spawn()]);
  const lowered = lowerOtherThreads(7, () => front);
  t.after(() => lowered.stop());

  const threads = readdirSync('/proc/self/task').map(Number);
  assert.ok(threads.length >= 4, `${threads.length} threads`);
  assert.equal(getPriority(front), 0, 'the front thread keeps its priority');
  for (const thread of threads) if (thread !== front) assert.equal(getPriority(thread), 7, `thread ${thread}`);
  assert.equal(getPriority(0), 7, 'the calling thread');
  assert.equal(getPriority(other), 7, 'another worker');
  assert.equal(currentThreadId(), process.pid, "the main thread's id is the process id");
});
