import type { Transaction } from 'sequelize';
import { SqlRepository } from '../../infra/sql-repository';
import type { HotReads } from '../../infra/hot-reads';
import { idList } from '../../infra/geo-sorted';
import type { GeoPoint } from '../../infra/geo';
import type { PostKind } from './community.schemas';

/** The posts row. */
export interface PostBase {
  id: number;
  authorId: number;
  kind: PostKind;
  title: string;
  body: string;
  tagsJson: string;
  lat: string | number | null;
  lng: string | number | null;
  address: string | null;
  likeCount: number;
  commentCount: number;
  recentScore: number;
  photoCount: number;
  chatRoomId: number | null;
  listed: number;
  geoVersion: number;
  hiddenAt: Date | null;
  deletedAt: Date | null;
  editedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A post as shown: with its author's public fields (a read-only join). */
export interface PostRow extends PostBase {
  authorNickname: string | null;
  authorAvatarUrl: string | null;
  authorDeletedAt: Date | null;
}

export interface PostWrite {
  kind: PostKind;
  title: string;
  body: string;
  tags: string[];
  lat: number | null;
  lng: number | null;
  address: string | null;
  searchText: string;
}

export interface PhotoRow {
  id: number;
  postId: number;
  url: string;
  thumbnailUrl: string;
}

export interface CommentRow {
  id: number;
  postId: number;
  parentId: number | null;
  authorId: number;
  body: string;
  likeCount: number;
  replyCount: number;
  hiddenAt: Date | null;
  deletedAt: Date | null;
  editedAt: Date | null;
  createdAt: Date;
  authorNickname: string | null;
  authorAvatarUrl: string | null;
  authorDeletedAt: Date | null;
}

/** Conditions on `p` (posts), ANDed; compiled by the feed for `viewerId`. */
export interface SqlFilter {
  viewerId: number;
  where: string[];
  replacements: unknown[];
}

/** A q as a prefix-table walk (src/modules/search-text.ts `prefixQuery`). */
export interface PrefixWalk {
  key: string;
  patterns: string[];
}

const BASE_COLS = `p.id, p.authorId, p.kind, p.title, p.body, p.tagsJson, p.lat, p.lng, p.address, p.likeCount,
  p.commentCount, p.recentScore, p.photoCount, p.chatRoomId, p.listed, p.geoVersion, p.hiddenAt, p.deletedAt,
  p.editedAt, p.createdAt, p.updatedAt`;
const COLS = `${BASE_COLS}, u.nickname AS authorNickname, u.avatarUrl AS authorAvatarUrl, u.deletedAt AS authorDeletedAt`;
const FROM = 'FROM posts p JOIN users u ON u.id = p.authorId';
const COMMENT_COLS = `c.id, c.postId, c.parentId, c.authorId, c.body, c.likeCount, c.replyCount, c.hiddenAt, c.deletedAt,
  c.editedAt, c.createdAt, u.nickname AS authorNickname, u.avatarUrl AS authorAvatarUrl, u.deletedAt AS authorDeletedAt`;
const COMMENT_FROM = 'FROM post_comments c JOIN users u ON u.id = c.authorId';

/** The only code that knows the posts and post_* / comment_* tables. */
export class CommunityRepository extends SqlRepository {
  // --- posts -------------------------------------------------------------------------------------

  insertPost(authorId: number, data: PostWrite, now: Date, t: Transaction): Promise<number> {
    const written = editableColumns(data);
    return this.insertId(
      `INSERT INTO posts (authorId, kind, ${written.map(([c]) => c).join(', ')}, createdAt, updatedAt)
       VALUES (?, ?, ${written.map(() => '?').join(', ')}, ?, ?)`,
      [authorId, data.kind, ...written.map(([, v]) => v), now, now],
      t,
    );
  }

