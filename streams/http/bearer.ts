/**
 * The optional bearer token (RFC 6750) of the HTTP API. Tokens are compared as SHA-256 digests
 * with timingSafeEqual: constant time, and the digests' equal length keeps the token's length
 * from leaking too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type BearerCheck = { readonly ok: true } | { readonly ok: false; readonly challenge: string; readonly reason: string };

export function bearerChecker(token: string): (authorization: string | undefined) => BearerCheck {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) return { ok: false, challenge: 'Bearer realm="rxrec"', reason: 'missing bearer token: send Authorization: Bearer <token>' };
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      return { ok: false, challenge: 'Bearer realm="rxrec", error="invalid_token"', reason: 'wrong bearer token' };
    }
    return { ok: true };
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
