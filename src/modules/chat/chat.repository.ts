import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';

export type RoomType = 'direct' | 'reservation' | 'meetup' | 'post' | 'listing' | 'group';

export interface RoomRow {
  id: number;
  type: RoomType;
  reservationId: number | null;
  meetupId: number | null;
  postId: number | null;
  /** A `listing` room: one per (listing, buyer), with the seller as the other member. */
  listingId: number | null;
  /** A `group` room: the group's members, exactly. */
  groupId: number | null;
  lastMessageId: number | null;
  lastActivityAt: Date;
  /** Set when the room's owner (a deleted post) closed it: history stays, new messages are refused. */
  closedAt: Date | null;
}

/** A room as seen by one member: the room plus that member's read pointer. */
export interface MemberRoomRow extends RoomRow {
  lastReadMessageId: number | null;
}

export interface MessageRow {
  id: number;
  roomId: number;
  senderId: number;
  body: string;
  clientId: string;
  createdAt: Date;
  /** Set while reports keep the message from everyone but its sender (see safety). */
  hiddenAt: Date | null;
  /** Set when an operator removed the message; its body is then empty. */
  removedAt: Date | null;
}

export interface NewRoom {
  type: RoomType;
  userLowId?: number | null;
  userHighId?: number | null;
  reservationId?: number | null;
  meetupId?: number | null;
  postId?: number | null;
  listingId?: number | null;
  listingBuyerId?: number | null;
  groupId?: number | null;
}

/**
 * A Date as a DATETIME(3) literal in UTC (the connection's zone). Sequelize formats a Date
 * replacement without milliseconds, which would break activity order and the list cursor.
 */
const ms = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

const ROOM_COLUMNS =
  'r.id, r.type, r.reservationId, r.meetupId, r.postId, r.listingId, r.groupId, r.lastMessageId, r.lastActivityAt, r.closedAt';
const MESSAGE_COLUMNS = 'id, roomId, senderId, body, clientId, createdAt, hiddenAt, removedAt';

/** The only code that knows the chat tables. */
/** A (room, user) membership as one string, for sets of them. */
export const membershipKey = (roomId: number, userId: number): string => `${roomId}:${userId}`;

