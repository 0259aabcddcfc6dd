import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { RowDataPacket } from 'mysql2';
import { execAffected } from '../../infra/db';
import type { ScriptedRead } from '../../infra/sql-script';
import type { NotificationType, Preference } from './notifications.schemas';

/** A notification as API.md shows it. */
export interface Notification {
  id: number;
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  readAt: string | null;
  createdAt: string;
}

/** A stored row plus what streams need to keep order (never shown to clients). */
export interface StoredNotification {
  recipientId: number;
  seq: number;
  notification: Notification;
}

interface NotificationRow {
  id: number;
  recipientId: number;
  seq: number;
  type: NotificationType;
  title: string;
  body: string;
  data: string | null;
  readAt: Date | null;
  createdAt: Date;
}

const COLUMNS = 'id, recipientId, seq, type, title, body, data, readAt, createdAt';

function parseData(raw: string | null): Record<string, unknown> | null {
  if (raw === null || raw === undefined) return null;
  try {
    const v = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** The model: MariaDB hands JSON back as text, so it is parsed here, once. */
function toStored(row: NotificationRow): StoredNotification {
  return {
    recipientId: Number(row.recipientId),
    seq: Number(row.seq),
    notification: {
      id: Number(row.id),
      type: row.type,
      title: row.title,
      body: row.body,
      data: parseData(row.data),
      readAt: row.readAt ? new Date(row.readAt).toISOString() : null,
      createdAt: new Date(row.createdAt).toISOString(),
    },
  };
}

/** A non-negative integer as SQL (throws on anything else, so nothing but digits reaches the statement). */
function integer(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not an id or count: ${n}`);
  return String(n);
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC, as every DATETIME(3) is written (the connection's zone is +00:00). */
function sqlDateTime(d: Date): string {
  return d.toISOString().slice(0, 23).replace('T', ' ');
}

/** Escapes strings as SQL literals, each distinct one once (a broadcast repeats them in every row). */
function literals(sequelize: Sequelize): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let lit = seen.get(s);
    if (lit === undefined) {
      lit = sequelize.escape(s);
      seen.set(s, lit);
    }
    return lit;
  };
}

/** A row about to be inserted by a batch (no dedupe key). */
export interface NewNotification {
  recipientId: number;
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
}

/** What a batch insert's RETURNING answers. */
interface ReturnedRow {
  id: number;
  recipientId: number;
  seq: number;
}

interface PreferenceRow {
  userId: number;
  type: string;
  inApp: number;
  email: number;
}

/** A counters upsert's RETURNING: recipient id → its new last sequence number. */
const toLastSeqs = (rows: RowDataPacket[]): Map<number, number> =>
  new Map(rows.map((r) => [Number(r.userId), Number(r.lastSeq)]));

const PREFERENCES_SQL =
  'SELECT userId, type, inApp, email FROM notification_preferences WHERE userId IN (?) AND type IN (?)';

const toPreferences = (rows: PreferenceRow[]): Map<string, Preference> =>
  new Map(rows.map((r) => [`${r.userId}:${r.type}`, { inApp: Boolean(r.inApp), email: Boolean(r.email) }]));

/**
 * Moves each recipient's counter on by its count, in id order (the order its lock is taken, so two
 * batches cannot deadlock). Integers only, written as such (checked): nothing for a driver to scan.
 */
function reserveSeqsSql(counts: Map<number, number>): string {
  const ids = [...counts.keys()].sort((a, b) => a - b);
  return `INSERT INTO notification_counters (userId, lastSeq) VALUES ${ids.map((id) => `(${integer(id)}, ${integer(counts.get(id)!)})`).join(', ')}
       ON DUPLICATE KEY UPDATE lastSeq = lastSeq + VALUES(lastSeq)`;
}

/**
 * A batch insert answering its ids. Built as literals rather than placeholders: a broadcast repeats
 * one title, body and date in every row, and a driver would scan the SQL for thousands of
 * placeholders and escape each copy. Each distinct value is escaped once (sequelize.escape).
 */
function insertSql<R extends NewNotification>(
  rows: R[],
  seqSql: (row: R) => string,
  literal: (s: string) => string,
  now: Date,
): string {
  const createdAt = literal(sqlDateTime(now));
  const values = rows.map(
    (r) =>
      `(${integer(r.recipientId)}, ${seqSql(r)}, ${literal(r.type)}, ${literal(r.title)}, ${literal(r.body)}, ${
        r.data === null ? 'NULL' : literal(JSON.stringify(r.data))
      }, NULL, NULL, ${createdAt})`,
  );
  return `INSERT INTO notifications (recipientId, seq, type, title, body, data, dedupeKey, readAt, createdAt) VALUES ${values.join(', ')} RETURNING id, recipientId, seq`;
}

/** The batch's rows as stored, their ids matched by recipient and seq (RETURNING's order is not relied on). */
function storedRows(
  rows: Array<NewNotification & { seq: number }>,
  returned: ReturnedRow[],
  now: Date,
): StoredNotification[] {
  const idOf = new Map(returned.map((r) => [`${r.recipientId}:${r.seq}`, Number(r.id)]));
  const createdAt = now.toISOString();
  return rows.map((r) => {
    const id = idOf.get(`${r.recipientId}:${r.seq}`);
    if (id === undefined) throw new Error(`batch insert did not return recipient ${r.recipientId}'s seq ${r.seq}`);
    return {
      recipientId: r.recipientId,
      seq: r.seq,
      notification: { id, type: r.type, title: r.title, body: r.body, data: r.data, readAt: null, createdAt },
    };
  });
}

