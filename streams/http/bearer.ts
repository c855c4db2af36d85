/**
 * The optional bearer token (RFC 6750) of the HTTP API. Tokens are compared as SHA-256 digests
 * with timingSafeEqual: constant time, and the digests' equal length keeps the token's length
 * from leaking too. Routes a browser opens by address (the live page, its event stream) may also
 * take it as the `token` query parameter (RFC 6750 §2.3); the header wins when both are sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type BearerCheck = { readonly ok: true } | { readonly ok: false; readonly challenge: string; readonly reason: string };

/** `query`: the route takes the token from the query too; `token` is its value there, or null. */
export type BearerChecker = (authorization: string | undefined, query?: { readonly token: string | null }) => BearerCheck;

export function bearerChecker(token: string): BearerChecker {
  const expected = digest(token);
  return (authorization, query) => {
    const given = authorization === undefined && query?.token != null ? query.token : /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
    if (given === undefined) {
      const how = query ? 'send Authorization: Bearer <token>, or open the page as /?token=<token>' : 'send Authorization: Bearer <token>';
      return { ok: false, challenge: 'Bearer realm="rxrec"', reason: `missing bearer token: ${how}` };
    }
    if (!timingSafeEqual(digest(given), expected)) {
      return { ok: false, challenge: 'Bearer realm="rxrec", error="invalid_token"', reason: 'wrong bearer token' };
    }
    return { ok: true };
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
