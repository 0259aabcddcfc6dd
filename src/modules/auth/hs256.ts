import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Why a compact JWS was refused; 'expired' only ever for a token whose signature is good. */
export type Hs256Refusal = 'invalid' | 'expired';

/**
 * Verifies an HS256 JWT and returns its claims, or why it was refused. It does what
 * `jsonwebtoken.verify(token, key, { algorithms: ['HS256'], clockTimestamp })` did for our tokens, at
 * about a quarter of its cost on every authenticated request (its option checks and its trip through
 * jws and jwa cost three times the HMAC itself; docs/BENCHMARKS.md, "Request path"):
 * - three base64url segments; the signature is compared, in constant time, as the exact base64url
 *   text of HMAC-SHA256(key, "header.payload") (so no other spelling of the same bytes passes);
 * - only then is anything parsed: the header must say `"alg":"HS256"` (the algorithm is pinned, a
 *   token that names another is refused even when signed with our key), the payload must be a JSON
 *   object with a numeric `exp`; a `nbf` in the future is refused;
 * - expired when `now >= exp` (jsonwebtoken's rule), unless `ignoreExpiry`.
 * Tokens are still signed by jsonwebtoken (rare: logins and refreshes).
 */
export function verifyHs256(
  token: string,
  key: KeyObject,
  nowSec: number,
  ignoreExpiry = false,
): Record<string, unknown> | Hs256Refusal {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) return 'invalid';
  const given = Buffer.from(token.slice(dot2 + 1), 'utf8');
  const expected = Buffer.from(createHmac('sha256', key).update(token.slice(0, dot2)).digest('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
  } catch {
    return 'invalid';
  }
  if (!isObject(header) || header.alg !== 'HS256' || !isObject(claims)) return 'invalid';
  if (typeof claims.exp !== 'number') return 'invalid';
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSec)) return 'invalid';
  if (!ignoreExpiry && nowSec >= claims.exp) return 'expired';
  return claims;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
