import type { Transaction } from 'sequelize';
import { SqlRepository } from '../../infra/sql-repository';

export type Role = 'owner' | 'admin' | 'member';
export type InviteStatus = 'pending' | 'accepted' | 'declined' | 'expired';

/** The groups row. */
export interface GroupRow {
  id: number;
  name: string;
  description: string;
  avatarUrl: string | null;
  ownerId: number;
  memberCount: number;
  photoCount: number;
  chatRoomId: number | null;
  createdAt: Date;
}

/** A group as one member sees it: the row and that member's role. */
export interface MemberGroupRow extends GroupRow {
  role: Role;
}

export interface MemberRow {
  userId: number;
  role: Role;
  joinedAt: Date;
  nickname: string;
  avatarUrl: string | null;
}

export interface InviteRow {
  id: number;
  groupId: number;
  invitedById: number;
  email: string;
  inviteeId: number | null;
  status: InviteStatus;
  expiresAt: Date;
  createdAt: Date;
}

export interface InviteViewRow extends InviteRow {
  groupName: string;
  groupAvatarUrl: string | null;
  groupMemberCount: number;
  inviterNickname: string;
  inviterAvatarUrl: string | null;
  inviterDeletedAt: Date | null;
}

const GROUP_COLS =
  'g.id, g.name, g.description, g.avatarUrl, g.ownerId, g.memberCount, g.photoCount, g.chatRoomId, g.createdAt';
const INVITE_COLS = 'i.id, i.groupId, i.invitedById, i.email, i.inviteeId, i.status, i.expiresAt, i.createdAt';
/** An invite as shown: with its group's summary and the inviter's public fields. */
const INVITE_VIEW = `SELECT ${INVITE_COLS}, g.name AS groupName, g.avatarUrl AS groupAvatarUrl, g.memberCount AS groupMemberCount,
    u.nickname AS inviterNickname, u.avatarUrl AS inviterAvatarUrl, u.deletedAt AS inviterDeletedAt
  FROM group_invites i JOIN \`groups\` g ON g.id = i.groupId JOIN users u ON u.id = i.invitedById`;

/** The only code that knows the groups, group_members and group_invites tables. */
export class GroupsRepository extends SqlRepository {
  // --- groups ------------------------------------------------------------------------------------

  insertGroup(
    data: { name: string; description: string; ownerId: number },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    return this.insertId(
      `INSERT INTO \`groups\` (name, description, ownerId, memberCount, createdAt, updatedAt)
       VALUES (?, ?, ?, 0, ?, ?)`,
      [data.name, data.description, data.ownerId, now, now],
      t,
    );
  }

  async setChatRoom(groupId: number, roomId: number, t: Transaction): Promise<void> {
    await this.exec('UPDATE `groups` SET chatRoomId = ? WHERE id = ?', [roomId, groupId], t);
  }

