import type { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import { decodeIdCursor, encodeCursor } from '../../http/cursor';
import { Conflict, Forbidden, NotFound } from '../../errors';
import type { NotifyInput } from '../notifications/notifications.service';
import type { GroupRow, MemberGroupRow, Role } from './groups.repository';
import { consume, type GroupsDeps } from './groups.deps';
import { toGroup, toMember, type Group, type Member } from './groups.presenter';

/** API.md: at most 50 members per group. */
export const MAX_MEMBERS = 50;
/** Groups one user may own at once. */
export const MAX_OWNED = 10;
/** Storage deletions per outbox row when a whole gallery goes. */
const DELETE_CHUNK = 200;

/** What a group's other features hand over when the group is deleted (their files). */
export type GroupFilesOf = (groupId: number, t: Transaction) => Promise<string[]>;
/** Called in the transaction of a member's departure (missions that no longer wait for anyone end). */
export type MemberLeft = (groupId: number, t: Transaction) => Promise<void>;

/**
 * Groups and their members. Every access to anything of a group goes through `requireMember` (404
 * for non-members, so ids cannot be probed) or `requireRole` (403 for a member without the role).
 * Joins, leaves, role moves and deletion lock the group's row first: one lock order, and the member
 * count and the cap are exact under concurrency. The group's chat room follows membership in the
 * same transaction; removed members' sockets leave the room after the commit, on every instance.
 */
export class GroupsService {
  constructor(
    private readonly d: GroupsDeps,
    private readonly createLimiter: RateLimiterRedis,
    private readonly filesOf: GroupFilesOf,
    private readonly memberLeft: MemberLeft,
  ) {}

  // --- access (other group features and the voice routes use these) ----------------------------

  /** The group and the caller's role; 404 when the group does not exist or the caller is not in it. */
  async requireMember(groupId: number, userId: number, t?: Transaction): Promise<MemberGroupRow> {
    const row = await this.d.repo.findForMember(groupId, userId, t);
    if (!row) throw NotFound('Group');
    return row;
  }

  /** As `requireMember`, and 403 unless the caller's role is one of `roles`. */
  async requireRole(groupId: number, userId: number, roles: Role[], t?: Transaction): Promise<MemberGroupRow> {
    const row = await this.requireMember(groupId, userId, t);
    if (!roles.includes(row.role)) throw Forbidden(`Only the group's ${roles.join(' or ')} can do this`);
    return row;
  }

  /** Locks the group's row, then checks membership (404) and role (403) under the lock. */
  async lockAs(groupId: number, userId: number, roles: Role[] | 'any', t: Transaction): Promise<MemberGroupRow> {
    const g = await this.d.repo.lockGroup(groupId, t);
    if (!g) throw NotFound('Group');
    const role = await this.d.repo.roleOf(groupId, userId, t);
    if (!role) throw NotFound('Group');
    if (roles !== 'any' && !roles.includes(role)) throw Forbidden(`Only the group's ${roles.join(' or ')} can do this`);
    return { ...g, role };
  }

  async isMember(groupId: number, userId: number, t?: Transaction): Promise<boolean> {
    return (await this.d.repo.roleOf(groupId, userId, t)) !== null;
  }

  /** Ids of the members (for notifications of group features). */
  memberIds(groupId: number, t?: Transaction): Promise<number[]> {
    return this.d.repo.memberIds(groupId, t);
  }

  // --- groups ------------------------------------------------------------------------------------

  async create(userId: number, input: { name: string; description: string }): Promise<Group> {
    await consume(this.createLimiter, userId);
    const id = await inTransaction(this.d.sequelize, async (t) => {
      // The user's row serializes their creations and hand-overs: the owned-groups cap is exact.
      await this.d.users.findById(userId, t, true);
      if ((await this.d.repo.countOwned(userId, t)) >= MAX_OWNED)
        throw Conflict(`You already own ${MAX_OWNED} groups, the most one person can own`);
      const now = this.d.clock.now();
      const groupId = await this.d.repo.insertGroup({ ...input, ownerId: userId }, now, t);
      await this.d.repo.addMember(groupId, userId, 'owner', now, t);
      const { roomId } = await this.d.chat.createRoomInTx(t, { type: 'group', memberIds: [userId], groupId });
      await this.d.repo.setChatRoom(groupId, roomId, t);
      return groupId;
    });
    return this.get(userId, id);
  }

  async get(userId: number, groupId: number): Promise<Group> {
    return toGroup(await this.requireMember(groupId, userId));
  }

  async list(userId: number, page: { limit: number; cursor?: string }) {
    const before = decodeIdCursor(page.cursor) ?? null;
    const rows = await this.d.repo.listForMember(userId, before, page.limit + 1);
    const items = rows.slice(0, page.limit);
    return {
      items: items.map(toGroup),
      nextCursor: rows.length > page.limit ? encodeCursor({ id: items[items.length - 1].mid }) : null,
    };
  }

  async update(userId: number, groupId: number, changes: { name?: string; description?: string }): Promise<Group> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.lockAs(groupId, userId, ['owner', 'admin'], t);
      await this.d.repo.updateGroup(groupId, changes, this.d.clock.now(), t);
    });
    return this.get(userId, groupId);
  }

  /**
   * The owner deletes the group: its rows cascade, its files are deleted after the commit (outbox),
   * its chat room loses every member (their sockets leave it on every instance) and takes no more
   * messages.
   */
  async delete(userId: number, groupId: number): Promise<void> {
    const after = await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.lockAs(groupId, userId, ['owner'], t);
      return this.deleteLocked(g, userId, t);
    });
    for (const hook of after) hook();
  }

  private async deleteLocked(g: GroupRow, byUserId: number | null, t: Transaction): Promise<Array<() => void>> {
    await this.d.events.emit(t, 'group.deleted', { groupId: g.id, byUserId });
    const files = await this.filesOf(g.id, t);
    for (let i = 0; i < files.length; i += DELETE_CHUNK)
      await this.d.media.deleteAfterCommit(t, files.slice(i, i + DELETE_CHUNK));
    const hooks: Array<() => void> = [];
    if (g.chatRoomId) {
      for (const memberId of await this.d.repo.memberIds(g.id, t))
        hooks.push(await this.d.chat.removeMember(t, g.chatRoomId, memberId));
      await this.d.chat.closeRoomInTx(t, g.chatRoomId);
    }
    await this.d.repo.deleteGroup(g.id, t);
    return hooks;
  }

  // --- members -----------------------------------------------------------------------------------

  async members(userId: number, groupId: number): Promise<{ items: Member[] }> {
    await this.requireMember(groupId, userId);
    return { items: (await this.d.repo.listMembers(groupId)).map(toMember) };
  }

  /**
   * Joins a user in the caller's transaction (an accepted invite): the group's row is locked, the
   * cap checked under the lock, the chat room follows, the other members hear of it. 409 when full
   * or already a member.
   */
  async joinInTx(t: Transaction, groupId: number, userId: number): Promise<void> {
    const g = await this.d.repo.lockGroup(groupId, t);
    if (!g) throw NotFound('Group');
    if (await this.d.repo.roleOf(groupId, userId, t)) throw Conflict('You are already a member of this group');
    if (g.memberCount >= MAX_MEMBERS) throw Conflict(`This group is full (${MAX_MEMBERS} members)`);
    await this.d.repo.addMember(groupId, userId, 'member', this.d.clock.now(), t);
    if (g.chatRoomId) await this.d.chat.addMember(t, g.chatRoomId, userId);
    const joiner = await this.d.users.findById(userId, t);
    const others = (await this.d.repo.memberIds(groupId, t)).filter((id) => id !== userId);
    const inputs: NotifyInput[] = others.map((recipientId) => ({
      recipientId,
      type: 'group.joined',
      title: `${joiner?.nickname ?? 'Someone'} joined ${g.name}`,
      data: { groupId, userId, chatRoomId: g.chatRoomId },
      dedupeKey: `group:${groupId}:joined:${userId}:${this.d.clock.now().getTime()}`,
    }));
    if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
  }

  /** The owner makes a member an admin or an admin a member (the owner's own role moves by hand-over). */
  async setRole(userId: number, groupId: number, targetId: number, role: 'admin' | 'member'): Promise<Member> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.lockAs(groupId, userId, ['owner'], t);
      const current = await this.d.repo.roleOf(groupId, targetId, t);
      if (!current) throw NotFound('Member');
      if (current === 'owner') throw Conflict('The owner’s role changes only by handing the group over');
      await this.d.repo.setRole(groupId, targetId, role, this.d.clock.now(), t);
    });
    return this.member(groupId, targetId);
  }

  /**
   * Removes a member: anyone removes themself, the owner removes anyone, an admin removes plain
   * members. The owner cannot leave before handing the group over (409). The removed member's
   * sockets leave the group's chat room on every instance once this commits.
   */
  async removeMember(userId: number, groupId: number, targetId: number): Promise<void> {
    const hook = await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.lockAs(groupId, userId, 'any', t);
      const targetRole = targetId === userId ? g.role : await this.d.repo.roleOf(groupId, targetId, t);
      if (!targetRole) throw NotFound('Member');
      if (targetRole === 'owner')
        throw Conflict('The owner hands the group over first (POST /groups/{id}/owner), or deletes it');
      if (targetId !== userId) {
        if (g.role === 'member') throw Forbidden('Only the owner or an admin can remove members');
        if (g.role === 'admin' && targetRole !== 'member') throw Forbidden('An admin removes plain members only');
      }
      return this.removeLocked(g, targetId, t);
    });
    hook();
  }

  private async removeLocked(g: GroupRow, userId: number, t: Transaction): Promise<() => void> {
    await this.d.repo.removeMember(g.id, userId, t);
    await this.memberLeft(g.id, t);
    return g.chatRoomId ? this.d.chat.removeMember(t, g.chatRoomId, userId) : () => undefined;
  }

  /** The owner hands the group over to another member, who becomes the owner; the old owner becomes an admin. */
  async transferOwner(userId: number, groupId: number, newOwnerId: number): Promise<Group> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.lockAs(groupId, userId, ['owner'], t);
      if (newOwnerId === userId) throw Conflict('You already own this group');
      if (!(await this.d.repo.roleOf(groupId, newOwnerId, t))) throw NotFound('Member');
      await this.d.users.findById(newOwnerId, t, true);
      if ((await this.d.repo.countOwned(newOwnerId, t)) >= MAX_OWNED)
        throw Conflict(`That member already owns ${MAX_OWNED} groups`);
      const now = this.d.clock.now();
      await this.d.repo.setOwner(groupId, newOwnerId, now, t);
      await this.d.repo.setRole(groupId, newOwnerId, 'owner', now, t);
      await this.d.repo.setRole(groupId, userId, 'admin', now, t);
    });
    return this.get(userId, groupId);
  }

  private async member(groupId: number, userId: number): Promise<Member> {
    const m = (await this.d.repo.listMembers(groupId)).find((r) => r.userId === userId);
    if (!m) throw NotFound('Member');
    return toMember(m);
  }

  // --- account deletion --------------------------------------------------------------------------

  /**
   * A deleted account leaves every group. A group it owned passes to the longest-standing admin (or
   * member); a group it was alone in is deleted. Returns the after-commit socket hooks.
   */
  async leaveAllForDeletedAccount(userId: number, t: Transaction): Promise<void> {
    await this.d.repo.dropPendingOf(userId, this.d.clock.now(), t);
    for (const groupId of await this.d.repo.groupIdsOf(userId, t)) {
      const g = await this.d.repo.lockGroup(groupId, t);
      if (!g) continue;
      if (g.ownerId === userId) {
        const heir = (await this.d.repo.listMembers(groupId, t))
          .filter((m) => m.userId !== userId)
          .sort((a, b) => (a.role === b.role ? 0 : a.role === 'admin' ? -1 : 1))[0];
        if (!heir) {
          const hooks = await this.deleteLocked(g, null, t);
          t.afterCommit(() => hooks.forEach((h) => h()));
          continue;
        }
        const now = this.d.clock.now();
        await this.d.repo.setOwner(groupId, heir.userId, now, t);
        await this.d.repo.setRole(groupId, heir.userId, 'owner', now, t);
      }
      const hook = await this.removeLocked(g, userId, t);
      t.afterCommit(hook);
    }
  }
}