  /** Writes the editable columns; a moved (or removed) point bumps the geo version. */
  async updatePost(id: number, data: PostWrite, moved: boolean, now: Date, t: Transaction): Promise<void> {
    const written = editableColumns(data);
    await this.exec(
      `UPDATE posts SET ${written.map(([c]) => `${c} = ?`).join(', ')},
         editedAt = ?, updatedAt = ?${moved ? ', geoVersion = geoVersion + 1' : ''}
       WHERE id = ?`,
      [...written.map(([, v]) => v), now, now, id],
      t,
    );
  }

  async replaceTags(postId: number, tags: string[], createdAt: Date, t: Transaction): Promise<void> {
    await this.exec('DELETE FROM post_tags WHERE postId = ?', [postId], t);
    if (!tags.length) return;
    await this.exec(
      `INSERT INTO post_tags (postId, tag, createdAt) VALUES ${tags.map(() => '(?, ?, ?)').join(', ')}`,
      tags.flatMap((tag) => [postId, tag, createdAt]),
      t,
    );
  }

  async setChatRoom(id: number, roomId: number, t: Transaction): Promise<void> {
    await this.exec('UPDATE posts SET chatRoomId = ? WHERE id = ?', [roomId, id], t);
  }

  /** The row alone, locked: likes, comments, photos and edits of one post are serialized on it. */
  async lockPost(id: number, t: Transaction): Promise<PostBase | null> {
    const rows = await this.select<PostBase>(`SELECT ${BASE_COLS} FROM posts p WHERE p.id = ? FOR UPDATE`, [id], t);
    return rows[0] ?? null;
  }

  async findPost(id: number, t?: Transaction): Promise<PostRow | null> {
    const rows = await this.select<PostRow>(`SELECT ${COLS} ${FROM} WHERE p.id = ?`, [id], t);
    return rows[0] ?? null;
  }

  /** Soft delete: the row stays (counters, reports and the room refer to it) but leaves every list. */
  async deletePost(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE posts SET listed = 0, deletedAt = ?, updatedAt = ?, geoVersion = geoVersion + 1 WHERE id = ?',
      [now, now, id],
      t,
    );
  }

  /** Hidden by reports (or shown again); `listed` follows, and the geo version moves with it. */
  async setPostHidden(id: number, hidden: boolean, now: Date, t: Transaction): Promise<boolean> {
    return (
      (await this.exec(
        `UPDATE posts SET hiddenAt = ?, listed = IF(? AND deletedAt IS NULL, 1, 0), geoVersion = geoVersion + 1
          WHERE id = ? AND deletedAt IS NULL`,
        [hidden ? now : null, hidden ? 0 : 1, id],
        t,
      )) === 1
    );
  }

  // --- word prefixes (the q walk's table) --------------------------------------------------------

  /** A post's rows in the prefix table (inside the transaction that writes its text). */
  async addWordPrefixes(postId: number, createdAt: Date, keys: string[], t: Transaction): Promise<void> {
    if (!keys.length) return;
    await this.exec(
      `INSERT IGNORE INTO post_word_prefixes (prefix, createdAt, postId) VALUES ${keys.map(() => '(?, ?, ?)').join(', ')}`,
      keys.flatMap((k) => [k, createdAt, postId]),
      t,
    );
  }

  /** Removes a post's rows by their full key, computed from the text being replaced. */
  async dropWordPrefixes(postId: number, createdAt: Date, keys: string[], t: Transaction): Promise<void> {
    if (!keys.length) return;
    await this.exec(
      'DELETE FROM post_word_prefixes WHERE prefix IN (?) AND createdAt = ? AND postId = ?',
      [keys, createdAt, postId],
      t,
    );
  }

  // --- nearby -------------------------------------------------------------------------------------