  async updateGroup(
    groupId: number,
    changes: { name?: string; description?: string },
    now: Date,
    t: Transaction,
  ): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const key of ['name', 'description'] as const) {
      if (changes[key] === undefined) continue;
      sets.push(`${key} = ?`);
      values.push(changes[key]);
    }
    if (!sets.length) return;
    await this.exec(
      `UPDATE \`groups\` SET ${sets.join(', ')}, updatedAt = ? WHERE id = ?`,
      [...values, now, groupId],
      t,
    );
  }

  async setOwner(groupId: number, ownerId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('UPDATE `groups` SET ownerId = ?, updatedAt = ? WHERE id = ?', [ownerId, now, groupId], t);
  }

  /** Every row of the group goes with it (ON DELETE CASCADE). */
  async deleteGroup(groupId: number, t: Transaction): Promise<void> {
    await this.exec('DELETE FROM `groups` WHERE id = ?', [groupId], t);
  }

  /** The row, locked: joins, leaves, role changes and deletion of one group are serialized on it. */
  async lockGroup(groupId: number, t: Transaction): Promise<GroupRow | null> {
    const rows = await this.select<GroupRow>(
      `SELECT ${GROUP_COLS} FROM \`groups\` g WHERE g.id = ? FOR UPDATE`,
      [groupId],
      t,
    );
    return rows[0] ?? null;
  }

  /** The group with `userId`'s role, or null when the group is gone or the user is not a member. */
  async findForMember(groupId: number, userId: number, t?: Transaction): Promise<MemberGroupRow | null> {
    const rows = await this.select<MemberGroupRow>(
      `SELECT ${GROUP_COLS}, m.role FROM \`groups\` g JOIN group_members m ON m.groupId = g.id AND m.userId = ?
        WHERE g.id = ?`,
      [userId, groupId],
      t,
    );
    return rows[0] ?? null;
  }

  /** My groups, newest membership first, keyset on the membership id. */
  listForMember(
    userId: number,
    beforeMemberId: number | null,
    limit: number,
  ): Promise<(MemberGroupRow & { mid: number })[]> {
    return this.select(
      `SELECT ${GROUP_COLS}, m.role, m.id AS mid FROM group_members m JOIN \`groups\` g ON g.id = m.groupId
        WHERE m.userId = ? ${beforeMemberId ? 'AND m.id < ?' : ''} ORDER BY m.id DESC LIMIT ${Math.trunc(limit)}`,
      beforeMemberId ? [userId, beforeMemberId] : [userId],
    );
  }

  async countOwned(userId: number, t: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>('SELECT COUNT(*) AS n FROM `groups` WHERE ownerId = ?', [userId], t);
    return Number(row.n);
  }

  /** Groups a user belongs to (account deletion walks them). */
  async groupIdsOf(userId: number, t: Transaction): Promise<number[]> {
    const rows = await this.select<{ groupId: number }>(
      'SELECT groupId FROM group_members WHERE userId = ? ORDER BY groupId',
      [userId],
      t,
    );
    return rows.map((r) => Number(r.groupId));
  }

  // --- members -----------------------------------------------------------------------------------

  /** Adds a member and counts them; false when already a member (UNIQUE). Call with the group locked. */
  async addMember(groupId: number, userId: number, role: Role, now: Date, t: Transaction): Promise<boolean> {
    const added = await this.exec(
      'INSERT IGNORE INTO group_members (groupId, userId, role, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)',
      [groupId, userId, role, now, now],
      t,
    );
    if (added) await this.exec('UPDATE `groups` SET memberCount = memberCount + 1 WHERE id = ?', [groupId], t);
    return added === 1;
  }

  async removeMember(groupId: number, userId: number, t: Transaction): Promise<boolean> {
    const removed = await this.exec('DELETE FROM group_members WHERE groupId = ? AND userId = ?', [groupId, userId], t);
    if (removed)
      await this.exec(
        'UPDATE `groups` SET memberCount = memberCount - 1 WHERE id = ? AND memberCount > 0',
        [groupId],
        t,
      );
    return removed === 1;
  }

  async setRole(groupId: number, userId: number, role: Role, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE group_members SET role = ?, updatedAt = ? WHERE groupId = ? AND userId = ?',
      [role, now, groupId, userId],
      t,
    );
  }

  async roleOf(groupId: number, userId: number, t?: Transaction): Promise<Role | null> {
    const [row] = await this.select<{ role: Role }>(
      'SELECT role FROM group_members WHERE groupId = ? AND userId = ?',
      [groupId, userId],
      t,
    );
    return row?.role ?? null;
  }

  /** Members in join order (a group has at most 50: no paging needed inside the service). */
  listMembers(groupId: number, t?: Transaction): Promise<MemberRow[]> {
    return this.select<MemberRow>(
      `SELECT m.userId, m.role, m.createdAt AS joinedAt, u.nickname, u.avatarUrl
         FROM group_members m JOIN users u ON u.id = m.userId
        WHERE m.groupId = ? ORDER BY m.id`,
      [groupId],
      t,
    );
  }

  async memberIds(groupId: number, t?: Transaction): Promise<number[]> {
    const rows = await this.select<{ userId: number }>(
      'SELECT userId FROM group_members WHERE groupId = ? ORDER BY userId',
      [groupId],
      t,
    );
    return rows.map((r) => Number(r.userId));
  }

  // --- invites -----------------------------------------------------------------------------------

  insertInvite(
    data: { groupId: number; invitedById: number; email: string; inviteeId: number | null; expiresAt: Date },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    return this.insertId(
      `INSERT INTO group_invites (groupId, invitedById, email, inviteeId, status, pendingEmail, expiresAt, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
      [data.groupId, data.invitedById, data.email, data.inviteeId, data.email, data.expiresAt, now, now],
      t,
    );
  }

  /** A pending invite of this address to this group whose time ran out is expired now (frees the key). */
  async expireStale(groupId: number, email: string, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE group_invites SET status = 'expired', pendingEmail = NULL, updatedAt = ?
        WHERE groupId = ? AND pendingEmail = ? AND expiresAt <= ?`,
      [now, groupId, email, now],
      t,
    );
  }

  async findInvite(id: number, t?: Transaction, lock = false): Promise<InviteRow | null> {
    const rows = await this.select<InviteRow>(
      `SELECT ${INVITE_COLS} FROM group_invites i WHERE i.id = ?${lock ? ' FOR UPDATE' : ''}`,
      [id],
      t,
    );
    return rows[0] ?? null;
  }

  /** Answers a pending invite (accepted / declined / expired); false when it was no longer pending. */
  async resolveInvite(
    id: number,
    status: Exclude<InviteStatus, 'pending'>,
    now: Date,
    t: Transaction,
  ): Promise<boolean> {
    return (
      (await this.exec(
        `UPDATE group_invites SET status = ?, pendingEmail = NULL, respondedAt = ?, updatedAt = ?
          WHERE id = ? AND status = 'pending'`,
        [status, now, now, id],
        t,
      )) === 1
    );
  }

  async viewInvite(id: number, t?: Transaction): Promise<InviteViewRow | null> {
    const rows = await this.select<InviteViewRow>(`${INVITE_VIEW} WHERE i.id = ?`, [id], t);
    return rows[0] ?? null;
  }

  /** Pending, unexpired invites for this account, newest first. */
  listPendingFor(userId: number, now: Date, beforeId: number | null, limit: number): Promise<InviteViewRow[]> {
    return this.select<InviteViewRow>(
      `${INVITE_VIEW}
        WHERE i.inviteeId = ? AND i.status = 'pending' AND i.expiresAt > ? ${beforeId ? 'AND i.id < ?' : ''}
        ORDER BY i.id DESC LIMIT ${Math.trunc(limit)}`,
      beforeId ? [userId, now, beforeId] : [userId, now],
    );
  }

  /** Pending invites to an address that had no (verified) account yet: they are bound to `userId` now. */
  async claimForAddress(email: string, userId: number, now: Date, t: Transaction): Promise<InviteRow[]> {
    const rows = await this.select<InviteRow>(
      `SELECT ${INVITE_COLS} FROM group_invites i
        WHERE i.email = ? AND i.status = 'pending' AND i.expiresAt > ? AND (i.inviteeId IS NULL OR i.inviteeId <> ?)
        ORDER BY i.id FOR UPDATE`,
      [email, now, userId],
      t,
    );
    if (rows.length)
      await this.exec(
        `UPDATE group_invites SET inviteeId = ?, updatedAt = ? WHERE id IN (${rows.map(() => '?').join(', ')})`,
        [userId, now, ...rows.map((r) => r.id)],
        t,
      );
    return rows.map((r) => ({ ...r, inviteeId: userId }));
  }

  /** Pending invites whose 7 days are over, claimed for the sweep. */
  claimExpired(now: Date, limit: number, t: Transaction): Promise<{ id: number }[]> {
    return this.select(
      `SELECT id FROM group_invites WHERE status = 'pending' AND expiresAt <= ?
        ORDER BY id LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
      [now],
      t,
    );
  }

  async expireInvites(ids: number[], now: Date, t: Transaction): Promise<number> {
    if (!ids.length) return 0;
    return this.exec(
      `UPDATE group_invites SET status = 'expired', pendingEmail = NULL, updatedAt = ?
        WHERE status = 'pending' AND id IN (${ids.map(() => '?').join(', ')})`,
      [now, ...ids],
      t,
    );
  }

  /** Pending invites a user sent or received: cancelled when the account goes. */
  async dropPendingOf(userId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE group_invites SET status = 'expired', pendingEmail = NULL, updatedAt = ?
        WHERE status = 'pending' AND (inviteeId = ? OR invitedById = ?)`,
      [now, userId, userId],
      t,
    );
  }
}
