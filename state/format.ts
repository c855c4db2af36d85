/**
 * The state directory's format version, and what is done with a state of another one.
 *
 * FORMAT_VERSION names the layout of state/store.ts: its sub-databases and their keys and values.
 * Every state is stamped with it (meta 'format') when created. On open:
 *   - the current format with every sub-database: used;
 *   - format 0, a state that holds a stream but no stamp (written before rxrec stamped its
 *     format), or the current format lacking sub-databases added since it was written: refused,
 *     naming what was found; `rxrec state migrate --state DIR` upgrades it in place (the missing
 *     sub-databases are added empty: what they hold — labels, side features, activity, the
 *     replay's series — fills again as the stream goes on), then the stamp is written;
 *   - a newer format: refused (no downgrade; use the rxrec that wrote it);
 *   - any other older format: refused; there is no migration, the state is rebuilt from its
 *     stream (`rxrec replay --fresh`, or a worker on a new state directory and a new group).
 * A layout change that old states cannot be upgraded to by adding empty sub-databases bumps
 * FORMAT_VERSION and adds its step to `migrate` (or documents the rebuild).
 */

/** Bump when the layout of state/store.ts changes incompatibly. */
export const FORMAT_VERSION = 1;

/** The sub-databases of FORMAT_VERSION, in the order they were introduced. */
export const SUB_DATABASES = [
  'meta',
  'positions',
  'users',
  'items',
  'history',
  'models',
  'lists',
  'evaluation',
  'item-labels',
  'user-features',
  'user-activity',
  'series',
] as const;
export type SubDatabase = (typeof SUB_DATABASES)[number];

/** What an existing state directory holds, as far as its format goes. */
export interface FoundLayout {
  /** The stamp; undefined when there is none. */
  readonly format: unknown;
  /** Bound to a stream (it holds something): an unstamped empty state is simply new. */
  readonly bound: boolean;
  readonly missing: readonly SubDatabase[];
  /** The stream it is bound to, for naming the rebuild. */
  readonly stream: string | undefined;
}

/** The format a found state counts as: 0 for an unstamped state that holds a stream. */
export function foundFormat(layout: FoundLayout): unknown {
  return layout.format === undefined && layout.bound ? 0 : layout.format;
}

/** Whether `migrate` can upgrade it: format 0 or the current format, lacking only sub-databases. */
export function migratable(layout: FoundLayout): boolean {
  const format = foundFormat(layout);
  return format === 0 || format === FORMAT_VERSION;
}

/** Why the state cannot be used as found, with the way out; undefined when it can. */
export function formatProblem(dir: string, layout: FoundLayout): string | undefined {
  const format = foundFormat(layout);
  if (format === undefined) return undefined;
  if (format === FORMAT_VERSION && layout.missing.length === 0) return undefined;
  const found =
    format === FORMAT_VERSION
      ? `has format ${format} but lacks the sub-database${layout.missing.length > 1 ? 's' : ''} ${layout.missing.map((name) => `'${name}'`).join(', ')} (written by an older rxrec)`
      : layout.format === undefined
        ? `has no format stamp (format 0, written by an older rxrec)`
        : `has format ${String(format)}${typeof format === 'number' && format < FORMAT_VERSION ? ' (written by an older rxrec)' : ''}`;
  const head = `the state in '${dir}' ${found}, this rxrec reads format ${FORMAT_VERSION}`;
  if (typeof format === 'number' && format > FORMAT_VERSION) return `${head}: use the rxrec version that wrote it, or start a new state directory (--state)`;
  if (migratable(layout)) return `${head}: upgrade it in place with 'rxrec state migrate --state ${dir}', or rebuild it (${rebuild(dir, layout.stream)})`;
  return `${head}: no migration exists from it; rebuild it (${rebuild(dir, layout.stream)})`;
}

function rebuild(dir: string, stream: string | undefined): string {
  if (stream?.startsWith('kafka:')) {
    return `run 'rxrec serve' with a new --state and a new --group, which reads the ratings topic from its start while the topic still holds every event`;
  }
  return `'rxrec replay --fresh --state ${dir}' with its dataset`;
}
