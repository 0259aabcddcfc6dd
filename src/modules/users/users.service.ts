import { randomBytes } from 'node:crypto';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { ReadRouter } from '../../infra/replicas';
import type { ScriptedRead } from '../../infra/sql-script';
import type { DomainEvents } from '../../infra/domain-events';
import type { DomainEventMap } from '../events';
import { Conflict, NotFound, Unauthenticated } from '../../errors';
import { invalidToken, TOKEN_REVOKED } from '../../http/auth';
import { SelfReads, UsersRepository, type UserContact, type UserRow } from './users.repository';
import { toPublicUser, toSelfUser, type PublicUser, type SelfUser } from './users.presenter';

/**
 * An account as other modules receive it from this service. Other modules name this type, never the
 * repository's, so the table's shape can change behind the service.
 */
export type User = UserRow;
// Kept for code written against the row name; new code names `User`.
export type { UserContact, UserRow };

export class UsersService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly users: UsersRepository,
    /** The caller's row and login in one round trip (GET /users/me). */
    private readonly selfReads: SelfReads,
    private readonly clock: Clock,
    private readonly events: DomainEvents<DomainEventMap>,
    /** Public profiles may come from a read replica (a bounded lag; the viewer's own writes excepted). */
    private readonly publicReads?: ReadRouter<UsersRepository>,
  ) {}

  async createAccount(
    data: { email: string | null; passwordHash: string | null; nickname: string; emailVerifiedAt?: Date | null },
    t: Transaction,
  ): Promise<UserRow> {
    let user: UserRow;
    try {
      user = await this.users.create(data, t);
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw Conflict('An account with this e-mail already exists');
      throw err;
    }
    // A provider sign-up can start verified: invites waiting for the address reach it now.
    if (user.email && user.emailVerifiedAt)
      await this.events.emit(t, 'user.email_verified', { userId: user.id, email: user.email });
    return user;
  }

  findByEmail(email: string, t?: Transaction, lock = false): Promise<UserRow | null> {
    return this.users.findActiveByEmail(email, t, lock);
  }

  /** Whether any account (deleted ones hold tombstone addresses) uses this e-mail. */
  emailTaken(email: string, t?: Transaction): Promise<boolean> {
    return this.users.emailExists(email, t);
  }

  /** Nicknames are not unique by rule; accounts made from a provider profile avoid a taken one. */
  nicknameTaken(nickname: string, t?: Transaction): Promise<boolean> {
    return this.users.nicknameExists(nickname, t);
  }

  /** Makes `email` the account's verified address (e-mail change); 409 when another account has it. */
  async setVerifiedEmail(userId: number, email: string, t: Transaction): Promise<void> {
    try {
      await this.users.update(userId, { email, emailVerifiedAt: this.clock.now() }, t);
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw Conflict('Another account already uses this e-mail');
      throw err;
    }
    await this.events.emit(t, 'user.email_verified', { userId, email });
  }

  findById(id: number, t?: Transaction, lock = false): Promise<UserRow | null> {
    return this.users.findActiveById(id, t, lock);
  }

  /** Id, e-mail and nickname of the active accounts among `ids` (deleted and unknown ones left out). */
  contactsOf(ids: number[], t?: Transaction): Promise<UserContact[]> {
    return this.users.findActiveContacts(ids, t);
  }

  /** contactsOf as a read of a scripted transaction (one statement of a packet); `ids` not empty. */
  contactsRead(ids: number[]): ScriptedRead<UserContact[]> {
    return this.users.activeContactsRead(ids);
  }

  async setPasswordHash(userId: number, passwordHash: string, t: Transaction): Promise<void> {
    await this.users.update(userId, { passwordHash }, t);
  }

  async markEmailVerified(userId: number, t: Transaction): Promise<void> {
    await this.users.update(userId, { emailVerifiedAt: this.clock.now() }, t);
    const user = await this.users.findActiveById(userId, t);
    if (user?.email) await this.events.emit(t, 'user.email_verified', { userId, email: user.email });
  }

  async getSelf(userId: number): Promise<SelfUser> {
    const user = await this.users.findActiveById(userId);
    if (!user) throw Unauthenticated('This account no longer exists');
    return toSelfUser(user);
  }

  /**
   * The caller's account, for a route that checks revocation in its query (`revocation: 'in-query'`):
   * the login is read with the row, and a revoked one is refused as the deny-list would refuse it.
   */
  async getSelfOfLogin(caller: { id: number; sessionId: number }): Promise<SelfUser> {
    const found = await this.selfReads.loginAndUser(caller.id, caller.sessionId);
    if (found.login === 'revoked') throw invalidToken(TOKEN_REVOKED);
    if (!found.user) throw Unauthenticated('This account no longer exists');
    return toSelfUser(found.user);
  }

  /** `viewerId`: the signed-in caller, if any (read-your-own-writes on replicas). */
  async getPublic(userId: number, viewerId: number | null = null): Promise<PublicUser> {
    const user = this.publicReads
      ? await this.publicReads.read(viewerId, (repo) => repo.findActiveById(userId))
      : await this.users.findActiveById(userId);
    if (!user) throw NotFound('User');
    return toPublicUser(user);
  }

  /** Pass the caller's transaction when inside one: a second pool connection per request can exhaust the pool. */
  async publicUsers(ids: number[], t?: Transaction): Promise<Map<number, PublicUser>> {
    const rows = await this.users.findActiveByIds([...new Set(ids)], t);
    return new Map(rows.map((u) => [u.id, toPublicUser(u)]));
  }

  async updateSelf(userId: number, changes: { nickname?: string; bio?: string }): Promise<SelfUser> {
    const allowed: { nickname?: string; bio?: string } = {};
    if (changes.nickname !== undefined) allowed.nickname = changes.nickname;
    if (changes.bio !== undefined) allowed.bio = changes.bio;
    if (Object.keys(allowed).length) await this.users.update(userId, allowed);
    return this.getSelf(userId);
  }

  async setAvatarUrl(userId: number, avatarUrl: string | null, t?: Transaction): Promise<void> {
    await this.users.update(userId, { avatarUrl }, t);
  }

  async setSitterFlag(userId: number, isSitter: boolean, t?: Transaction): Promise<void> {
    await this.users.update(userId, { isSitter }, t);
  }

  /**
   * Deletes the account: personal data is cleared, the e-mail is released (NULL), the password becomes
   * unguessable and every login is revoked, all in one transaction. Rows other users rely on
   * (reviews, messages) keep pointing at the tombstone. What other modules hold for the account
   * (logins, sitter profile, hosted meetups, files) ends through `account.deleted`, in the same
   * transaction.
   */
  async deleteSelf(userId: number): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      const user = await this.users.findActiveById(userId, t, true);
      if (!user) throw Unauthenticated('This account no longer exists');
      await this.events.emit(t, 'account.deleted', { userId, avatarUrl: user.avatarUrl });
      await this.users.tombstone(userId, `!deleted:${randomBytes(16).toString('hex')}`, this.clock.now(), t);
    });
  }
}
