/** The checks of the API's path ids and `k`: each rejection is a 400 whose reason names the problem. */

/** The longest id accepted, as in the item and user schemas. */
export const MAX_ID_LENGTH = 256;
export const DEFAULT_MAX_K = 100;
export const DEFAULT_K = 10;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

// C0 controls, DEL and C1 controls: never part of an id, and unsafe to echo into logs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** A path segment as an id: %-decoded, non-empty, at most MAX_ID_LENGTH characters, no control characters. */
export function idFromSegment(raw: string, what: 'user' | 'item'): Checked<string> {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: `malformed %-escape in the ${what} id '${raw.slice(0, 64)}'` };
  }
  return checkedId(id, what);
}

/** `user` from the query (already decoded): absent gives undefined, else the checks of a path id. */
export function userFromQuery(query: URLSearchParams): Checked<string | undefined> {
  const user = query.get('user');
  return user === null ? { ok: true, value: undefined } : checkedId(user, 'user');
}

function checkedId(id: string, what: 'user' | 'item'): Checked<string> {
  if (id.length === 0) return { ok: false, reason: `missing ${what} id` };
  if (id.length > MAX_ID_LENGTH) return { ok: false, reason: `${what} id is ${id.length} characters long, more than ${MAX_ID_LENGTH}` };
  if (CONTROL_CHARACTER.test(id)) return { ok: false, reason: `${what} id contains a control character` };
  return { ok: true, value: id };
}

/** `k` from the query: absent gives DEFAULT_K (capped by maxK), else a decimal integer in 1..maxK. */
export function kFromQuery(query: URLSearchParams, maxK: number): Checked<number> {
  const raw = query.get('k');
  if (raw === null) return { ok: true, value: Math.min(DEFAULT_K, maxK) };
  const k = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(k >= 1 && k <= maxK)) return { ok: false, reason: `k must be an integer from 1 to ${maxK}, not '${raw.slice(0, 32)}'` };
  return { ok: true, value: k };
}
