/**
 * The market benchmark's baseline: nearby listings with a category and price filter as one GEOSEARCH
 * (nearest first, the CANDIDATES nearest) and one IN query with the filters, without validation,
 * auth, cursors, blocks, photos or favouritedByMe:
 *   node dist/scripts/bench/market-baseline.js <port> <DATABASE_URL> <REDIS_URL> <geo key>
 * GET /nearby?lat&lng&radiusKm&category&maxPrice.
 */
import express from 'express';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';

const PAGE = 20;
/** Enough candidates for a page at the benchmark's filter pass rate (about 1 in 10). */
const CANDIDATES = 600;
const COLS = `l.id, l.sellerId, l.title, l.description, l.category, l.price, l.status, l.buyerId, l.lat, l.lng,
  l.address, l.favoriteCount, l.offerCount, l.createdAt, l.updatedAt, u.nickname, u.avatarUrl`;

async function main() {
  const [portArg, dbUrl, redisUrl, geoKey] = process.argv.slice(2);
  const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
  const redis = new Redis(redisUrl);
  const app = express();
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
      CANDIDATES,
      'WITHDIST',
    )) as [string, string][];
    if (!hits.length) return void res.json({ items: [] });
    const dist = new Map(hits.map(([id, d]) => [Number(id), Number(d)]));
    const [rows] = await pool.query(
      `SELECT ${COLS} FROM market_listings l JOIN users u ON u.id = l.sellerId
        WHERE l.id IN (?) AND l.listed = 1 AND l.status = 'on_sale' AND l.category = ? AND l.price <= ?`,
      [[...dist.keys()], String(req.query.category), Number(req.query.maxPrice)],
    );
    const items = (rows as { id: number }[]).map((r) => ({ ...r, distanceKm: dist.get(r.id)! }));
    items.sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id);
    res.json({ items: items.slice(0, PAGE) });
  });
  const server = app.listen(Number(portArg), '127.0.0.1', (err?: Error) => {
    if (err) {
      process.stderr.write(`market-baseline: ${err.message}\n`);
      process.exit(1);
    }
    process.send?.({ ready: true });
  });
  process.on('disconnect', () => {
    server.close();
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`market-baseline: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
