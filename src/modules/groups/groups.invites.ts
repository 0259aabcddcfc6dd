import { UniqueConstraintError, type Transaction } from 'sequelize';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { CLAIM_TX, inTransaction } from '../../infra/db';
import { templates } from '../../infra/mail/templates';
import { decodeIdCursor, encodeCursor } from '../../http/cursor';
import { Conflict, NotFound } from '../../errors';
import { TOPIC_MAIL } from '../auth/auth.service';
import type { NotifyInput } from '../notifications/notifications.service';
import { dayIn } from '../sitters/sitters.days';
import type { InviteRow } from './groups.repository';
import { consume, type GroupsDeps } from './groups.deps';
import { MAX_MEMBERS, type GroupsService } from './groups.service';
import { toInvite, type Invite } from './groups.presenter';

/** API.md: an invite expires after 7 days. */
export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;
const SWEEP_BATCH = 500;

export interface InviteLimiters {
  /** Invites one person sends, over every group. */
  perUser: RateLimiterRedis;
  /** Invites one group sends, whoever sends them. */
  perGroup: RateLimiterRedis;
}

/**
 * E-mail invites. An invite names an address; it is bound to the account that has that address
 * verified (`inviteeId`), at once when there is one, else when that address signs up and verifies
 * (the users module's `user.email_verified` event). Only the bound account sees, accepts or declines
 * it. One pending invite per address and group (UNIQUE on `pendingEmail`). Accepting locks the
 * group's row before the invite's (the order every join uses), so concurrent accepts past the
 * 50-member cap leave exactly the free places taken and the rest 409.
 */
export class InvitesService {
  constructor(
    private readonly d: GroupsDeps,
    private readonly groups: GroupsService,
    private readonly limits: InviteLimiters,
  ) {}