  /** The rows among `ids` that are listed and pass `filter` (the nearby search sorts by distance). */
  filterIds(ids: number[], filter: SqlFilter, tag?: string): Promise<PostRow[]> {
    const list = idList(ids);
    if (!list) return Promise.resolve([]);
    const where = [`p.id IN (${list})`, 'p.listed = 1', ...filter.where];
    const replacements = [...filter.replacements];
    if (tag) {
      where.push('EXISTS (SELECT 1 FROM post_tags t WHERE t.postId = p.id AND t.tag = ?)');
      replacements.push(tag);
    }
    return this.select<PostRow>(`SELECT ${COLS} ${FROM} WHERE ${where.join(' AND ')}`, replacements);
  }

  // --- photos ------------------------------------------------------------------------------------

  async insertPhoto(postId: number, url: string, thumbnailUrl: string, now: Date, t: Transaction): Promise<number> {
    const id = await this.insertId(
      'INSERT INTO post_photos (postId, url, thumbnailUrl, createdAt) VALUES (?, ?, ?, ?)',
      [postId, url, thumbnailUrl, now],
      t,
    );
    await this.exec('UPDATE posts SET photoCount = photoCount + 1 WHERE id = ?', [postId], t);
    return id;
  }

  async findPhoto(postId: number, photoId: number, t: Transaction): Promise<PhotoRow | null> {
    const rows = await this.select<PhotoRow>(
      'SELECT id, postId, url, thumbnailUrl FROM post_photos WHERE id = ? AND postId = ?',
      [photoId, postId],
      t,
    );
    return rows[0] ?? null;
  }

  async deletePhoto(postId: number, photoId: number, t: Transaction): Promise<void> {
    if (await this.exec('DELETE FROM post_photos WHERE id = ? AND postId = ?', [photoId, postId], t))
      await this.exec('UPDATE posts SET photoCount = photoCount - 1 WHERE id = ?', [postId], t);
  }

  /** Every photo of a post, removed (the caller schedules the objects' deletion). */
  async deleteAllPhotos(postId: number, t: Transaction): Promise<PhotoRow[]> {
    const rows = await this.select<PhotoRow>(
      'SELECT id, postId, url, thumbnailUrl FROM post_photos WHERE postId = ? FOR UPDATE',
      [postId],
      t,
    );
    await this.exec('DELETE FROM post_photos WHERE postId = ?', [postId], t);
    await this.exec('UPDATE posts SET photoCount = 0 WHERE id = ?', [postId], t);
    return rows;
  }

  photosOf(postIds: number[]): Promise<PhotoRow[]> {
    const list = idList(postIds);
    if (!list) return Promise.resolve([]);
    return this.select<PhotoRow>(
      `SELECT id, postId, url, thumbnailUrl FROM post_photos WHERE postId IN (${list}) ORDER BY id`,
      [],
    );
  }

  // --- likes -------------------------------------------------------------------------------------

  /** Of `postIds`, those `userId` likes. */
  async likedPosts(userId: number, postIds: number[]): Promise<Set<number>> {
    const list = idList(postIds);
    if (!list) return new Set();
    const rows = await this.select<{ postId: number }>(
      `SELECT postId FROM post_likes WHERE userId = ? AND postId IN (${list})`,
      [userId],
    );
    return new Set(rows.map((r) => Number(r.postId)));
  }

  async likedComments(userId: number, commentIds: number[]): Promise<Set<number>> {
    const list = idList(commentIds);
    if (!list) return new Set();
    const rows = await this.select<{ commentId: number }>(
      `SELECT commentId FROM comment_likes WHERE userId = ? AND commentId IN (${list})`,
      [userId],
    );
    return new Set(rows.map((r) => Number(r.commentId)));
  }

  /**
   * Of `userIds`, those with no block either way with the post's author (`notBlocked` is the safety
   * module's condition on `x.id`): one query for a whole batch of likers.
   */
  async usersNotBlocked(userIds: number[], notBlocked: { sql: string; replacements: unknown[] }, t?: Transaction) {
    const rows = await this.select<{ id: number }>(
      `SELECT x.id FROM users x WHERE x.id IN (?) AND ${notBlocked.sql}`,
      [userIds, ...notBlocked.replacements],
      t,
    );
    return new Set(rows.map((r) => Number(r.id)));
  }

