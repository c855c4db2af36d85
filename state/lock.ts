/**
 * One writing process per state directory. LMDB serialises write transactions, but nothing in it
 * stops two pipelines from running on one directory: their batches interleave, each stores
 * positions for events the other applied, and the state is silently wrong. So a process that
 * writes holds `DIR/rxrec.lock` while the state is open.
 *
 * Why a pid file and not an OS lock: Node has no flock or fcntl, and LMDB's own lock file is
 * shared by every reader and writer. The file is created with O_EXCL and names its holder (pid,
 * the process's start time, host). A holder that died without removing it (SIGKILL, power loss)
 * left a file naming a process that no longer runs, or a pid now used by a process that started
 * later: such a lock is stale and the next process takes it over, so a crashed worker restarts
 * at once. The take-over renames the stale file away first (atomic), so of two processes
 * starting together after a crash only one gets the directory. A lock held from another host
 * cannot be checked from here: it is refused with a message saying how to clear it.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { StateError } from './errors.js';

export const LOCK_FILE = 'rxrec.lock';

interface LockHolder {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (Linux), telling a reused pid apart. */
  readonly started?: number;
  readonly host: string;
  readonly command: string;
  /** epoch ms */
  readonly since: number;
}

/** The directory's write lock while held; `release` removes it. */
export class StateLock {
  private constructor(private readonly path: string) {}

  /** Take the lock of `dir`, taking over a stale one; a StateError naming the holder when another process has it. */
  static acquire(dir: string): StateLock {
    const path = join(dir, LOCK_FILE);
    const me: LockHolder = {
      pid: process.pid,
      started: startTimeOf(process.pid),
      host: hostname(),
      command: process.argv.slice(2, 3).join(' ') || 'node',
      since: Date.now(),
    };
    // A few rounds: each lost race to another starting process is retried once it is settled.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx' });
        return new StateLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StateError(
            `cannot lock the state in '${dir}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): choose another with --state`,
          );
        }
      }
      const holder = readHolder(path);
      if (holder === undefined) continue; // removed meanwhile
      if (isRunning(holder)) throw new StateError(inUseMessage(dir, holder, path));
      takeOver(path, holder);
    }
    throw new StateError(`cannot lock the state in '${dir}': other processes keep taking it; try again`);
  }

  release(): void {
    const holder = readHolder(this.path);
    if (holder?.pid === process.pid) rmSync(this.path, { force: true });
  }
}

/** Move a stale lock aside; if another process replaced it meanwhile, put theirs back. */
function takeOver(path: string, stale: LockHolder): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readHolder(aside);
  if (moved !== undefined && (moved.pid !== stale.pid || moved.since !== stale.since)) {
    try {
      linkSync(aside, path);
    } catch {
      // Yet another process locked it meanwhile: theirs stands, and the next round sees it.
    }
  }
  rmSync(aside, { force: true });
}

function readHolder(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    if (Number.isInteger(holder.pid)) return holder;
  } catch {
    // A file cut short by a crash while it was written: its writer never held the lock.
  }
  return { pid: -1, host: hostname(), command: '?', since: 0 };
}

function isRunning(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot be checked from here
  if (holder.pid <= 0 || holder.pid === process.pid) return false; // our own pid: a previous process of ours (a restarted container)
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = startTimeOf(holder.pid);
  return holder.started === undefined || started === undefined || started === holder.started;
}

/** Field 22 of /proc/<pid>/stat, where there is one. */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const started = Number(fields[19]);
    return Number.isFinite(started) ? started : undefined;
  } catch {
    return undefined;
  }
}

function inUseMessage(dir: string, holder: LockHolder, path: string): string {
  const since = new Date(holder.since).toISOString().replace(/\.\d+Z$/, 'Z');
  const who = `process ${holder.pid} ('rxrec ${holder.command}'${holder.host === hostname() ? '' : ` on host ${holder.host}`}, since ${since})`;
  const remedy =
    holder.host === hostname()
      ? 'stop it, or give this command another --state'
      : `stop it, or give this command another --state; if that process is gone, delete ${path}`;
  return `the state in '${dir}' is in use by ${who}: ${remedy}`;
}
