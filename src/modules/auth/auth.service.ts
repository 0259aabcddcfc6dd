import bcrypt from 'bcrypt';
import type { Sequelize, Transaction } from 'sequelize';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import { type Outbox } from '../../infra/outbox';
import { templates } from '../../infra/mail/templates';
import type { MailMessage } from '../../infra/mail/mailer';
import type { LoginsRevokedMessage } from '../../infra/realtime/bus';
import { RateLimited, Unauthenticated, ValidationFailed } from '../../errors';
import { invalidToken, TOKEN_REVOKED, type AuthUser } from '../../http/auth';
import type { UsersService } from '../users/users.service';
import { toSelfUser } from '../users/users.presenter';
import { AuthRepository, type EmailTokenPurpose, type RefreshTokenRow } from './auth.repository';
import { AccessTokens, opaqueToken, sha256 } from './auth.tokens';
import { LinkSealer, TOPIC_LINK_MAIL, type LinkMailJob } from './auth.links';

export const TOPIC_MAIL = 'mail.send';
export const TOPIC_LOGINS_REVOKED = 'auth.logins-revoked';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_MAIL]: MailMessage;
    [TOPIC_LOGINS_REVOKED]: LoginsRevokedMessage;
  }
}

const VERIFY_TTL_MS = 24 * 3600 * 1000;
const RESET_TTL_MS = 3600 * 1000;
/** How long the token spent last in a login may be presented again without counting as theft. */
export const REFRESH_REUSE_GRACE_MS = 10_000;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

export interface AuthSettings {
  bcryptCost: number;
  refreshTokenTtlSec: number;
  accessTokenTtlSec: number;
  /** Base of the links in mails (the front end's /verify-email and /reset-password pages). */
  appUrl: string;
  /** Seals the tokens of link mails at rest (config.jwtSecret; a key is derived from it). */
  linkSealSecret: string;
}

export interface LoginLimiters {
  /**
   * Failed logins per client IP. Looser than per account: a team behind one NAT shares an address,
   * and one member's typos must not lock the others out.
   */
  perIp: RateLimiterRedis;
  /** Failed logins per account (e-mail), wherever they come from. */
  perAccount: RateLimiterRedis;
  /** Reset mails per address: `password/forgot` must not become a way to flood someone's inbox. */
  resetMailsPerAddress: RateLimiterRedis;
}