  /**
   * One batch of likes and unlikes of a post by distinct users, counted exactly: the rows really
   * inserted (INSERT IGNORE … RETURNING) and really deleted (DELETE … RETURNING) move likeCount by
   * their difference in one UPDATE, which is also the first lock the batch takes on the post row (it
   * refuses a deleted post: 'gone', the caller rolls back). Then the activity buckets (post row, then
   * bucket, the order every writer uses): today's gains the new likes, and each removed like leaves
   * the bucket of its day while that day is still in the window. Answers the new likeCount.
   */
  async applyPostLikes(
    postId: number,
    batch: { like: number[]; unlike: number[] },
    now: Date,
    dayOf: (d: Date) => string,
    t: Transaction,
  ): Promise<number | 'gone'> {
    const added = batch.like.length
      ? await this.select<{ userId: number }>(
          `INSERT IGNORE INTO post_likes (postId, userId, createdAt) VALUES ${batch.like.map(() => '(?, ?, ?)').join(', ')}
           RETURNING userId`,
          batch.like.flatMap((userId) => [postId, userId, now]),
          t,
        )
      : [];
    const removed = batch.unlike.length
      ? await this.select<{ createdAt: Date }>(
          'DELETE FROM post_likes WHERE postId = ? AND userId IN (?) RETURNING createdAt',
          [postId, batch.unlike],
          t,
        )
      : [];
    // Nothing changed (every like existed, every unlike was gone): no lock, no write.
    const counted =
      !added.length && !removed.length
        ? 1
        : await this.exec(
            'UPDATE posts SET likeCount = likeCount + ?, recentScore = recentScore + ? WHERE id = ? AND deletedAt IS NULL',
            [added.length - removed.length, added.length, postId],
            t,
          );
    if (!counted) return 'gone';
    if (added.length)
      await this.exec(
        'INSERT INTO post_activity (postId, day, score) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE score = score + VALUES(score)',
        [postId, dayOf(now), added.length],
        t,
      );
    const perDay = new Map<string, number>();
    for (const r of removed) {
      const day = dayOf(new Date(r.createdAt));
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    for (const [day, n] of perDay) {
      if (
        await this.exec('UPDATE post_activity SET score = score - ? WHERE postId = ? AND day = ?', [n, postId, day], t)
      )
        await this.exec('UPDATE posts SET recentScore = recentScore - ? WHERE id = ?', [n, postId], t);
    }
    const [row] = await this.select<{ likeCount: number }>('SELECT likeCount FROM posts WHERE id = ?', [postId], t);
    return Number(row.likeCount);
  }

  async addCommentLike(commentId: number, userId: number, now: Date, t: Transaction): Promise<boolean> {
    const added =
      (await this.exec(
        'INSERT IGNORE INTO comment_likes (commentId, userId, createdAt) VALUES (?, ?, ?)',
        [commentId, userId, now],
        t,
      )) === 1;
    if (added) await this.exec('UPDATE post_comments SET likeCount = likeCount + 1 WHERE id = ?', [commentId], t);
    return added;
  }

  async removeCommentLike(commentId: number, userId: number, t: Transaction): Promise<boolean> {
    const removed =
      (await this.exec('DELETE FROM comment_likes WHERE commentId = ? AND userId = ?', [commentId, userId], t)) === 1;
    if (removed)
      await this.exec(
        'UPDATE post_comments SET likeCount = likeCount - 1 WHERE id = ? AND likeCount > 0',
        [commentId],
        t,
      );
    return removed;
  }

  async commentLikeState(
    commentId: number,
    userId: number,
    t: Transaction,
  ): Promise<{ likeCount: number; likedByMe: boolean }> {
    const [row] = await this.select<{ likeCount: number; mine: number }>(
      `SELECT c.likeCount, EXISTS (SELECT 1 FROM comment_likes l WHERE l.commentId = c.id AND l.userId = ?) AS mine
         FROM post_comments c WHERE c.id = ?`,
      [userId, commentId],
      t,
    );
    return { likeCount: Number(row.likeCount), likedByMe: Boolean(Number(row.mine)) };
  }

  // --- popularity (7-day window in day buckets) -------------------------------------------------

  /** Adds `delta` to a post's bucket of `day` and to its recentScore. The caller holds the post lock. */
  async bumpActivity(postId: number, day: string, delta: number, t: Transaction): Promise<void> {
    await this.exec(
      'INSERT INTO post_activity (postId, day, score) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE score = score + VALUES(score)',
      [postId, day, delta],
      t,
    );
    await this.exec('UPDATE posts SET recentScore = recentScore + ? WHERE id = ?', [delta, postId], t);
  }

  /**
   * Takes back one unit of activity made on `day`, if that day's bucket is still in the window (a
   * like older than the window no longer counts, so its removal changes nothing).
   */
  async dropActivity(postId: number, day: string, t: Transaction): Promise<void> {
    if (await this.exec('UPDATE post_activity SET score = score - 1 WHERE postId = ? AND day = ?', [postId, day], t))
      await this.exec('UPDATE posts SET recentScore = recentScore - 1 WHERE id = ?', [postId], t);
  }

  /**
   * Expires buckets older than `firstDay` (a batch, claimed with SKIP LOCKED): each bucket's score
   * leaves its post's recentScore in the same transaction, so the score is always the sum of the
   * buckets still in the window. Returns how many buckets went.
   */
  async expireActivity(firstDay: string, limit: number, t: Transaction): Promise<number> {
    const rows = await this.select<{ postId: number; day: string; score: number }>(
      `SELECT postId, day, score FROM post_activity WHERE day < ? ORDER BY day, postId LIMIT ${Math.trunc(limit)}
        FOR UPDATE SKIP LOCKED`,
      [firstDay],
      t,
    );
    for (const r of rows) {
      if (Number(r.score))
        await this.exec('UPDATE posts SET recentScore = recentScore - ? WHERE id = ?', [r.score, r.postId], t);
      await this.exec('DELETE FROM post_activity WHERE postId = ? AND day = ?', [r.postId, r.day], t);
    }
    return rows.length;
  }

  // --- comments ----------------------------------------------------------------------------------

  insertComment(
    c: { postId: number; parentId: number | null; authorId: number; body: string },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    return this.insertId(
      'INSERT INTO post_comments (postId, parentId, authorId, body, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
      [c.postId, c.parentId, c.authorId, c.body, now, now],
      t,
    );
  }

  async findComment(id: number, t?: Transaction, lock = false): Promise<CommentRow | null> {
    const rows = await this.select<CommentRow>(
      `SELECT ${COMMENT_COLS} ${COMMENT_FROM} WHERE c.id = ?${lock ? ' FOR UPDATE' : ''}`,
      [id],
      t,
    );
    return rows[0] ?? null;
  }

  async findComments(ids: number[]): Promise<CommentRow[]> {
    const list = idList(ids);
    if (!list) return [];
    return this.select<CommentRow>(`SELECT ${COMMENT_COLS} ${COMMENT_FROM} WHERE c.id IN (${list})`, []);
  }

  /** Counters of the post (and parent) for a comment that appears (+1) or goes (−1). */
  async countComment(postId: number, parentId: number | null, delta: 1 | -1, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE posts SET commentCount = commentCount + ? WHERE id = ? AND commentCount + ? >= 0',
      [delta, postId, delta],
      t,
    );
    if (parentId !== null)
      await this.exec(
        'UPDATE post_comments SET replyCount = replyCount + ? WHERE id = ? AND replyCount + ? >= 0',
        [delta, parentId, delta],
        t,
      );
  }

