/**
 * Why a write to the state failed, in words an operator can act on. LMDB reports a short write
 * as EIO ("Input/output error"), and a full disk, a quota and a file-size limit all end in one
 * (the kernel writes what fits, then refuses): the file system is asked which of them it was.
 * lmdb-js grows its map on demand (from 128 KB, doubling), so MDB_MAP_FULL is only seen when the
 * map cannot grow; it is named all the same.
 */
import { readFileSync, statfsSync, statSync } from 'node:fs';

const EIO = 5;
const EROFS = 30;
const EACCES = 13;
const EPERM = 1;
const ENOSPC = 28;
const EDQUOT = 122;
const EFBIG = 27;
const MDB_MAP_FULL = -30792;
/** Less free space than this on the state's file system counts as a full disk. */
const FULL_BELOW_BYTES = 4 * 1024 * 1024;

/** The cause of a failed write to `file` in `dir`, and what to do about it. */
export function explainWriteFailure(dir: string, file: string, error: unknown): string {
  const code = errorCode(error);
  const message = (error as Error).message ?? String(error);
  if (code === EROFS || code === 'EROFS' || code === EACCES || code === 'EACCES' || code === EPERM || code === 'EPERM') {
    return `the state directory has become read-only (${message}): make it writable again (remount the disk read-write, or fix its permissions) and start again`;
  }
  if (code === MDB_MAP_FULL) {
    return `LMDB's map is full and could not grow (${message}): free memory or address space for the process (ulimit -v) and start again`;
  }
  const free = freeBytes(dir);
  if (code === ENOSPC || code === 'ENOSPC' || code === EDQUOT || code === 'EDQUOT' || (free !== undefined && free < FULL_BELOW_BYTES)) {
    return `the disk is full (${message}; ${free === undefined ? 'free space unknown' : `${free} bytes free`} on the file system of '${dir}'): free space or move the state to a larger disk, and start again`;
  }
  const limit = fileSizeLimit();
  const size = fileSize(file);
  if (code === EFBIG || code === 'EFBIG' || (code === EIO && limit !== undefined && size !== undefined && size + FULL_BELOW_BYTES > limit)) {
    return `the state file reached this process's file-size limit (${message}; ${limit ?? 'unknown'} bytes, ulimit -f): raise the limit and start again`;
  }
  return `the write failed (${message}${code === undefined ? '' : `, code ${code}`}): LMDB reports a full disk, a quota and a failing disk this way; check the disk holding '${dir}' and start again`;
}

function errorCode(error: unknown): number | string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
}

function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

function fileSize(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** The soft RLIMIT_FSIZE, where /proc tells it (Linux); undefined when unlimited or unknown. */
function fileSizeLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max file size'));
    const soft = line?.slice('Max file size'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