  async create(userId: number, groupId: number, email: string): Promise<Invite> {
    // Membership and role first (404/403 before a limit point is spent on a group one cannot see).
    await this.groups.requireRole(groupId, userId, ['owner', 'admin']);
    await consume(this.limits.perUser, userId);
    await consume(this.limits.perGroup, groupId);
    const id = await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.groups.lockAs(groupId, userId, ['owner', 'admin'], t);
      if (g.memberCount >= MAX_MEMBERS) throw Conflict(`This group is full (${MAX_MEMBERS} members)`);
      const account = await this.d.users.findByEmail(email, t);
      if (account && (await this.d.repo.roleOf(groupId, account.id, t)))
        throw Conflict('That address belongs to a member of this group');
      if (account && (await this.d.blocks.between(userId, account.id, t)))
        throw Conflict('You cannot invite this person');
      const now = this.d.clock.now();
      await this.d.repo.expireStale(groupId, email, now, t);
      const inviteeId = account?.emailVerifiedAt ? account.id : null;
      const expiresAt = new Date(now.getTime() + INVITE_TTL_MS);
      let inviteId: number;
      try {
        inviteId = await this.d.repo.insertInvite(
          { groupId, invitedById: userId, email, inviteeId, expiresAt },
          now,
          t,
        );
      } catch (err) {
        if (err instanceof UniqueConstraintError)
          throw Conflict('That address already has a pending invite to this group');
        throw err;
      }
      const inviter = await this.d.users.findById(userId, t);
      const inviterName = inviter?.nickname ?? 'Someone';
      if (inviteeId !== null) {
        await this.d.notifications.notifyInTx(t, this.notice(inviteId, groupId, g.name, inviterName, inviteeId));
      } else {
        const link = `${this.d.publicUrl}/signup?email=${encodeURIComponent(email)}`;
        await this.d.outbox.add(
          t,
          TOPIC_MAIL,
          templates.groupInviteSignup(email, inviterName, g.name, link, dayIn(expiresAt, this.d.serviceTz)),
        );
      }
      return inviteId;
    });
    return this.view(id);
  }

  /** My pending invites, newest first. */
  async listMine(userId: number, page: { limit: number; cursor?: string }) {
    const now = this.d.clock.now();
    const rows = await this.d.repo.listPendingFor(userId, now, decodeIdCursor(page.cursor) ?? null, page.limit + 1);
    const items = rows.slice(0, page.limit);
    return {
      items: items.map((r) => toInvite(r, now)),
      nextCursor: rows.length > page.limit ? encodeCursor({ id: items[items.length - 1].id }) : null,
    };
  }

  /**
   * Joins the group. 404 unless the invite is mine; 409 when it is no longer pending (answered or
   * expired), when the group is full, when I am already in it, or when a block stands between the
   * inviter and me.
   */
  async accept(userId: number, inviteId: number): Promise<Invite> {
    const found = await this.mine(userId, inviteId);
    await inTransaction(this.d.sequelize, async (t) => {
      if (!(await this.d.repo.lockGroup(found.groupId, t))) throw NotFound('Invite');
      const invite = await this.lockPending(userId, inviteId, t);
      if (await this.d.blocks.between(userId, invite.invitedById, t)) throw Conflict('You cannot accept this invite');
      await this.groups.joinInTx(t, invite.groupId, userId);
      await this.d.repo.resolveInvite(inviteId, 'accepted', this.d.clock.now(), t);
    });
    return this.view(inviteId);
  }

  async decline(userId: number, inviteId: number): Promise<Invite> {
    await this.mine(userId, inviteId);
    await inTransaction(this.d.sequelize, async (t) => {
      await this.lockPending(userId, inviteId, t);
      await this.d.repo.resolveInvite(inviteId, 'declined', this.d.clock.now(), t);
    });
    return this.view(inviteId);
  }

  /**
   * An address became verified on an account: its waiting invites are bound to it and announced
   * (`invite.new`), in the verifying transaction. Invites from someone on either side of a block
   * with the account stay unannounced and unbound.
   */
  async onEmailVerified(userId: number, email: string, t: Transaction): Promise<void> {
    const claimed = await this.d.repo.claimForAddress(email.toLowerCase(), userId, this.d.clock.now(), t);
    const inputs: NotifyInput[] = [];
    for (const i of claimed) {
      const view = await this.d.repo.viewInvite(i.id, t);
      if (!view || (await this.d.blocks.between(userId, i.invitedById, t))) continue;
      inputs.push(this.notice(i.id, i.groupId, view.groupName, view.inviterNickname, userId));
    }
    if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
  }

  /** Marks invites past their 7 days as expired; safe on any number of instances at once. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await inTransaction(
        this.d.sequelize,
        async (t) => {
          const now = this.d.clock.now();
          const due = await this.d.repo.claimExpired(now, SWEEP_BATCH, t);
          return due.length
            ? this.d.repo
                .expireInvites(
                  due.map((r) => r.id),
                  now,
                  t,
                )
                .then(() => due.length)
            : 0;
        },
        4,
        CLAIM_TX,
      );
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private notice(
    inviteId: number,
    groupId: number,
    groupName: string,
    inviterName: string,
    recipientId: number,
  ): NotifyInput {
    return {
      recipientId,
      type: 'invite.new',
      title: `${inviterName} invited you to ${groupName}`,
      body: 'Open your invites to accept or decline. The invite is valid for 7 days.',
      data: { inviteId, groupId },
      dedupeKey: `invite:${inviteId}`,
    };
  }

  /** The invite if it is bound to me; 404 otherwise (ids cannot be probed). */
  private async mine(userId: number, inviteId: number): Promise<InviteRow> {
    const invite = await this.d.repo.findInvite(inviteId);
    if (!invite || invite.inviteeId !== userId) throw NotFound('Invite');
    return invite;
  }

  private async lockPending(userId: number, inviteId: number, t: Transaction): Promise<InviteRow> {
    const invite = await this.d.repo.findInvite(inviteId, t, true);
    if (!invite || invite.inviteeId !== userId) throw NotFound('Invite');
    if (invite.status !== 'pending') throw Conflict(`This invite was already ${invite.status}`);
    if (new Date(invite.expiresAt) <= this.d.clock.now()) throw Conflict('This invite has expired');
    return invite;
  }

  private async view(inviteId: number): Promise<Invite> {
    const row = await this.d.repo.viewInvite(inviteId);
    if (!row) throw NotFound('Invite');
    return toInvite(row, this.d.clock.now());
  }
}
