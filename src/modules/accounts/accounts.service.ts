import bcrypt from 'bcrypt';
import type { Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Outbox } from '../../infra/outbox';
import { templates } from '../../infra/mail/templates';
import type { MailMessage } from '../../infra/mail/mailer';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { Conflict, NotFound, RateLimited, Unauthenticated, ValidationFailed } from '../../errors';
import type { AuthUser } from '../../http/auth';
import type { AuthService } from '../auth/auth.service';
import { TOPIC_MAIL } from '../auth/auth.service';
import { opaqueToken, sha256 } from '../auth/auth.tokens';
import { TOPIC_LINK_MAIL, type LinkMailJob, type LinkSealer } from '../auth/auth.links';
import type { UsersService, UserRow } from '../users/users.service';
import { AccountsRepository } from './accounts.repository';
import { IdentitiesRepository } from './identities.repository';

const EMAIL_CHANGE_TTL_MS = 24 * 3600 * 1000;

export interface AccountsSettings {
  bcryptCost: number;
  /** Base of the links in mails (the front end's /confirm-email page). */
  appUrl: string;
  /** Whether a provider can still be signed in with (an identity of a removed provider cannot). */
  isProviderConfigured(name: string): boolean;
}

/** The account-hygiene routes: logins, password, e-mail and linked provider identities. */
export class AccountsService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly repo: AccountsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly outbox: Outbox,
    private readonly settings: AccountsSettings,
    private readonly clock: Clock,
    /** Wrong current passwords per account: a stolen access token must not become a password oracle. */
    private readonly passwordFailures: RateLimiterRedis,
    private readonly sealer: LinkSealer,
    /** Confirmation mails per new address (keyed by its hash: no addresses in Redis keys). */
    private readonly mailsPerAddress: RateLimiterRedis,
  ) {}

  // --- logins --------------------------------------------------------------------------------

  async listSessions(caller: AuthUser) {
    const rows = await this.repo.listOpenSessions(caller.id, this.clock.now());
    return {
      items: rows.map((s) => ({
        id: s.id,
        createdAt: new Date(s.createdAt).toISOString(),
        lastUsedAt: new Date(s.lastUsedAt).toISOString(),
        userAgent: s.userAgent,
        current: s.id === caller.sessionId,
      })),
    };
  }

  /** Ends one of the caller's logins (the current one too); someone else's or an ended one is 404. */
  async endSession(caller: AuthUser, sessionId: number): Promise<void> {
    const afterCommit = await inTransaction(this.sequelize, async (t) => {
      const id = await this.repo.lockOpenSession(caller.id, sessionId, t);
      if (id === null) throw NotFound('Session');
      return this.auth.revokeLogins(caller.id, [id], 'ended_by_user', t);
    });
    await afterCommit();
  }

  // --- password ------------------------------------------------------------------------------

  /**
   * Sets or changes the password. `currentPassword` is required when the account has one (an account
   * made from a provider has none and may set one). The caller's other logins end.
   */
  async changePassword(caller: AuthUser, input: { currentPassword?: string; newPassword: string }): Promise<void> {
    const afterCommit = await inTransaction(this.sequelize, async (t) => {
      const user = await this.lockUser(caller.id, t);
      await this.checkPassword(user, input.currentPassword, 'body.currentPassword');
      // Hashed only after the check: a wrong or throttled current password must not buy a full bcrypt
      // round of server CPU each time.
      const passwordHash = await bcrypt.hash(input.newPassword, this.settings.bcryptCost);
      await this.users.setPasswordHash(user.id, passwordHash, t);
      if (user.email) await this.mail(templates.passwordSet(user.email, user.nickname), t);
      const others = await this.repo.lockOtherOpenSessions(user.id, caller.sessionId, t);
      return this.auth.revokeLogins(user.id, others, 'password_changed', t);
    });
    await afterCommit();
  }

  // --- e-mail --------------------------------------------------------------------------------

  /** Mails a single-use confirmation link to the new address; nothing changes until it is used. */
  async requestEmailChange(caller: AuthUser, input: { newEmail: string; password?: string }): Promise<void> {
    const now = this.clock.now();
    const token = opaqueToken();
    await inTransaction(this.sequelize, async (t) => {
      const user = await this.lockUser(caller.id, t);
      await this.checkPassword(user, input.password, 'body.password');
      if (user.email === input.newEmail && user.emailVerifiedAt) {
        throw ValidationFailed('This is already your e-mail', [{ path: 'body.newEmail', message: 'is already yours' }]);
      }
      if (user.email !== input.newEmail && (await this.users.emailTaken(input.newEmail, t))) {
        throw Conflict('Another account already uses this e-mail');
      }
      // Counted only once the request is otherwise acceptable, just before a mail is queued.
      try {
        await this.mailsPerAddress.consume(sha256(input.newEmail.toLowerCase()));
      } catch (err) {
        if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
        throw err;
      }
      // A newer request spends the links of earlier ones (as newer reset and verification links do);
      // a mail of an earlier one not sent yet is then not sent at all (renderChangeMail).
      await this.repo.spendEmailChanges(user.id, now, t);
      const expiresAt = new Date(now.getTime() + EMAIL_CHANGE_TTL_MS);
      const id = await this.repo.createEmailChange(user.id, input.newEmail, sha256(token), expiresAt, now, t);
      // Like the verification and reset mails: the outbox row and the mail job hold the token sealed,
      // and the mail is built just before it is sent (renderChangeMail), so no stored row holds a link.
      const job: LinkMailJob = {
        kind: 'link',
        purpose: 'confirm_email',
        userId: user.id,
        tokenId: id,
        sealed: this.sealer.seal(token),
      };
      await this.outbox.add(t, TOPIC_LINK_MAIL, job);
    });
  }

  /** Builds the confirmation mail in the mail worker; nothing is sent for a spent or expired link. */
  renderChangeMail = async (job: LinkMailJob, token: string): Promise<MailMessage | null> => {
    const row = await this.repo.findEmailChange(job.tokenId);
    if (!row || row.userId !== job.userId || row.usedAt || new Date(row.expiresAt) <= this.clock.now()) return null;
    const user = await this.users.findById(row.userId);
    if (!user) return null;
    return templates.confirmNewEmail(
      row.newEmail,
      user.nickname,
      `${this.settings.appUrl}/confirm-email?token=${token}`,
    );
  };

  /**
   * Makes the confirmed address the account's verified e-mail, spends the reset and verification
   * links mailed to the old one, and tells the old address. A link of an account deleted since is
   * just an invalid link (400 on body.token): the caller of this route is not signed in.
   */
  async confirmEmailChange(token: string): Promise<void> {
    const now = this.clock.now();
    await inTransaction(this.sequelize, async (t) => {
      const row = await this.repo.lockEmailChange(sha256(token), t);
      const user =
        row && !row.usedAt && new Date(row.expiresAt) > now ? await this.users.findById(row.userId, t, true) : null;
      if (!row || !user) {
        throw ValidationFailed('The confirmation link is invalid, expired or already used', [
          { path: 'body.token', message: 'invalid, expired or already used' },
        ]);
      }
      await this.repo.spendEmailChanges(user.id, now, t);
      await this.auth.spendMailedLinksInTx(user.id, t);
      await this.users.setVerifiedEmail(user.id, row.newEmail, t);
      if (user.email && user.email !== row.newEmail) {
        await this.mail(templates.emailChanged(user.email, user.nickname, row.newEmail), t);
      }
    });
  }

  // --- identities ----------------------------------------------------------------------------

  async listIdentities(userId: number) {
    const rows = await this.identities.listByUser(userId);
    return {
      items: rows.map((r) => ({
        provider: r.provider,
        email: r.email,
        linkedAt: new Date(r.createdAt).toISOString(),
      })),
    };
  }

  /** Unlinks a provider; 409 when nothing else could sign in to the account afterwards. */
  async unlinkIdentity(userId: number, provider: string): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      // The user row lock serializes concurrent unlinks, so two of them cannot both leave "another way".
      const user = await this.lockUser(userId, t);
      const linked = await this.identities.listByUser(userId, t);
      if (!linked.some((r) => r.provider === provider)) throw NotFound('Identity');
      const otherWays =
        linked.filter((r) => r.provider !== provider && this.settings.isProviderConfigured(r.provider)).length +
        (user.passwordHash && user.email ? 1 : 0);
      if (otherWays === 0) {
        throw Conflict('This is the last way to sign in to the account: set a password or link another provider first');
      }
      await this.identities.remove(userId, provider, t);
    });
  }

  /** Account deletion: the provider accounts are released, so they can make a fresh account later. */
  async forgetIdentities(userId: number, t: Transaction): Promise<void> {
    await this.identities.removeAll(userId, t);
  }

  // --- internals -----------------------------------------------------------------------------

  private async lockUser(userId: number, t: Transaction): Promise<UserRow> {
    const user = await this.users.findById(userId, t, true);
    if (!user) throw Unauthenticated('This account no longer exists');
    return user;
  }

  /** Required when the account has a password: missing → 400 naming the field, wrong → 401. */
  private async checkPassword(user: UserRow, given: string | undefined, path: string): Promise<void> {
    if (!user.passwordHash) return;
    if (given === undefined) throw ValidationFailed(`${path} is required`, [{ path, message: 'is required' }]);
    const key = String(user.id);
    const failures = await this.passwordFailures.get(key);
    if (failures && failures.consumedPoints >= this.passwordFailures.points) {
      throw RateLimited(failures.msBeforeNext / 1000);
    }
    if (!(await bcrypt.compare(given, user.passwordHash))) {
      await this.passwordFailures.penalty(key, 1);
      throw Unauthenticated('The password is wrong');
    }
  }

  private mail(message: MailMessage, t: Transaction) {
    return this.outbox.add(t, TOPIC_MAIL, message);
  }
}