  async editComment(id: number, body: string, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE post_comments SET body = ?, editedAt = ?, updatedAt = ? WHERE id = ?',
      [body, now, now, id],
      t,
    );
  }

  /** Marks deleted and empties the body (a comment with replies stays as a tombstone). */
  async deleteComment(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      "UPDATE post_comments SET deletedAt = ?, body = '', updatedAt = ? WHERE id = ? AND deletedAt IS NULL",
      [now, now, id],
      t,
    );
  }

  async setCommentHidden(id: number, hidden: boolean, now: Date, t: Transaction): Promise<boolean> {
    return (await this.exec('UPDATE post_comments SET hiddenAt = ? WHERE id = ?', [hidden ? now : null, id], t)) === 1;
  }

  /**
   * Comments of a post (top level: `parentId` null) or replies of a comment, oldest first, after an
   * id. Deleted ones appear only while they have replies (as tombstones); hidden ones never.
   */
  listComments(
    where: { postId: number } | { parentId: number },
    filter: SqlFilter,
    afterId: number,
    limit: number,
  ): Promise<CommentRow[]> {
    const conds = 'postId' in where ? ['c.postId = ?', 'c.parentId IS NULL'] : ['c.parentId = ?'];
    const replacements: unknown[] = ['postId' in where ? where.postId : where.parentId];
    conds.push('c.hiddenAt IS NULL', '(c.deletedAt IS NULL OR c.replyCount > 0)', 'c.id > ?', ...filter.where);
    replacements.push(afterId, ...filter.replacements);
    return this.select<CommentRow>(
      `SELECT ${COMMENT_COLS} ${COMMENT_FROM} WHERE ${conds.join(' AND ')} ORDER BY c.id LIMIT ${Math.trunc(limit)}`,
      replacements,
    );
  }

  // --- reindex -----------------------------------------------------------------------------------

  async indexedGeoBatch(afterId: number, limit: number): Promise<GeoPoint[]> {
    const rows = await this.select<{ id: number; lat: number; lng: number; geoVersion: number }>(
      `SELECT id, lat, lng, geoVersion FROM posts WHERE listed = 1 AND lat IS NOT NULL AND id > ? ORDER BY id LIMIT ?`,
      [afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, lat: Number(r.lat), lng: Number(r.lng), version: Number(r.geoVersion) }));
  }

  async countIndexed(): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM posts WHERE listed = 1 AND lat IS NOT NULL',
      [],
    );
    return Number(row.n);
  }
}

