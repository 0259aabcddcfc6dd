import { QueryTypes, type Transaction } from 'sequelize';
import { SqlRepository } from '../../infra/sql-repository';
import { idList } from '../../infra/geo-sorted';

export interface PhotoRow {
  id: number;
  groupId: number;
  authorId: number;
  url: string;
  thumbnailUrl: string;
  caption: string;
  likeCount: number;
  commentCount: number;
  hiddenAt: Date | null;
  createdAt: Date;
  authorNickname: string;
  authorAvatarUrl: string | null;
}

export interface PhotoCommentRow {
  id: number;
  photoId: number;
  authorId: number;
  body: string;
  createdAt: Date;
  authorNickname: string;
  authorAvatarUrl: string | null;
}

const PHOTO_COLS = `p.id, p.groupId, p.authorId, p.url, p.thumbnailUrl, p.caption, p.likeCount, p.commentCount,
  p.hiddenAt, p.createdAt, u.nickname AS authorNickname, u.avatarUrl AS authorAvatarUrl`;
const PHOTO_FROM = 'FROM group_photos p JOIN users u ON u.id = p.authorId';
const COMMENT_COLS = `c.id, c.photoId, c.authorId, c.body, c.createdAt, u.nickname AS authorNickname,
  u.avatarUrl AS authorAvatarUrl`;

/**
 * The only code that knows group_photos, group_photo_likes and group_photo_comments. Like and
 * comment counts are columns of the photo, written in the transaction that adds or removes the row
 * they count, so a gallery page is one index walk with no per-photo COUNT.
 */