export class AuthService {
  /** A real hash to compare against when the e-mail is unknown, so both failures take the same time. */
  private readonly dummyHash: Promise<string>;
  private readonly sealer: LinkSealer;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly repo: AuthRepository,
    private readonly users: UsersService,
    private readonly tokens: AccessTokens,
    private readonly outbox: Outbox,
    private readonly limiters: LoginLimiters,
    private readonly settings: AuthSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.dummyHash = bcrypt.hash('not-a-real-password', settings.bcryptCost);
    this.dummyHash.catch(() => undefined);
    this.sealer = new LinkSealer(settings.linkSealSecret);
  }

  verifyAccessToken = (token: string): Promise<AuthUser> => this.tokens.verify(token);

  /**
   * Signature and expiry only: for routes whose handler checks the login against `sessions` in its
   * own query (`revocation: 'in-query'`); never a verdict on its own.
   */
  verifySignedAccessToken = async (token: string): Promise<AuthUser> => this.tokens.verifySigned(token);

  /**
   * For a route with `revocation: 'in-query'` whose statement may answer no rows (an empty page): the
   * condition to fold into that statement (`openLoginSql`), and the check to make when it answered
   * nothing, since then it cannot tell a revoked login from an empty result. Refuses as the deny-list would.
   */
  openLoginSql = (caller: { id: number; sessionId: number }) => AuthRepository.openLoginSql(caller);

  async requireOpenLogin(caller: { id: number; sessionId: number }): Promise<void> {
    if (!(await this.repo.isLoginOpen(caller))) throw invalidToken(TOKEN_REVOKED);
  }

  /** Logins among these that have been revoked (streams and sockets re-check with it). */
  revokedAmong = (sessionIds: number[]): Promise<Set<number>> => this.tokens.revokedAmong(sessionIds);

  async signup(input: { email: string; password: string; nickname: string }, userAgent: string | null) {
    const passwordHash = await bcrypt.hash(input.password, this.settings.bcryptCost);
    return inTransaction(this.sequelize, async (t) => {
      const user = await this.users.createAccount({ email: input.email, passwordHash, nickname: input.nickname }, t);
      await this.issueEmailToken(user.id, 'verify_email', t);
      const pair = await this.openLogin(user.id, userAgent, t);
      return { user: toSelfUser(user), ...pair };
    });
  }

  /**
   * A guess is paid for before it is evaluated: both counters are consumed first (one atomic INCR
   * each), so N parallel guesses cannot all read "under the limit" and then all be compared. A
   * success gives the points back (the account's counter is cleared, the IP's point returned).
   */
  async login(input: { email: string; password: string }, ip: string, userAgent: string | null) {
    const ipKey = ip;
    const accountKey = input.email;
    await this.consumeAttempt(ipKey, accountKey);
    const user = await this.users.findByEmail(input.email);
    // An account without a password (provider sign-in only) still pays for one comparison, and fails.
    const hash = user?.passwordHash ?? null;
    const ok = (await bcrypt.compare(input.password, hash ?? (await this.dummyHash))) && hash !== null;
    if (!user || !ok) throw Unauthenticated('Wrong e-mail or password');
    await Promise.all([this.limiters.perAccount.delete(accountKey), this.limiters.perIp.reward(ipKey, 1)]);
    const pair = await inTransaction(this.sequelize, (t) => this.openLogin(user.id, userAgent, t));
    return { user: toSelfUser(user), ...pair };
  }

  private async consumeAttempt(ipKey: string, accountKey: string) {
    const limiters: Array<[RateLimiterRedis, string]> = [
      [this.limiters.perIp, ipKey],
      [this.limiters.perAccount, accountKey],
    ];
    const results = await Promise.allSettled(limiters.map(([l, key]) => l.consume(key, 1)));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (!refused.length) return;
    // Not evaluated, so not a failure: the other counter gets its point back (a locked account
    // hammered from a shared address must not use up that address's allowance).
    await Promise.all(
      results.map((r, i) => (r.status === 'fulfilled' ? limiters[i][0].reward(limiters[i][1], 1) : undefined)),
    );
    const overLimit = refused.filter((r): r is RateLimiterRes => r instanceof RateLimiterRes);
    if (overLimit.length < refused.length) throw refused.find((r) => !(r instanceof RateLimiterRes)); // Redis down → 503
    throw RateLimited(Math.max(...overLimit.map((r) => r.msBeforeNext)) / 1000);
  }

  /**
   * Rotation: the presented token is spent and a new one issued in the same login. Presenting a spent
   * token means it leaked: the whole login is revoked and the answer is 401 — except within
   * REFRESH_REUSE_GRACE_MS of its use, for the token spent last in that login: two tabs that refresh
   * with the same token at once both get a pair (the large identity providers allow the same).
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const now = this.clock.now();
    const outcome = await inTransaction(this.sequelize, async (t) => {
      const row = await this.repo.lockRefreshToken(sha256(refreshToken), t);
      if (!row || row.sessionRevokedAt) return { kind: 'invalid' as const };
      if (row.usedAt && (await this.withinReuseGrace(row, now, t))) {
        return { kind: 'ok' as const, pair: await this.issuePair(row.userId, row.sessionId, t) };
      }
      if (row.usedAt) {
        await this.repo.revokeSession(row.sessionId, 'refresh_reuse', now, t);
        await this.recordRevocation([row.sessionId], row.userId, t);
        return { kind: 'reused' as const, sessionId: row.sessionId };
      }
      if (new Date(row.expiresAt) <= now) return { kind: 'invalid' as const };
      await this.repo.markRefreshTokenUsed(row.id, now, t);
      return { kind: 'ok' as const, pair: await this.issuePair(row.userId, row.sessionId, t) };
    });
    if (outcome.kind === 'ok') return outcome.pair;
    if (outcome.kind === 'reused') {
      this.logger.warn({ sessionId: outcome.sessionId }, 'refresh token reuse: login revoked');
      await this.applyRevocation([outcome.sessionId]);
    }
    throw Unauthenticated('The refresh token is invalid, expired or already used');
  }

  private async withinReuseGrace(row: RefreshTokenRow, now: Date, t: Transaction): Promise<boolean> {
    if (!row.usedAt || now.getTime() - new Date(row.usedAt).getTime() > REFRESH_REUSE_GRACE_MS) return false;
    if (new Date(row.expiresAt) <= now) return false;
    return (await this.repo.lastUsedRefreshTokenId(row.sessionId, t)) === row.id;
  }

  /** Ends the caller's login (access + refresh family); a given refresh token of the same user ends too. */
  async logout(caller: AuthUser, refreshToken?: string): Promise<void> {
    const now = this.clock.now();
    const sessionIds = await inTransaction(this.sequelize, async (t) => {
      const ids = [caller.sessionId];
      if (refreshToken) {
        const row = await this.repo.lockRefreshToken(sha256(refreshToken), t);
        if (row && row.userId === caller.id && row.sessionId !== caller.sessionId) ids.push(row.sessionId);
      }
      for (const id of ids) await this.repo.revokeSession(id, 'logout', now, t);
      await this.recordRevocation(ids, caller.id, t);
      return ids;
    });
    await this.applyRevocation(sessionIds, caller);
  }

  async verifyEmail(token: string): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      const userId = await this.spendEmailToken(token, 'verify_email', t);
      await this.users.markEmailVerified(userId, t);
    });
  }

  async resendVerification(userId: number): Promise<void> {
    const user = await this.users.findById(userId);
    if (!user || !user.email || user.emailVerifiedAt) return; // nothing to do; the answer stays 202
    await inTransaction(this.sequelize, (t) => this.issueEmailToken(user.id, 'verify_email', t));
  }

  /**
   * Answers at once and does the work after: how long the answer takes must not tell whether an
   * account exists (a lookup, a token and an outbox row take measurably longer than nothing).
   */
  forgotPassword(email: string): void {
    setImmediate(() => {
      this.sendResetLink(email).catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'password reset request failed after answering'),
      );
    });
  }

  private async sendResetLink(email: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    if (!user || !user.email) return;
    try {
      await this.limiters.resetMailsPerAddress.consume(user.email.toLowerCase(), 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.logger.info({ userId: user.id }, 'reset mail not sent: too many for this address');
      return;
    }
    await inTransaction(this.sequelize, (t) => this.issueEmailToken(user.id, 'reset_password', t));
  }

  async resetPassword(token: string, password: string): Promise<void> {
    // The token is checked before the deliberately slow hash, so a wrong token costs no bcrypt work.
    const usable = await this.repo.findUsableEmailToken(sha256(token), 'reset_password', this.clock.now());
    if (!usable) throw invalidLink('reset_password');
    const passwordHash = await bcrypt.hash(password, this.settings.bcryptCost);
    await inTransaction(this.sequelize, async (t) => {
      const userId = await this.spendEmailToken(token, 'reset_password', t);
      const user = await this.users.findById(userId, t, true);
      if (!user) throw invalidLink('reset_password');
      await this.users.setPasswordHash(userId, passwordHash, t);
      if (user.email) await this.enqueueMail(templates.passwordChanged(user.email, user.nickname), t);
      await this.revokeAllLogins(userId, 'password_reset', t);
    });
  }

  /**
   * Builds a link mail in the mail worker, just before it is sent. Nothing is sent (null) when the
   * link can no longer be used: spent by a newer mail, used, expired, or the account gone.
   */
  async renderLinkMail(job: LinkMailJob): Promise<MailMessage | null> {
    const other = job.purpose === 'confirm_email' ? this.renderEmailChangeMail : null;
    if (other) {
      const token = this.unseal(job);
      return token === null ? null : other(job, token);
    }
    const row = await this.repo.findEmailToken(job.tokenId);
    if (!row || row.usedAt || new Date(row.expiresAt) <= this.clock.now()) return null;
    const user = await this.users.findById(job.userId);
    if (!user?.email) return null;
    const token = this.unseal(job);
    if (token === null) return null;
    const base = this.settings.appUrl;
    return job.purpose === 'verify_email'
      ? templates.verifyEmail(user.email, user.nickname, `${base}/verify-email?token=${token}`)
      : templates.resetPassword(user.email, user.nickname, `${base}/reset-password?token=${token}`);
  }

  /** Set by the accounts module: builds its e-mail change link mails (same sealing, same worker). */
  renderEmailChangeMail: ((job: LinkMailJob, token: string) => Promise<MailMessage | null>) | null = null;

  private unseal(job: LinkMailJob): string | null {
    try {
      return this.sealer.open(job.sealed);
    } catch {
      // Sealed under another JWT_SECRET (rotated since): retrying cannot help; the user asks again.
      this.logger.warn({ tokenId: job.tokenId }, 'link mail dropped: its token cannot be unsealed');
      return null;
    }
  }

  /**
   * Used by account deletion (its `account.deleted` listener) and password reset: revoke in the
   * transaction, deny-list once it commits. Sequelize awaits commit hooks before the transaction
   * resolves, so the request answers after the deny-list write: revocation is immediate on routes
   * that check the deny-list on any instance (applyRevocation never throws; the outbox retries).
   */
  async revokeAllLogins(userId: number, reason: string, t: Transaction): Promise<void> {
    const ids = await this.repo.revokeAllSessions(userId, reason, this.clock.now(), t);
    await this.recordRevocation(ids, userId, t);
    t.afterCommit(() => this.applyRevocation(ids));
  }

  /**
   * Ends some logins of a user (the sessions list, a password change): revoked in `t`, deny-listed
   * and disconnected after commit (the outbox row makes it certain on every instance). The caller
   * awaits the returned function after the commit, before answering, so that deny-listed routes on
   * every instance refuse the login once the request has answered (it never throws).
   */
  async revokeLogins(
    userId: number,
    sessionIds: number[],
    reason: string,
    t: Transaction,
  ): Promise<() => Promise<void>> {
    const now = this.clock.now();
    for (const id of sessionIds) await this.repo.revokeSession(id, reason, now, t);
    await this.recordRevocation(sessionIds, userId, t);
    return () => this.applyRevocation(sessionIds);
  }

  /**
   * Opens a login for an account whose owner another module has already established (sign-in with a
   * provider, after its one-time code was spent).
   */
  async openLoginFor(userId: number, userAgent: string | null, t: Transaction): Promise<TokenPair> {
    return this.openLogin(userId, userAgent, t);
  }

  // --- internals -----------------------------------------------------------------------------

  private async openLogin(userId: number, userAgent: string | null, t: Transaction): Promise<TokenPair> {
    const sessionId = await this.repo.createSession(userId, userAgent, this.clock.now(), t);
    return this.issuePair(userId, sessionId, t);
  }

  private async issuePair(userId: number, sessionId: number, t: Transaction): Promise<TokenPair> {
    const now = this.clock.now();
    const refreshToken = opaqueToken();
    const expiresAt = new Date(now.getTime() + this.settings.refreshTokenTtlSec * 1000);
    await this.repo.createRefreshToken(sessionId, sha256(refreshToken), expiresAt, now, t);
    const access = this.tokens.sign(userId, sessionId);
    return { accessToken: access.token, refreshToken, expiresIn: this.settings.accessTokenTtlSec };
  }

  /**
   * Spends every outstanding reset and verification link of an account, in the caller's transaction:
   * its address changed, so links mailed to the old one must stop working (whoever still reads that
   * mailbox could otherwise reset the password).
   */
  async spendMailedLinksInTx(userId: number, t: Transaction): Promise<void> {
    const now = this.clock.now();
    for (const purpose of ['reset_password', 'verify_email'] as const)
      await this.repo.spendEmailTokens(userId, purpose, now, t);
  }

  /** A newer link spends every older one of the same purpose (the README promises it). */
  private async issueEmailToken(userId: number, purpose: EmailTokenPurpose, t: Transaction) {
    const now = this.clock.now();
    const token = opaqueToken();
    const ttl = purpose === 'verify_email' ? VERIFY_TTL_MS : RESET_TTL_MS;
    await this.repo.spendEmailTokens(userId, purpose, now, t);
    const tokenId = await this.repo.createEmailToken(
      userId,
      purpose,
      sha256(token),
      new Date(now.getTime() + ttl),
      now,
      t,
    );
    const job: LinkMailJob = { kind: 'link', purpose, userId, tokenId, sealed: this.sealer.seal(token) };
    await this.outbox.add(t, TOPIC_LINK_MAIL, job);
  }

  private async spendEmailToken(token: string, purpose: EmailTokenPurpose, t: Transaction): Promise<number> {
    const row = await this.repo.lockEmailToken(sha256(token), purpose, t);
    if (!row || row.usedAt || new Date(row.expiresAt) <= this.clock.now()) throw invalidLink(purpose);
    await this.repo.spendEmailTokens(row.userId, purpose, this.clock.now(), t);
    return row.userId;
  }

  private enqueueMail(mail: MailMessage, t: Transaction) {
    return this.outbox.add(t, TOPIC_MAIL, mail);
  }

  /** The outbox row makes the deny-list write and the socket/stream disconnects certain. */
  private recordRevocation(sessionIds: number[], userId: number, t: Transaction) {
    if (!sessionIds.length) return Promise.resolve();
    return this.outbox.add(t, TOPIC_LOGINS_REVOKED, { sessionIds, userId });
  }

  /**
   * Fast path after commit: deny-list at once. If Redis is down the outbox row retries it. A token
   * (jti) is only denied together with its login (GET /users/me checks the login row, not the jti:
   * see SelfReads).
   */
  private async applyRevocation(sessionIds: number[], caller?: AuthUser): Promise<void> {
    try {
      await this.tokens.revokeSessions(sessionIds);
      if (caller) await this.tokens.revokeJti(caller.jti, caller.exp);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'deny-list write failed; the outbox will retry');
    }
  }
}

function invalidLink(purpose: EmailTokenPurpose) {
  const what = purpose === 'verify_email' ? 'verification' : 'reset';
  return ValidationFailed(`The ${what} link is invalid, expired or already used`, [
    { path: 'body.token', message: 'invalid, expired or already used' },
  ]);
}