/** The columns a post is shown from (community.presenter toPost): a full row, or a feed page's row. */
export type ShownPostRow = Pick<
  PostRow,
  | 'id'
  | 'authorId'
  | 'kind'
  | 'title'
  | 'body'
  | 'tagsJson'
  | 'lat'
  | 'lng'
  | 'address'
  | 'likeCount'
  | 'commentCount'
  | 'chatRoomId'
  | 'createdAt'
  | 'editedAt'
  | 'authorNickname'
  | 'authorAvatarUrl'
  | 'authorDeletedAt'
>;

/** A feed page's row: what the list shows and what its cursor needs, nothing else. */
export interface FeedRow extends ShownPostRow, Pick<PostRow, 'recentScore'> {
  /** 1 when the viewer likes the post. */
  likedByMe: number;
  /** The photos as `id US url US thumbnailUrl` records joined by RS (ASCII 31 and 30; null without photos). */
  photosText: string | null;
}

/** What every feed page takes besides its keyset position: an optional tag and the rows to read. */
export interface FeedPage {
  tag?: string;
  limit: number;
}

const FEED_COLS = `p.id, p.authorId, p.kind, p.title, p.body, p.tagsJson, p.lat, p.lng, p.address, p.likeCount,
  p.commentCount, p.recentScore, p.chatRoomId, p.editedAt, p.createdAt,
  u.nickname AS authorNickname, u.avatarUrl AS authorAvatarUrl, u.deletedAt AS authorDeletedAt,
  ml.userId IS NOT NULL AS likedByMe,
  IF(p.photoCount = 0, NULL, (SELECT GROUP_CONCAT(ph.id, CHAR(31 USING utf8mb4), ph.url, CHAR(31 USING utf8mb4),
    ph.thumbnailUrl SEPARATOR 0x1e) FROM post_photos ph WHERE ph.postId = p.id)) AS photosText`;
