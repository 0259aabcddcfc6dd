import type { RequestHandler } from 'express';
import { AppError } from '../errors';

/** The caller, as established from a verified, unrevoked access token. */
export interface AuthUser {
  id: number;
  sessionId: number;
  jti: string;
  /** Access token expiry, seconds since the epoch. */
  exp: number;
}

export type VerifyAccessToken = (token: string) => Promise<AuthUser>;

/** `error_description`s of a refused access token (RFC 6750); only "expired" is worth a refresh. */
export const TOKEN_EXPIRED = 'The access token expired';
export const TOKEN_INVALID = 'The access token is invalid';
export const TOKEN_REVOKED = 'The access token has been revoked';

/** 401 with `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`. */
export const invalidToken = (description: string) =>
  new AppError('UNAUTHENTICATED', description, undefined, {
    'WWW-Authenticate': `Bearer realm="pawmate", error="invalid_token", error_description="${description}"`,
  });

/** Longest access token taken from a query or handshake (ours are a few hundred characters). */
export const MAX_ACCESS_TOKEN_CHARS = 4096;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

/** Requires `Authorization: Bearer <accessToken>`; puts the caller on `res.locals.user`. */
export function authenticate(verify: VerifyAccessToken): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    // RFC 6750: no credentials → a bare challenge (no error code); a refused token says why in its own 401.
    if (!token)
      throw new AppError('UNAUTHENTICATED', 'A valid access token is required', undefined, {
        'WWW-Authenticate': 'Bearer realm="pawmate"',
      });
    res.locals.user = await verify(token);
    next();
  };
}

/**
 * For public routes that tailor their answer to a signed-in caller (blocks in sitter search): a
 * bearer token, when sent, is verified (a bad one is 401, as anywhere) and the caller is put on
 * `res.locals.user`; without one the request goes on anonymously.
 */
export function identifyIfPresent(verify: VerifyAccessToken): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header) {
      const token = bearerToken(header);
      if (!token)
        throw new AppError('UNAUTHENTICATED', 'A valid access token is required', undefined, {
          'WWW-Authenticate': 'Bearer realm="pawmate"',
        });
      res.locals.user = await verify(token);
    }
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authentication that also marks the caller as having just written (any method but GET/HEAD/OPTIONS),
 * before the route runs, so that the caller's next reads skip the read replicas until they have
 * caught up (read-your-own-writes; src/infra/replicas.ts). Without replicas it is `authenticated`.
 */
export function markingWrites(
  authenticated: RequestHandler,
  replicas: { configured: boolean; noteWrite(userId: number): Promise<void> },
): RequestHandler {
  if (!replicas.configured) return authenticated;
  return async (req, res, next) => {
    let passed = false;
    await authenticated(req, res, () => {
      passed = true;
    });
    if (!passed) return;
    if (!SAFE_METHODS.has(req.method)) await replicas.noteWrite((res.locals.user as AuthUser).id);
    next();
  };
}
