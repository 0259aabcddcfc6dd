import { createHash, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { getMany, pipelinePerKey, type Redis } from '../../infra/redis';
import { verifyHs256 } from './hs256';
import type { Clock } from '../../infra/clock';
import { invalidToken, TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_REVOKED, type AuthUser } from '../../http/auth';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const opaqueToken = () => randomBytes(32).toString('base64url');

interface AccessClaims {
  sub: string;
  sid: number;
  jti: string;
  iat: number;
  exp: number;
}

/**
 * Access tokens: HS256 JWTs (algorithm pinned on verify) carrying the login (`sid`) and a `jti`.
 * Revocation is a Redis deny-list checked on every request, kept for the token lifetime: one key per
 * revoked login (logout, refresh reuse, password reset, deletion) and one per revoked jti.
 */
export class AccessTokens {
  /**
   * A KeyObject made once: given a string, jsonwebtoken tries to parse it as a public key on every
   * verify, which was a third of the CPU of an authenticated request.
   */
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly ttlSec: number,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  sign(userId: number, sessionId: number): { token: string; jti: string; exp: number } {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const jti = randomUUID();
    const exp = iat + this.ttlSec;
    const token = jwt.sign({ sub: String(userId), sid: sessionId, jti, iat, exp }, this.key, { algorithm: 'HS256' });
    return { token, jti, exp };
  }

  /** Signature, expiry and the deny-list. Throws Unauthenticated; Redis errors propagate (→ 503). */
  async verify(token: string, { ignoreExpiry = false } = {}): Promise<AuthUser> {
    const user = this.verifySigned(token, { ignoreExpiry });
    const [sessionRevoked, jtiRevoked] = await getMany(this.redis, [
      this.sessionKey(user.sessionId),
      this.jtiKey(user.jti),
    ]);
    if (sessionRevoked || jtiRevoked) throw invalidToken(TOKEN_REVOKED);
    return user;
  }

  /**
   * Signature and expiry only, without the deny-list: for a route whose handler reads the login's
   * state from MySQL in the query it makes anyway (`revocation: 'in-query'` in src/http/routes.ts).
   */
  verifySigned(token: string, { ignoreExpiry = false } = {}): AuthUser {
    const verdict = verifyHs256(token, this.key, Math.floor(this.clock.now().getTime() / 1000), ignoreExpiry);
    // Only a token with a good signature gets as far as its expiry check: "expired" is never a
    // verdict on a forged one, and it tells the client that refreshing will help.
    if (verdict === 'expired') throw invalidToken(TOKEN_EXPIRED);
    if (verdict === 'invalid') throw invalidToken(TOKEN_INVALID);
    const claims = verdict as Partial<AccessClaims>;
    const userId = Number(claims.sub);
    if (!Number.isInteger(userId) || !Number.isInteger(claims.sid) || typeof claims.jti !== 'string') {
      throw invalidToken(TOKEN_INVALID);
    }
    return { id: userId, sessionId: claims.sid as number, jti: claims.jti, exp: claims.exp as number };
  }

  /** Which of these logins are on the deny-list (one MGET; on a cluster one GET per login): for re-checking long-lived connections. */
  async revokedAmong(sessionIds: number[]): Promise<Set<number>> {
    if (!sessionIds.length) return new Set();
    const flags = await getMany(
      this.redis,
      sessionIds.map((sid) => this.sessionKey(sid)),
    );
    return new Set(sessionIds.filter((_, i) => flags[i] !== null));
  }

  /** Deny-lists logins for at least as long as any access token issued for them can live. */
  async revokeSessions(sessionIds: number[]): Promise<void> {
    if (!sessionIds.length) return;
    // Each key is a whole verdict of its own, so they need not be written atomically (and on a
    // cluster they live in different slots).
    await pipelinePerKey(
      this.redis,
      sessionIds.map((sid) => this.sessionKey(sid)),
      (pipe, key) => pipe.set(key, '1', 'EX', this.ttlSec + 60),
    );
  }

  async revokeJti(jti: string, exp: number): Promise<void> {
    const ttl = Math.max(1, exp - Math.floor(this.clock.now().getTime() / 1000) + 60);
    await this.redis.set(this.jtiKey(jti), '1', 'EX', ttl);
  }

  private sessionKey(sid: number) {
    return `${this.prefix}revoked:sid:${sid}`;
  }
  private jtiKey(jti: string) {
    return `${this.prefix}revoked:jti:${jti}`;
  }
}