/**
 * What a page shows the viewer besides the row comes in the same statement: my like (an outer join on
 * the likes' primary key, one probe per row) and the photos (the select-list subquery above, run for
 * the rows sent, after ORDER BY … LIMIT, and only for posts that have photos).
 *
 * The photos are plain text, records joined by ASCII RS, fields by US (stored keys and URLs never hold
 * control characters), ordered by the reader: a JSON function (JSON_ARRAYAGG, JSON_OBJECT, even
 * JSON_QUOTE) or an ORDER BY in that subquery made every page's statement cost about 0.4–0.5 ms more of
 * the server's CPU, photos or none, twice the raw page query (docs/BENCHMARKS.md, Community).
 */
const myLike = 'LEFT JOIN post_likes ml ON ml.postId = p.id AND ml.userId = ?';

/**
 * The feed's pages (GET /posts), each one statement on the hot-reads pool (src/infra/hot-reads.ts):
 * autocommit SELECTs on the primary, without Sequelize's query layer, which cost more CPU than the
 * driver on this path. Every page is a keyset walk on an index that starts with `listed`, so deleted
 * and report-hidden posts are never read; the filter adds the rest (blocks, kind, author, the login).
 */
export class FeedReads {
  constructor(private readonly db: HotReads) {}

  /**
   * One page by (createdAt, id) descending after `after`. With a tag the walk runs on the tag index
   * (post_tags carries the post's createdAt), otherwise on the posts index the filter names.
   */
  pageRecent(filter: SqlFilter, opts: FeedPage & { after: { at: Date; id: number } | null }): Promise<FeedRow[]> {
    const where = ['p.listed = 1', ...filter.where];
    const replacements = [...filter.replacements];
    let from = FROM;
    let key = { at: 'p.createdAt', id: 'p.id' };
    if (opts.tag) {
      from = `FROM post_tags t JOIN posts p ON p.id = t.postId JOIN users u ON u.id = p.authorId`;
      where.unshift('t.tag = ?');
      replacements.unshift(opts.tag);
      key = { at: 't.createdAt', id: 't.postId' };
    }
    if (opts.after) {
      where.push(`(${key.at} < ? OR (${key.at} = ? AND ${key.id} < ?))`);
      replacements.push(opts.after.at, opts.after.at, opts.after.id);
    }
    return this.db.prepared<FeedRow>(
      `SELECT ${FEED_COLS} ${from} ${myLike} WHERE ${where.join(' AND ')}
        ORDER BY ${key.at} DESC, ${key.id} DESC LIMIT ${Math.trunc(opts.limit)}`,
      [filter.viewerId, ...replacements],
    );
  }

