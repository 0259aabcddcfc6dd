import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';

/** A voice message with its author's public fields (a deleted author's tombstone nickname included). */
export interface VoiceRow {
  id: number;
  groupId: number;
  authorId: number;
  url: string;
  durationMs: number;
  title: string | null;
  createdAt: Date;
  nickname: string;
  avatarUrl: string | null;
}

const COLS = 'v.id, v.groupId, v.authorId, v.url, v.durationMs, v.title, v.createdAt, u.nickname, u.avatarUrl';

/** The only code that knows the group_voice_messages table. */
export class VoiceRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async insert(
    data: { groupId: number; authorId: number; url: string; durationMs: number; bytes: number; title: string | null },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO group_voice_messages (groupId, authorId, url, durationMs, bytes, title, createdAt)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [data.groupId, data.authorId, data.url, data.durationMs, data.bytes, data.title, now],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  async find(groupId: number, id: number, t?: Transaction): Promise<VoiceRow | null> {
    const [row] = await selectRows<VoiceRow>(
      this.sequelize,
      `SELECT ${COLS} FROM group_voice_messages v JOIN users u ON u.id = v.authorId
        WHERE v.id = ? AND v.groupId = ?${t ? ' FOR UPDATE' : ''}`,
      [id, groupId],
      t,
    );
    return row ? toDomain(row) : null;
  }

  /** Newest first, ids below `beforeId` when given; `limit` rows (the caller asks for one more). */
  async page(groupId: number, beforeId: number | undefined, limit: number): Promise<VoiceRow[]> {
    const rows = await selectRows<VoiceRow>(
      this.sequelize,
      `SELECT ${COLS} FROM group_voice_messages v JOIN users u ON u.id = v.authorId
        WHERE v.groupId = ?${beforeId === undefined ? '' : ' AND v.id < ?'}
        ORDER BY v.id DESC LIMIT ?`,
      beforeId === undefined ? [groupId, limit] : [groupId, beforeId, limit],
    );
    return rows.map(toDomain);
  }

  delete(id: number, t: Transaction): Promise<number> {
    return execAffected(this.sequelize, 'DELETE FROM group_voice_messages WHERE id = ?', [id], t);
  }

  /**
   * Every file of a group, read with a lock: a locking read sees rows committed after this
   * transaction's snapshot, so a message that committed while the group was being deleted is not missed.
   */
  async urlsOfGroup(groupId: number, t: Transaction): Promise<string[]> {
    const rows = await selectRows<{ url: string }>(
      this.sequelize,
      'SELECT url FROM group_voice_messages WHERE groupId = ? FOR UPDATE',
      [groupId],
      t,
    );
    return rows.map((r) => r.url);
  }
}

const toDomain = (r: VoiceRow): VoiceRow => ({
  ...r,
  id: Number(r.id),
  groupId: Number(r.groupId),
  authorId: Number(r.authorId),
  durationMs: Number(r.durationMs),
  createdAt: new Date(r.createdAt),
});