export class GalleryRepository extends SqlRepository {
  async insertPhoto(
    p: { groupId: number; authorId: number; url: string; thumbnailUrl: string; caption: string },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO group_photos (groupId, authorId, url, thumbnailUrl, caption, createdAt) VALUES (?, ?, ?, ?, ?, ?)`,
      {
        replacements: [p.groupId, p.authorId, p.url, p.thumbnailUrl, p.caption, now],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    await this.exec('UPDATE `groups` SET photoCount = photoCount + 1 WHERE id = ?', [p.groupId], t);
    return Number(id);
  }

  /** Photos of `authorId` in the gallery now (deleted ones are gone). */
  async countByAuthor(groupId: number, authorId: number, t: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM group_photos WHERE groupId = ? AND authorId = ?',
      [groupId, authorId],
      t,
    );
    return Number(row.n);
  }

  async findPhoto(groupId: number, photoId: number, t?: Transaction, lock = false): Promise<PhotoRow | null> {
    const rows = await this.select<PhotoRow>(
      `SELECT ${PHOTO_COLS} ${PHOTO_FROM} WHERE p.id = ? AND p.groupId = ?${lock ? ' FOR UPDATE' : ''}`,
      [photoId, groupId],
      t,
    );
    return rows[0] ?? null;
  }

  /** The photo by id alone (reports reach it without its group). */
  async findPhotoById(photoId: number, t?: Transaction): Promise<PhotoRow | null> {
    const rows = await this.select<PhotoRow>(`SELECT ${PHOTO_COLS} ${PHOTO_FROM} WHERE p.id = ?`, [photoId], t);
    return rows[0] ?? null;
  }

  /** Deletes the photo (its likes and comments cascade) and uncounts it. */
  async deletePhoto(groupId: number, photoId: number, t: Transaction): Promise<boolean> {
    const gone = await this.exec('DELETE FROM group_photos WHERE id = ? AND groupId = ?', [photoId, groupId], t);
    if (gone)
      await this.exec('UPDATE `groups` SET photoCount = photoCount - 1 WHERE id = ? AND photoCount > 0', [groupId], t);
    return gone === 1;
  }

  async setHidden(photoId: number, hidden: boolean, now: Date, t: Transaction): Promise<void> {
    await this.exec('UPDATE group_photos SET hiddenAt = ? WHERE id = ?', [hidden ? now : null, photoId], t);
  }

  /**
   * One gallery page, newest first, on the (groupId, id) index. Photos hidden by reports are left
   * out, except for their author.
   */
  page(groupId: number, viewerId: number, beforeId: number | null, limit: number): Promise<PhotoRow[]> {
    return this.select<PhotoRow>(
      `SELECT ${PHOTO_COLS} ${PHOTO_FROM}
        WHERE p.groupId = ? AND (p.hiddenAt IS NULL OR p.authorId = ?) ${beforeId ? 'AND p.id < ?' : ''}
        ORDER BY p.id DESC LIMIT ${Math.trunc(limit)}`,
      beforeId ? [groupId, viewerId, beforeId] : [groupId, viewerId],
    );
  }

  async likedBy(userId: number, photoIds: number[]): Promise<Set<number>> {
    const list = idList(photoIds);
    if (!list) return new Set();
    const rows = await this.select<{ photoId: number }>(
      `SELECT photoId FROM group_photo_likes WHERE userId = ? AND photoId IN (${list})`,
      [userId],
    );
    return new Set(rows.map((r) => Number(r.photoId)));
  }

  /** Every file of a group's photos (the group is being deleted). */
  async filesOf(groupId: number, t: Transaction): Promise<string[]> {
    const rows = await this.select<{ url: string; thumbnailUrl: string }>(
      'SELECT url, thumbnailUrl FROM group_photos WHERE groupId = ?',
      [groupId],
      t,
    );
    return rows.flatMap((r) => [r.url, r.thumbnailUrl]);
  }

  // --- likes -------------------------------------------------------------------------------------

  /** Adds the like unless it exists; the counter moves only with a real change. */
  async like(photoId: number, userId: number, now: Date, t: Transaction): Promise<void> {
    const added = await this.exec(
      'INSERT IGNORE INTO group_photo_likes (photoId, userId, createdAt) VALUES (?, ?, ?)',
      [photoId, userId, now],
      t,
    );
    if (added) await this.exec('UPDATE group_photos SET likeCount = likeCount + 1 WHERE id = ?', [photoId], t);
  }

  async unlike(photoId: number, userId: number, t: Transaction): Promise<void> {
    const removed = await this.exec(
      'DELETE FROM group_photo_likes WHERE photoId = ? AND userId = ?',
      [photoId, userId],
      t,
    );
    if (removed)
      await this.exec('UPDATE group_photos SET likeCount = likeCount - 1 WHERE id = ? AND likeCount > 0', [photoId], t);
  }

  async likeState(photoId: number, userId: number, t: Transaction): Promise<{ likeCount: number; likedByMe: boolean }> {
    const [row] = await this.select<{ likeCount: number; mine: number }>(
      `SELECT p.likeCount, EXISTS (SELECT 1 FROM group_photo_likes l WHERE l.photoId = p.id AND l.userId = ?) AS mine
         FROM group_photos p WHERE p.id = ?`,
      [userId, photoId],
      t,
    );
    return { likeCount: Number(row?.likeCount ?? 0), likedByMe: Boolean(Number(row?.mine ?? 0)) };
  }

  // --- comments ----------------------------------------------------------------------------------

  async insertComment(photoId: number, authorId: number, body: string, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      'INSERT INTO group_photo_comments (photoId, authorId, body, createdAt) VALUES (?, ?, ?, ?)',
      { replacements: [photoId, authorId, body, now], transaction: t, type: QueryTypes.INSERT },
    );
    await this.exec('UPDATE group_photos SET commentCount = commentCount + 1 WHERE id = ?', [photoId], t);
    return Number(id);
  }

  async findComment(photoId: number, commentId: number, t?: Transaction): Promise<PhotoCommentRow | null> {
    const rows = await this.select<PhotoCommentRow>(
      `SELECT ${COMMENT_COLS} FROM group_photo_comments c JOIN users u ON u.id = c.authorId
        WHERE c.id = ? AND c.photoId = ?`,
      [commentId, photoId],
      t,
    );
    return rows[0] ?? null;
  }

  async deleteComment(photoId: number, commentId: number, t: Transaction): Promise<void> {
    const gone = await this.exec(
      'DELETE FROM group_photo_comments WHERE id = ? AND photoId = ?',
      [commentId, photoId],
      t,
    );
    if (gone)
      await this.exec(
        'UPDATE group_photos SET commentCount = commentCount - 1 WHERE id = ? AND commentCount > 0',
        [photoId],
        t,
      );
  }

  /** Comments oldest first, after `afterId`. */
  comments(photoId: number, afterId: number, limit: number): Promise<PhotoCommentRow[]> {
    return this.select<PhotoCommentRow>(
      `SELECT ${COMMENT_COLS} FROM group_photo_comments c JOIN users u ON u.id = c.authorId
        WHERE c.photoId = ? AND c.id > ? ORDER BY c.id LIMIT ${Math.trunc(limit)}`,
      [photoId, afterId],
    );
  }
}
