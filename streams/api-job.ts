/**
 * `rxrec api`: the HTTP API over a state directory that another process writes (a replay or a
 * worker, running or finished), read only: nothing in the directory is created or changed, so it
 * runs beside the writer and serves a finished state as long as wanted.
 *
 * Following a running writer: every `reloadEveryMs` the stored positions are read; when they
 * moved, the recommender is rebuilt from the state (one synchronous read, so one LMDB snapshot:
 * never half a batch) and swapped in; the front thread's copy is replaced by the lists of the
 * users whose history grew, and every other list is computed from the new read on request. Rebuilding reads the whole state, as `rxrec recommend` does, so its cost grows
 * with the state (about a second for a 60,000-event state here) and runs only when the writer
 * moved, at most a fifth of the time: checks are spaced five rebuilds apart when that is longer. The lists served are the state's as of the last reload; `sourceOffset` is the
 * position read with it.
 */
import type { Recommender } from '../src/recommender.js';
import { StateStore } from '../state/store.js';
import { describePositions, recordsBefore } from '../state/positions.js';
import { loadRecommender } from './assemble.js';
import { startHttpApi, type HttpApi, type HttpListenOptions } from './http/server.js';
import { PipelineMetrics } from './metrics.js';
import type { ServedState } from './served-list.js';

/** Checks are spaced at least this many times the last rebuild's duration. */
const RELOAD_SHARE_INVERSE = 5;

export interface ApiOptions {
  readonly stateDir: string;
  readonly k: number;
  readonly http: HttpListenOptions;
  /** How often the state is checked for new batches (0: never, the state as it was at start). */
  readonly reloadEveryMs: number;
  readonly log: (line: string) => void;
  /** Abort to stop serving. */
  readonly stop: AbortSignal;
  /** Called once the API listens. */
  readonly onListening?: (api: HttpApi) => void;
}

export async function serveState(options: ApiOptions): Promise<void> {
  const store = StateStore.open(options.stateDir, { readOnly: true });
  let api: HttpApi | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    let recommender = loadRecommender(store, options.k);
    let positions = store.positions();
    // Positions as of the loaded recommender, so a list's sourceOffset says what it was computed from.
    const state: ServedState = {
      itemLabel: (itemId) => store.itemLabel(itemId),
      userActivity: (user) => store.userActivity(user),
      position: (partition) => positions.get(partition),
    };
    const metrics = new PipelineMetrics({ processMetrics: true });
    metrics.lmdbSize.set(store.sizeBytes());
    api = await startHttpApi({ recommender, registry: metrics.registry, readiness: { notReadyBecause: () => undefined }, state }, options.http);
    metrics.ready.set(1);
    api.live.progressed({ position: recordsBefore(positions) });
    options.log(
      `serving the state in ${options.stateDir} read-only (${recommender.catalog.users.size} users, ${recommender.catalog.items.size} items, position ${describePositions(positions) || 'none'}) ` +
        `on http://${api.host}:${api.port}/${options.reloadEveryMs > 0 ? `, reading it again every ${options.reloadEveryMs / 1000} s while it changes` : ''}`,
    );
    options.onListening?.(api);
    const served = api;
    // A rebuild takes at most a fifth of the time between checks: a large state is read less often.
    let waitMs = options.reloadEveryMs;
    const reload = () => {
      const now = store.positions();
      if (samePositions(now, positions)) return;
      const started = performance.now();
      let next: Recommender;
      try {
        next = loadRecommender(store, options.k);
      } catch (error) {
        options.log(`cannot read the state again, still serving the previous read: ${(error as Error).message}`);
        return;
      }
      waitMs = Math.max(options.reloadEveryMs, RELOAD_SHARE_INVERSE * (performance.now() - started));
      const records = recordsBefore(now) - recordsBefore(positions);
      const changed = grownUsers(recommender, next);
      recommender = next;
      positions = now;
      served.reloaded(next, changed);
      served.live.batch(
        { records, applied: records, rejected: 0, rejections: [], positions: now, lists: [], refreshed: changed },
        { position: recordsBefore(now) },
      );
      metrics.lmdbSize.set(store.sizeBytes());
    };
    const schedule = () => {
      timer = setTimeout(() => {
        reload();
        schedule();
      }, waitMs);
    };
    if (options.reloadEveryMs > 0) schedule();
    await stopped(options.stop);
  } finally {
    clearTimeout(timer);
    try {
      await api?.close();
    } finally {
      await store.close();
    }
  }
}

/** Users new in `next` or whose history grew: their lists may differ. */
function grownUsers(previous: Recommender, next: Recommender): number[] {
  const changed: number[] = [];
  for (let user = 0; user < next.catalog.users.size; user++) {
    if (user >= previous.catalog.users.size || next.histories.itemsOf(user).size !== previous.histories.itemsOf(user).size) changed.push(user);
  }
  return changed;
}

function samePositions(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  return a.size === b.size && [...a].every(([partition, offset]) => b.get(partition) === offset);
}

function stopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
