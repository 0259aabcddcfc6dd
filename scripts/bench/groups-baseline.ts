/**
 * The groups benchmark's baseline: the gallery page as raw SQL — the same page query and likedByMe
 * lookup as the API — without validation, auth, the membership check, cursors or URL building:
 *   node dist/scripts/bench/groups-baseline.js <port> <DATABASE_URL>
 * GET /gallery?groupId&viewer[&before]
 */
import express from 'express';
import mysql from 'mysql2/promise';

const PAGE = 30;

async function main() {
  const [portArg, dbUrl] = process.argv.slice(2);
  const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
  const app = express();
  app.get('/gallery', async (req, res) => {
    const groupId = Number(req.query.groupId);
    const viewer = Number(req.query.viewer);
    const before = Number(req.query.before ?? 0);
    const [rows] = (await pool.query(
      `SELECT p.id, p.authorId, p.url, p.thumbnailUrl, p.caption, p.likeCount, p.commentCount, p.createdAt,
              u.nickname, u.avatarUrl
         FROM group_photos p JOIN users u ON u.id = p.authorId
        WHERE p.groupId = ? AND (p.hiddenAt IS NULL OR p.authorId = ?) ${before ? 'AND p.id < ?' : ''}
        ORDER BY p.id DESC LIMIT ${PAGE}`,
      before ? [groupId, viewer, before] : [groupId, viewer],
    )) as unknown as [{ id: number }[]];
    const ids = rows.map((r) => r.id);
    const [liked] = ids.length
      ? ((await pool.query('SELECT photoId FROM group_photo_likes WHERE userId = ? AND photoId IN (?)', [
          viewer,
          ids,
        ])) as unknown as [{ photoId: number }[]])
      : [[]];
    const set = new Set(liked.map((l) => l.photoId));
    res.json({ items: rows.map((r) => ({ ...r, likedByMe: set.has(r.id) })) });
  });
  app.listen(Number(portArg), '127.0.0.1', () => process.send?.('ready'));
}

void main();
