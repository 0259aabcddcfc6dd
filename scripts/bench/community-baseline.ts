/**
 * The community benchmark's baseline: the same queries as the API, as raw SQL (and one GEOSEARCH),
 * without validation, auth, cursors, blocks, photos or likedByMe:
 *   node dist/scripts/bench/community-baseline.js <port> <DATABASE_URL> <REDIS_URL> <geo key>
 * GET /recent, /popular, /search?q=word (the word-prefix walk), /search-fulltext?q=word (boolean-mode
 * prefix on the marked tokens, what q used before), /nearby?lat&lng&radiusKm.
 */
import express from 'express';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';
import { booleanQuery, prefixQuery } from '../../src/modules/search-text';

const PAGE = 20;
const COLS = `p.id, p.authorId, p.kind, p.title, p.body, p.tagsJson, p.lat, p.lng, p.address, p.likeCount,
  p.commentCount, p.chatRoomId, p.createdAt, p.editedAt, u.nickname, u.avatarUrl`;
const FROM = 'FROM posts p JOIN users u ON u.id = p.authorId';

async function main() {
  const [portArg, dbUrl, redisUrl, geoKey] = process.argv.slice(2);
  const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
  const redis = new Redis(redisUrl);
  const app = express();
  app.get('/recent', async (_req, res) => {
    const [rows] = await pool.query(
      `SELECT ${COLS} ${FROM} WHERE p.listed = 1 ORDER BY p.createdAt DESC, p.id DESC LIMIT ${PAGE}`,
    );
    res.json({ items: rows });
  });
  app.get('/popular', async (_req, res) => {
    const [rows] = await pool.query(
      `SELECT ${COLS} ${FROM} WHERE p.listed = 1 ORDER BY p.recentScore DESC, p.createdAt DESC, p.id DESC LIMIT ${PAGE}`,
    );
    res.json({ items: rows });
  });
  // The API's walk of the word-prefix table (one word of ≥ 2 characters, as the bench sends).
  app.get('/search', async (req, res) => {
    const walk = prefixQuery(String(req.query.q))!;
    const [rows] = await pool.query(
      `SELECT ${COLS} FROM post_word_prefixes w STRAIGHT_JOIN posts p ON p.id = w.postId JOIN users u ON u.id = p.authorId
        WHERE w.prefix = ? AND p.listed = 1 AND ${walk.patterns.map(() => "CONCAT(' ', p.searchText) LIKE ?").join(' AND ')}
        ORDER BY w.createdAt DESC, w.postId DESC LIMIT ${PAGE}`,
      [walk.key, ...walk.patterns],
    );
    res.json({ items: rows });
  });
  // What `q` was before the prefix table: the FULLTEXT prefix match, every match sorted.
  app.get('/search-fulltext', async (req, res) => {
    const [rows] = await pool.query(
      `SELECT ${COLS} ${FROM} WHERE p.listed = 1 AND MATCH (p.searchText) AGAINST (? IN BOOLEAN MODE)
        ORDER BY p.createdAt DESC, p.id DESC LIMIT ${PAGE}`,
      [booleanQuery(String(req.query.q))],
    );
    res.json({ items: rows });
  });
  app.get('/nearby', async (req, res) => {
    const hits = (await redis.call(
      'GEOSEARCH',
      geoKey,
      'FROMLONLAT',
      Number(req.query.lng),
      Number(req.query.lat),
      'BYRADIUS',
      Number(req.query.radiusKm),
      'km',
      'ASC',
      'COUNT',
      4 * PAGE,
      'WITHDIST',
    )) as [string, string][];
    if (!hits.length) return void res.json({ items: [] });
    const dist = new Map(hits.map(([id, d]) => [Number(id), Number(d)]));
    const [rows] = await pool.query(`SELECT ${COLS} ${FROM} WHERE p.id IN (?) AND p.listed = 1`, [[...dist.keys()]]);
    const items = (rows as { id: number }[]).map((r) => ({ ...r, distanceKm: dist.get(r.id)! }));
    items.sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id);
    res.json({ items: items.slice(0, PAGE) });
  });
  const server = app.listen(Number(portArg), '127.0.0.1', (err?: Error) => {
    if (err) {
      process.stderr.write(`community-baseline: ${err.message}\n`);
      process.exit(1);
    }
    const address = server.address();
    process.send?.({ ready: true, port: typeof address === 'object' && address ? address.port : Number(portArg) });
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`community-baseline: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
