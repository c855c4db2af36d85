/**
 * `--pipeline-nice`: every thread of this process but the HTTP front's runs at a lower priority,
 * so that list answers win the CPU when it is short. Not only the pipeline's thread: V8's
 * platform threads (concurrent GC of the pipeline's heap), libuv's pool, LMDB's writer and a
 * model's training worker compete with the front too. Linux keeps a nice value per thread and
 * setpriority takes a thread id; threads started later are lowered on the next pass. Elsewhere
 * only the calling thread can be lowered.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

const TASKS = '/proc/self/task';
/** New threads (a training worker, LMDB's writer) are found within this long. */
const RESCAN_MS = 2_000;

/** This thread's kernel id (Linux), for a thread that must be spared. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Lower every thread but `spared()` to `nice` (never raising one that is lower already), now and every RESCAN_MS until `stop`. */
export function lowerOtherThreads(nice: number, spared: () => number | undefined): { stop(): void } {
  let threads: string[];
  try {
    threads = readdirSync(TASKS);
  } catch {
    lower(0, nice);
    return { stop: () => undefined };
  }
  const pass = () => {
    const spare = spared();
    try {
      threads = readdirSync(TASKS);
    } catch {
      return;
    }
    for (const thread of threads) if (Number(thread) !== spare) lower(Number(thread), nice);
  };
  pass();
  const timer = setInterval(pass, RESCAN_MS).unref();
  return { stop: () => clearInterval(timer) };
}

function lower(thread: number, nice: number): void {
  try {
    if (getPriority(thread) < nice) setPriority(thread, nice);
  } catch (error) {
    // A thread that ended between the listing and the call is no loss; anything else is said once.
    if ((error as { info?: { code?: string } }).info?.code !== 'ESRCH' && !warned) {
      warned = true;
      process.emitWarning(`--pipeline-nice ${nice} was not applied to every thread: ${(error as Error).message}`);
    }
  }
}
let warned = false;
