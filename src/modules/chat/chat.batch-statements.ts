import type { RowDataPacket } from 'mysql2';
import type { Statement } from '../../infra/sql-script';
import type { MessageRow } from './chat.repository';

/** A send of a batch as the statements see it. */
export interface MessageKey {
  roomId: number;
  senderId: number;
  clientId: string;
}

/** A batch's room, locked: whether it still takes messages. */
export interface LockedRoom {
  id: number;
  closedAt: Date | null;
}

/** A sender who is a member of the room they send to, and whether a block stops their 1:1 chat. */
export interface SenderAccess {
  roomId: number;
  userId: number;
  blocked: boolean;
}

/** The session variable holding the first id of the batch's multi-row insert (see rememberFirstId). */
export const FIRST_ID_VARIABLE = '@chat_batch_first_id';

const MESSAGE_COLUMNS = 'id, roomId, senderId, body, clientId, createdAt, hiddenAt, removedAt';
const tuples = (count: number, width: number) =>
  Array.from({ length: count }, () => `(${Array(width).fill('?').join(', ')})`).join(', ');

/**
 * The chat tables' statements of one group-commit batch (src/modules/chat/chat.send.ts), written as
 * statements for a scripted transaction: the batch sends them a packet at a time. With
 * ChatRepository, the only code that knows the chat tables.
 */
export class ChatBatchStatements {
  /**
   * @param blockedBetweenSql the safety module's condition "a block either way between these two columns"
   */
  constructor(private readonly blockedBetweenSql: (a: string, b: string) => string) {}

  /**
   * Locks the batch's rooms in id order (the primary key's scan order), so two batches sharing rooms
   * wait for each other instead of deadlocking. Every insert into a room and every member removal
   * holds its room's lock: what this transaction reads after it is exact until its commit.
   */
  lockRooms(roomIds: number[]): Statement {
    return { sql: 'SELECT id, closedAt FROM chat_rooms WHERE id IN (?) ORDER BY id FOR UPDATE', values: [roomIds] };
  }

  /**
   * Which senders are members of their room, and for a 1:1 room (direct, or a listing's trade chat)
   * whether a block either way stands between them and its other member.
   */
  senderAccess(pairs: Array<{ roomId: number; userId: number }>): Statement {
    const blocked = this.blockedBetweenSql('o.userId', 'm.userId');
    return {
      sql: `SELECT m.roomId, m.userId,
          (r.type IN ('direct', 'listing') AND EXISTS (
            SELECT 1 FROM chat_members o WHERE o.roomId = m.roomId AND o.userId <> m.userId AND ${blocked})) AS blocked
        FROM chat_members m JOIN chat_rooms r ON r.id = m.roomId
        WHERE (m.roomId, m.userId) IN (${tuples(pairs.length, 2)})`,
      values: pairs.flatMap((p) => [p.roomId, p.userId]),
    };
  }

  /** Messages already stored under these (room, sender, clientId) keys. */
  storedMessages(keys: MessageKey[]): Statement {
    return {
      sql: `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE (roomId, senderId, clientId) IN (${tuples(keys.length, 3)})`,
      values: keys.flatMap((k) => [k.roomId, k.senderId, k.clientId]),
    };
  }

  /** One multi-row insert, ids assigned in the order given (consecutive: see autoIncrementIsConsecutive). */
  insertMessages(rows: Array<MessageKey & { body: string; createdAt: Date }>): Statement {
    return {
      sql: `INSERT INTO chat_messages (roomId, senderId, body, clientId, createdAt) VALUES ${tuples(rows.length, 5)}`,
      values: rows.flatMap((m) => [m.roomId, m.senderId, m.body, m.clientId, m.createdAt]),
    };
  }

  /** Keeps the insert's first id for the statements after it in the same packet. */
  rememberFirstId(): Statement {
    return { sql: `SET ${FIRST_ID_VARIABLE} = LAST_INSERT_ID()` };
  }

  /**
   * Moves the rooms' activity markers: each room's last message is its highest id, read under the
   * room's lock, so no id needs to be known in advance. Written as ORDER BY … DESC LIMIT 1, one probe
   * of chat_messages_room_id: as a correlated subquery, MAX(m.id) read the room's whole history.
   */
  touchRooms(roomIds: number[], now: Date): Statement {
    return {
      sql: `UPDATE chat_rooms r
          SET r.lastMessageId = (SELECT m.id FROM chat_messages m WHERE m.roomId = r.id ORDER BY m.id DESC LIMIT 1),
              r.lastActivityAt = ?, r.updatedAt = ?
        WHERE r.id IN (?)`,
      values: [now, now, roomIds],
    };
  }
}

/** Rows of a `lockRooms` answer. */
export function lockedRooms(rows: RowDataPacket[]): Map<number, LockedRoom> {
  return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), closedAt: r.closedAt as Date | null }]));
}

/** Rows of a `senderAccess` answer, keyed `roomId:userId`. */
export function senderAccess(rows: RowDataPacket[]): Map<string, SenderAccess> {
  return new Map(
    rows.map((r) => [
      `${r.roomId}:${r.userId}`,
      { roomId: Number(r.roomId), userId: Number(r.userId), blocked: Number(r.blocked) === 1 },
    ]),
  );
}

/** Rows of a `storedMessages` answer. */
export function messageRows(rows: RowDataPacket[]): MessageRow[] {
  return rows.map((r) => ({
    id: Number(r.id),
    roomId: Number(r.roomId),
    senderId: Number(r.senderId),
    body: String(r.body),
    clientId: String(r.clientId),
    createdAt: r.createdAt as Date,
    hiddenAt: (r.hiddenAt as Date | null) ?? null,
    removedAt: (r.removedAt as Date | null) ?? null,
  }));
}