/** The only code that knows the notification tables. */
export class NotificationsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Takes the recipient's lock row (creating it on first use) and returns the last sequence number.
   * Held until commit, it serializes every insert for that recipient, so ids and sequence numbers
   * grow in commit order and "after id N" never misses a row that committed late. One statement:
   * the upsert takes the row's exclusive lock and MariaDB's RETURNING reads it back.
   */
  async lockRecipient(userId: number, t: Transaction): Promise<number> {
    const rows = await this.sequelize.query<{ lastSeq: number }>(
      'INSERT INTO notification_counters (userId, lastSeq) VALUES (?, 0) ON DUPLICATE KEY UPDATE lastSeq = lastSeq RETURNING lastSeq',
      { replacements: [userId], transaction: t, type: QueryTypes.SELECT },
    );
    return Number(rows[0].lastSeq);
  }

  /**
   * lockRecipient for many at once, and their sequence numbers reserved in the same statement: each
   * recipient's lock row is taken in id order (so two such calls cannot deadlock) and moved on by
   * the number of rows about to be inserted for it (0 only locks). Answers id → the new last
   * sequence number: that recipient's rows take the `count` numbers up to it.
   */
  async reserveSeqs(counts: Map<number, number>, t: Transaction): Promise<Map<number, number>> {
    if (!counts.size) return new Map();
    const rows = await this.sequelize.query<RowDataPacket>(`${reserveSeqsSql(counts)} RETURNING userId, lastSeq`, {
      transaction: t,
      type: QueryTypes.SELECT,
    });
    return toLastSeqs(rows);
  }

  /** reserveSeqs as a read of a scripted transaction. */
  reserveSeqsRead(counts: Map<number, number>): ScriptedRead<Map<number, number>> {
    if (!counts.size) throw new Error('reserveSeqsRead: no recipients');
    return { statement: { sql: `${reserveSeqsSql(counts)} RETURNING userId, lastSeq` }, parse: toLastSeqs };
  }

  /** The committed last sequence number (no lock): where a fresh stream starts. */
  async lastSeq(userId: number): Promise<number> {
    const rows = await this.sequelize.query<{ lastSeq: number }>(
      'SELECT lastSeq FROM notification_counters WHERE userId = ?',
      {
        replacements: [userId],
        type: QueryTypes.SELECT,
      },
    );
    return rows.length ? Number(rows[0].lastSeq) : 0;
  }

  /** Committed last sequence numbers of many recipients (the stream sweep). */
  async lastSeqs(userIds: number[]): Promise<Map<number, number>> {
    if (!userIds.length) return new Map();
    const rows = await this.sequelize.query<{ userId: number; lastSeq: number }>(
      'SELECT userId, lastSeq FROM notification_counters WHERE userId IN (?)',
      { replacements: [userIds], type: QueryTypes.SELECT },
    );
    return new Map(rows.map((r) => [Number(r.userId), Number(r.lastSeq)]));
  }

  /** Null when `dedupeKey` was used before for this recipient (the caller ran twice). */
  async insert(
    input: {
      recipientId: number;
      seq: number;
      type: NotificationType;
      title: string;
      body: string;
      data: Record<string, unknown> | null;
      dedupeKey: string | null;
    },
    now: Date,
    t: Transaction,
  ): Promise<StoredNotification | null> {
    let id: number;
    try {
      [id] = await this.sequelize.query(
        'INSERT INTO notifications (recipientId, seq, type, title, body, data, dedupeKey, readAt, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)',
        {
          replacements: [
            input.recipientId,
            input.seq,
            input.type,
            input.title,
            input.body,
            input.data === null ? null : JSON.stringify(input.data),
            input.dedupeKey,
            now,
          ],
          transaction: t,
          type: QueryTypes.INSERT,
        },
      );
    } catch (err) {
      // Only the statement fails (InnoDB keeps the transaction), so the caller's work goes on.
      const onKey = String((err as { parent?: { sqlMessage?: string } }).parent?.sqlMessage ?? '').includes(
        'notifications_recipient_dedupe',
      );
      if (err instanceof UniqueConstraintError && onKey) return null;
      throw err;
    }
    await this.sequelize.query('UPDATE notification_counters SET lastSeq = ? WHERE userId = ?', {
      replacements: [input.seq, input.recipientId],
      transaction: t,
    });
    return {
      recipientId: input.recipientId,
      seq: input.seq,
      notification: {
        id: Number(id),
        type: input.type,
        title: input.title,
        body: input.body,
        data: input.data,
        readAt: null,
        createdAt: now.toISOString(),
      },
    };
  }

  /**
   * `insert` for many rows without a dedupe key, in one statement whose RETURNING answers the ids
   * (not assumed consecutive, which would depend on innodb_autoinc_lock_mode). The caller holds every
   * recipient's lock and reserved the seqs (reserveSeqs), so the counters are current. Same order.
   */
  async insertMany(rows: Array<NewNotification & { seq: number }>, now: Date, t: Transaction) {
    if (!rows.length) return [];
    const returned = await this.sequelize.query<ReturnedRow>(
      insertSql(rows, (r) => integer(r.seq), literals(this.sequelize), now),
      { transaction: t, type: QueryTypes.SELECT },
    );
    return storedRows(rows, returned, now);
  }

  /** insertMany as a read of a scripted transaction (its RETURNING answers the ids). */
  insertManyRead(rows: Array<NewNotification & { seq: number }>, now: Date): ScriptedRead<StoredNotification[]> {
    if (!rows.length) throw new Error('insertManyRead: no rows');
    return {
      statement: { sql: insertSql(rows, (r) => integer(r.seq), literals(this.sequelize), now) },
      parse: (returned) => storedRows(rows, returned as ReturnedRow[], now),
    };
  }

  /** Stored preferences of many users for the given types, keyed `${userId}:${type}`. */
  async preferencesOf(userIds: number[], types: string[], t: Transaction): Promise<Map<string, Preference>> {
    if (!userIds.length || !types.length) return new Map();
    const rows = await this.sequelize.query<PreferenceRow>(PREFERENCES_SQL, {
      replacements: [userIds, types],
      transaction: t,
      type: QueryTypes.SELECT,
    });
    return toPreferences(rows);
  }

  /** preferencesOf as a read of a scripted transaction; neither list empty. */
  preferencesRead(userIds: number[], types: string[]): ScriptedRead<Map<string, Preference>> {
    if (!userIds.length || !types.length) throw new Error('preferencesRead: nothing to read');
    return {
      statement: { sql: PREFERENCES_SQL, values: [userIds, types] },
      parse: (rows) => toPreferences(rows as PreferenceRow[]),
    };
  }

  /** Newest first; `beforeId` is the cursor. Fetches one extra row to know whether a next page exists. */
  async list(
    recipientId: number,
    opts: { unread: boolean; beforeId?: number; limit: number },
  ): Promise<Notification[]> {
    const where = ['recipientId = ?'];
    const replacements: unknown[] = [recipientId];
    if (opts.unread) where.push('readAt IS NULL');
    if (opts.beforeId !== undefined) {
      where.push('id < ?');
      replacements.push(opts.beforeId);
    }
    replacements.push(opts.limit);
    const rows = await this.sequelize.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notifications WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      { replacements, type: QueryTypes.SELECT },
    );
    return rows.map((r) => toStored(r).notification);
  }

  /** Replay after a Last-Event-ID: the recipient's rows with a larger id, oldest first. */
  async after(recipientId: number, afterId: number, limit: number): Promise<StoredNotification[]> {
    const rows = await this.sequelize.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notifications WHERE recipientId = ? AND id > ? ORDER BY id LIMIT ?`,
      { replacements: [recipientId, afterId, limit], type: QueryTypes.SELECT },
    );
    return rows.map(toStored);
  }

  /** Gap filling: rows with afterSeq < seq < beforeSeq, in order. */
  async betweenSeq(
    recipientId: number,
    afterSeq: number,
    beforeSeq: number,
    limit: number,
  ): Promise<StoredNotification[]> {
    const rows = await this.sequelize.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notifications WHERE recipientId = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`,
      { replacements: [recipientId, afterSeq, beforeSeq, limit], type: QueryTypes.SELECT },
    );
    return rows.map(toStored);
  }

  async unreadCount(recipientId: number): Promise<number> {
    const rows = await this.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM notifications WHERE recipientId = ? AND readAt IS NULL',
      { replacements: [recipientId], type: QueryTypes.SELECT },
    );
    return Number(rows[0].n);
  }

  /** Locks the row when it is the recipient's; null for a missing or someone else's id. */
  async lockOwned(id: number, recipientId: number, t: Transaction): Promise<{ readAt: Date | null } | null> {
    const rows = await this.sequelize.query<{ readAt: Date | null }>(
      'SELECT readAt FROM notifications WHERE id = ? AND recipientId = ? FOR UPDATE',
      { replacements: [id, recipientId], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  async markRead(id: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query('UPDATE notifications SET readAt = ? WHERE id = ? AND readAt IS NULL', {
      replacements: [now, id],
      transaction: t,
    });
  }

  /** Returns how many rows changed. */
  async markAllRead(recipientId: number, now: Date, t: Transaction): Promise<number> {
    return execAffected(
      this.sequelize,
      'UPDATE notifications SET readAt = ? WHERE recipientId = ? AND readAt IS NULL',
      [now, recipientId],
      t,
    );
  }

  // --- preferences ---------------------------------------------------------------------------

  async preferences(userId: number, t?: Transaction): Promise<Map<string, Preference>> {
    const rows = await this.sequelize.query<{ type: string; inApp: number; email: number }>(
      'SELECT type, inApp, email FROM notification_preferences WHERE userId = ?',
      { replacements: [userId], transaction: t, type: QueryTypes.SELECT },
    );
    return new Map(rows.map((r) => [r.type, { inApp: Boolean(r.inApp), email: Boolean(r.email) }]));
  }

  async preference(userId: number, type: string, t: Transaction): Promise<Preference | null> {
    const rows = await this.sequelize.query<{ inApp: number; email: number }>(
      'SELECT inApp, email FROM notification_preferences WHERE userId = ? AND type = ?',
      { replacements: [userId, type], transaction: t, type: QueryTypes.SELECT },
    );
    return rows.length ? { inApp: Boolean(rows[0].inApp), email: Boolean(rows[0].email) } : null;
  }

  /**
   * Partial update in one statement: an omitted flag keeps its stored value (or the default on
   * first write), so two concurrent updates of different flags cannot undo each other.
   */
  async upsertPreference(
    userId: number,
    type: string,
    change: Partial<Preference>,
    defaults: Preference,
    now: Date,
    t: Transaction,
  ) {
    const inApp = change.inApp ?? null;
    const email = change.email ?? null;
    await this.sequelize.query(
      `INSERT INTO notification_preferences (userId, type, inApp, email, updatedAt)
       VALUES (?, ?, COALESCE(?, ?), COALESCE(?, ?), ?)
       ON DUPLICATE KEY UPDATE inApp = COALESCE(?, inApp), email = COALESCE(?, email), updatedAt = ?`,
      {
        replacements: [userId, type, inApp, defaults.inApp, email, defaults.email, now, inApp, email, now],
        transaction: t,
      },
    );
  }

  // --- chat e-mail digest --------------------------------------------------------------------

  async lockDigest(
    userId: number,
    roomId: number,
    t: Transaction,
  ): Promise<{ lastSentAt: Date; suppressed: number } | null> {
    const rows = await this.sequelize.query<{ lastSentAt: Date; suppressed: number }>(
      'SELECT lastSentAt, suppressed FROM notification_email_digests WHERE userId = ? AND roomId = ? FOR UPDATE',
      { replacements: [userId, roomId], transaction: t, type: QueryTypes.SELECT },
    );
    return rows.length ? { lastSentAt: new Date(rows[0].lastSentAt), suppressed: Number(rows[0].suppressed) } : null;
  }

  async digestSent(userId: number, roomId: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      `INSERT INTO notification_email_digests (userId, roomId, lastSentAt, suppressed) VALUES (?, ?, ?, 0)
       ON DUPLICATE KEY UPDATE lastSentAt = ?, suppressed = 0`,
      { replacements: [userId, roomId, now, now], transaction: t },
    );
  }

  async digestSuppressed(userId: number, roomId: number, t: Transaction): Promise<void> {
    await this.sequelize.query(
      'UPDATE notification_email_digests SET suppressed = suppressed + 1 WHERE userId = ? AND roomId = ?',
      {
        replacements: [userId, roomId],
        transaction: t,
      },
    );
  }
}