  /**
   * One `recent` page of a q: the prefix table's candidates newest first (its key is the walk's
   * order, so the walk stops after a page), each checked against the post's search document. The
   * walk is capped at `examineAtMost` rows (MariaDB's LIMIT … ROWS EXAMINED ends it with the rows found
   * so far): a short answer is either the end or the cap, and the caller tells them apart.
   */
  async pageByPrefix(
    filter: SqlFilter,
    opts: FeedPage & { walk: PrefixWalk; after: { at: Date; id: number } | null; examineAtMost: number },
  ): Promise<FeedRow[]> {
    const where = ['w.prefix = ?', 'p.listed = 1', ...opts.walk.patterns.map(() => "CONCAT(' ', p.searchText) LIKE ?")];
    const replacements: unknown[] = [opts.walk.key, ...opts.walk.patterns];
    where.push(...filter.where);
    replacements.push(...filter.replacements);
    if (opts.tag) {
      where.push('EXISTS (SELECT 1 FROM post_tags t WHERE t.postId = p.id AND t.tag = ?)');
      replacements.push(opts.tag);
    }
    if (opts.after) {
      where.push('(w.createdAt < ? OR (w.createdAt = ? AND w.postId < ?))');
      replacements.push(opts.after.at, opts.after.at, opts.after.id);
    }
    try {
      return await this.db.prepared<FeedRow>(
        `SELECT ${FEED_COLS} FROM post_word_prefixes w STRAIGHT_JOIN posts p ON p.id = w.postId
           JOIN users u ON u.id = p.authorId ${myLike}
          WHERE ${where.join(' AND ')} ORDER BY w.createdAt DESC, w.postId DESC
          LIMIT ${Math.trunc(opts.limit)} ROWS EXAMINED ${Math.trunc(opts.examineAtMost)}`,
        [filter.viewerId, ...replacements],
      );
    } catch (err) {
      return walkCapped(err);
    }
  }

  /** Whether the prefix has more than `atMost` candidates after `after` (an index-only count). */
  async prefixHasMore(key: string, after: { at: Date; id: number } | null, atMost: number): Promise<boolean> {
    const cond = after ? ' AND (createdAt < ? OR (createdAt = ? AND postId < ?))' : '';
    const [row] = await this.db.rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM post_word_prefixes WHERE prefix = ?${cond} LIMIT ${Math.trunc(atMost) + 1}) x`,
      after ? [key, after.at, after.at, after.id] : [key],
    );
    return Number(row.n) > atMost;
  }

  /** One page by (recentScore, createdAt, id) descending after `after`. */
  pagePopular(
    filter: SqlFilter,
    opts: FeedPage & { after: { score: number; at: Date; id: number } | null },
  ): Promise<FeedRow[]> {
    const where = ['p.listed = 1', ...filter.where];
    const replacements = [...filter.replacements];
    if (opts.tag) {
      where.push('EXISTS (SELECT 1 FROM post_tags t WHERE t.postId = p.id AND t.tag = ?)');
      replacements.push(opts.tag);
    }
    if (opts.after) {
      const a = opts.after;
      where.push('(p.recentScore < ? OR (p.recentScore = ? AND (p.createdAt < ? OR (p.createdAt = ? AND p.id < ?))))');
      replacements.push(a.score, a.score, a.at, a.at, a.id);
    }
    return this.db.prepared<FeedRow>(
      `SELECT ${FEED_COLS} ${FROM} ${myLike} WHERE ${where.join(' AND ')}
        ORDER BY p.recentScore DESC, p.createdAt DESC, p.id DESC LIMIT ${Math.trunc(opts.limit)}`,
      [filter.viewerId, ...replacements],
    );
  }
}

/**
 * When the optimizer sorts instead of following the index, the cap ends the statement with error 1028
 * ("Sort aborted: LIMIT ROWS EXAMINED") rather than partial rows: that too is a short walk. (The
 * driver's own error here; geo-sorted's `capped` reads the one Sequelize wraps.)
 */
function walkCapped(err: unknown): never[] {
  const e = err as { errno?: number; sqlMessage?: string };
  if (e.errno === 1028 && /ROWS EXAMINED/.test(e.sqlMessage ?? '')) return [];
  throw err;
}

/** The columns a post's create and edit both write, each with its value: one list, so the two cannot drift. */
function editableColumns(data: PostWrite): [column: string, value: unknown][] {
  return [
    ['title', data.title],
    ['body', data.body],
    ['tagsJson', JSON.stringify(data.tags)],
    ['lat', data.lat],
    ['lng', data.lng],
    ['address', data.address],
    ['searchText', data.searchText],
  ];
}