export class ChatRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  private run(sql: string, replacements: unknown[], t?: Transaction): Promise<number> {
    return execAffected(this.sequelize, sql, replacements, t);
  }

  // --- rooms ----------------------------------------------------------------------------------

  async insertRoom(room: NewRoom, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO chat_rooms (type, userLowId, userHighId, reservationId, meetupId, postId, listingId, listingBuyerId, groupId,
         lastActivityAt, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [
          room.type,
          room.userLowId ?? null,
          room.userHighId ?? null,
          room.reservationId ?? null,
          room.meetupId ?? null,
          room.postId ?? null,
          room.listingId ?? null,
          room.listingBuyerId ?? null,
          room.groupId ?? null,
          ms(now),
          ms(now),
          ms(now),
        ],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  /**
   * The room that owns one of the UNIQUE seams. A locking read, so it sees a row another
   * transaction committed after ours began (a plain read would return our old snapshot).
   */
  async lockRoomByKey(room: NewRoom, t: Transaction): Promise<number | null> {
    let where: string;
    let values: unknown[];
    if (room.type === 'direct') {
      where = 'userLowId = ? AND userHighId = ?';
      values = [room.userLowId, room.userHighId];
    } else if (room.type === 'listing') {
      where = 'listingId = ? AND listingBuyerId = ?';
      values = [room.listingId, room.listingBuyerId];
    } else {
      const column = `${room.type}Id` as 'reservationId' | 'meetupId' | 'postId' | 'groupId';
      where = `${column} = ?`;
      values = [room[column]];
    }
    const rows = await this.select<{ id: number }>(`SELECT id FROM chat_rooms WHERE ${where} FOR UPDATE`, values, t);
    return rows[0]?.id ?? null;
  }

  async findDirectRoomId(userLowId: number, userHighId: number): Promise<number | null> {
    const rows = await this.select<{ id: number }>('SELECT id FROM chat_rooms WHERE userLowId = ? AND userHighId = ?', [
      userLowId,
      userHighId,
    ]);
    return rows[0]?.id ?? null;
  }

  async findRoom(roomId: number, t?: Transaction, lock = false): Promise<RoomRow | null> {
    const rows = await this.select<RoomRow>(
      `SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.id = ?${lock ? ' FOR UPDATE' : ''}`,
      [roomId],
      t,
    );
    return rows[0] ?? null;
  }

  /** Moves the room's activity marker; called with the room row locked. */
  async touchRoom(roomId: number, lastMessageId: number, now: Date, t: Transaction): Promise<void> {
    await this.run(
      'UPDATE chat_rooms SET lastMessageId = ?, lastActivityAt = ?, updatedAt = ? WHERE id = ?',
      [lastMessageId, ms(now), ms(now), roomId],
      t,
    );
  }

  /**
   * One page of a user's rooms, most recent activity first (ties by id). The cursor is the last
   * row's (lastActivityAt, id).
   */
  listMemberRooms(userId: number, limit: number, after: { at: Date; id: number } | null): Promise<MemberRoomRow[]> {
    const cursorSql = after ? 'AND (r.lastActivityAt < ? OR (r.lastActivityAt = ? AND r.id < ?))' : '';
    const values: unknown[] = [userId, ...(after ? [ms(after.at), ms(after.at), after.id] : []), limit];
    return this.select<MemberRoomRow>(
      `SELECT ${ROOM_COLUMNS}, m.lastReadMessageId
         FROM chat_members m JOIN chat_rooms r ON r.id = m.roomId
        WHERE m.userId = ? ${cursorSql}
        ORDER BY r.lastActivityAt DESC, r.id DESC
        LIMIT ?`,
      values,
    );
  }

  // --- members --------------------------------------------------------------------------------

  /**
   * Adds a member (no-op when already one). A new member's read pointer starts at the room's last
   * message: the history is visible but not "unread".
   */
  async upsertMember(roomId: number, userId: number, now: Date, t?: Transaction): Promise<boolean> {
    const affected = await this.run(
      `INSERT INTO chat_members (roomId, userId, lastReadMessageId, createdAt, updatedAt)
       SELECT r.id, ?, r.lastMessageId, ?, ? FROM chat_rooms r WHERE r.id = ?
       ON DUPLICATE KEY UPDATE updatedAt = chat_members.updatedAt`,
      [userId, ms(now), ms(now), roomId],
      t,
    );
    return affected === 1;
  }

  async closeRoom(roomId: number, now: Date, t: Transaction): Promise<void> {
    await this.run('UPDATE chat_rooms SET closedAt = ? WHERE id = ? AND closedAt IS NULL', [ms(now), roomId], t);
  }

  async countMembers(roomId: number, t?: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM chat_members WHERE roomId = ?',
      [roomId],
      t,
    );
    return Number(row.n);
  }

  /**
   * Removes a member. The room row is locked first (bumping `membersVersion`, a count of removals): a
   * chat batch reads membership under its room locks, so a batch holding this room's lock makes the
   * removal wait (its messages come before it), and one that locks the room after sees it committed.
   */
  async deleteMember(roomId: number, userId: number, t: Transaction): Promise<boolean> {
    await this.run('UPDATE chat_rooms SET membersVersion = membersVersion + 1 WHERE id = ?', [roomId], t);
    return (await this.run('DELETE FROM chat_members WHERE roomId = ? AND userId = ?', [roomId, userId], t)) > 0;
  }

  /** Which of these (room, user) pairs are memberships, as membershipKey()s (checked 1000 pairs a query). */
  async membershipsAmong(pairs: Array<{ roomId: number; userId: number }>): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < pairs.length; i += 1000) {
      const chunk = pairs.slice(i, i + 1000);
      const rows = await this.select<{ roomId: number; userId: number }>(
        `SELECT roomId, userId FROM chat_members WHERE (roomId, userId) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
        chunk.flatMap((p) => [p.roomId, p.userId]),
      );
      for (const r of rows) found.add(membershipKey(r.roomId, r.userId));
    }
    return found;
  }

  async findMembership(
    roomId: number,
    userId: number,
    t?: Transaction,
  ): Promise<{ lastReadMessageId: number | null } | null> {
    const rows = await this.select<{ lastReadMessageId: number | null }>(
      'SELECT lastReadMessageId FROM chat_members WHERE roomId = ? AND userId = ?',
      [roomId, userId],
      t,
    );
    return rows[0] ?? null;
  }

  /** Member ids per room, at most `cap` per room (open rooms can grow large), plus each room's total. */
  async membersOf(roomIds: number[], cap: number): Promise<Map<number, { userIds: number[]; total: number }>> {
    const out = new Map<number, { userIds: number[]; total: number }>();
    if (!roomIds.length) return out;
    const rows = await this.select<{ roomId: number; userId: number; total: number }>(
      `SELECT roomId, userId, total FROM (
         SELECT roomId, userId,
                ROW_NUMBER() OVER (PARTITION BY roomId ORDER BY id) AS rn,
                COUNT(*) OVER (PARTITION BY roomId) AS total
           FROM chat_members WHERE roomId IN (?)
       ) x WHERE rn <= ? ORDER BY roomId, rn`,
      [roomIds, cap],
    );
    for (const r of rows) {
      let entry = out.get(r.roomId);
      if (!entry) out.set(r.roomId, (entry = { userIds: [], total: Number(r.total) }));
      entry.userIds.push(r.userId);
    }
    return out;
  }

  /** Every member of a room except one, bounded (used to fan out notifications). */
  async otherMemberIds(roomId: number, exceptUserId: number, limit: number, t?: Transaction): Promise<number[]> {
    const rows = await this.select<{ userId: number }>(
      'SELECT userId FROM chat_members WHERE roomId = ? AND userId <> ? ORDER BY id LIMIT ?',
      [roomId, exceptUserId, limit],
      t,
    );
    return rows.map((r) => r.userId);
  }

  /** Moves a read pointer forward only; true when it moved. */
  async advanceReadPointer(roomId: number, userId: number, messageId: number, now: Date): Promise<boolean> {
    const affected = await this.run(
      `UPDATE chat_members SET lastReadMessageId = ?, updatedAt = ?
        WHERE roomId = ? AND userId = ? AND (lastReadMessageId IS NULL OR lastReadMessageId < ?)`,
      [messageId, ms(now), roomId, userId, messageId],
    );
    return affected > 0;
  }

  /** Others' messages after the member's read pointer, for several rooms in one query. */
  async unreadCounts(userId: number, roomIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (!roomIds.length) return out;
    const rows = await this.select<{ roomId: number; n: number }>(
      `SELECT msg.roomId, COUNT(*) AS n
         FROM chat_members cm
         JOIN chat_messages msg ON msg.roomId = cm.roomId AND msg.id > COALESCE(cm.lastReadMessageId, 0)
        WHERE cm.userId = ? AND cm.roomId IN (?) AND msg.senderId <> ?
        GROUP BY msg.roomId`,
      [userId, roomIds, userId],
    );
    for (const r of rows) out.set(r.roomId, Number(r.n));
    return out;
  }

  // --- messages -------------------------------------------------------------------------------

  async insertMessage(m: Omit<MessageRow, 'id' | 'hiddenAt' | 'removedAt'>, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      'INSERT INTO chat_messages (roomId, senderId, body, clientId, createdAt) VALUES (?, ?, ?, ?, ?)',
      {
        replacements: [m.roomId, m.senderId, m.body, m.clientId, ms(m.createdAt)],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  /**
   * Whether a multi-row INSERT's auto-increment ids are consecutive in VALUES order on this server:
   * InnoDB gives a "simple insert" (row count known up front) one block of consecutive values under
   * `innodb_autoinc_lock_mode` 0 (traditional) or 1 (consecutive, the MariaDB default), but not under
   * 2 (interleaved), and only with an `auto_increment_increment` of 1 (Galera raises it per node).
   */
  async autoIncrementIsConsecutive(): Promise<boolean> {
    const [row] = await this.select<{ mode: number; step: number }>(
      'SELECT @@GLOBAL.innodb_autoinc_lock_mode AS mode, @@SESSION.auto_increment_increment AS step',
      [],
    );
    return Number(row.mode) <= 1 && Number(row.step) === 1;
  }

  async findByClientId(
    roomId: number,
    senderId: number,
    clientId: string,
    t?: Transaction,
  ): Promise<MessageRow | null> {
    const rows = await this.select<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE roomId = ? AND senderId = ? AND clientId = ?`,
      [roomId, senderId, clientId],
      t,
    );
    return rows[0] ?? null;
  }

  async findMessage(id: number, t?: Transaction): Promise<MessageRow | null> {
    const rows = await this.select<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE id = ?`, [id], t);
    return rows[0] ?? null;
  }

  async findMessages(ids: number[]): Promise<Map<number, MessageRow>> {
    if (!ids.length) return new Map();
    const rows = await this.select<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE id IN (?)`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Reports hide a message (or an operator's `keep` shows it again). */
  async setMessageHidden(id: number, hidden: boolean, now: Date, t: Transaction): Promise<void> {
    await this.run('UPDATE chat_messages SET hiddenAt = ? WHERE id = ?', [hidden ? ms(now) : null, id], t);
  }

  /** An operator's removal: the text is gone for good, the row stays so ids and cursors do not move. */
  async removeMessage(id: number, now: Date, t: Transaction): Promise<void> {
    await this.run("UPDATE chat_messages SET body = '', removedAt = ?, hiddenAt = NULL WHERE id = ?", [ms(now), id], t);
  }

  /** `before`: newest first below an id; `after`: oldest first above an id; neither: the newest. */
  history(roomId: number, page: { before?: number; after?: number }, limit: number): Promise<MessageRow[]> {
    if (page.after !== undefined) {
      return this.select<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE roomId = ? AND id > ? ORDER BY id ASC LIMIT ?`,
        [roomId, page.after, limit],
      );
    }
    const below = page.before !== undefined ? 'AND id < ?' : '';
    return this.select<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE roomId = ? ${below} ORDER BY id DESC LIMIT ?`,
      page.before !== undefined ? [roomId, page.before, limit] : [roomId, limit],
    );
  }
}
