/**
 * The meetups benchmark's baseline: the least work a nearby search can do, as a child process so it
 * does not share the load generator's core:
 *   node dist/scripts/bench/meetup-baseline.js <port> <DATABASE_URL> <REDIS_URL> <geo key>
 * GET /nearby?lat&lng&radiusKm[&tag][&free=1]&sort=distance|startsAt answers from one GEOSEARCH and
 * one MySQL `IN` query with the same filters and host join as the API, but without validation, auth,
 * cursors or the API's extra rounds (sort=distance asks for COUNT 4 × page once, so a selective
 * filter may return a short page: that exactness is what the API pays for).
 */
import express from 'express';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';

const PAGE = 20;
const COLS = `m.id, m.hostId, m.title, m.description, m.lat, m.lng, m.address, m.startsAt, m.endsAt, m.capacity,
  m.participantCount, m.tagsJson, m.petSmall, m.petMedium, m.petLarge, m.status, m.chatRoomId, m.createdAt, m.updatedAt,
  u.nickname AS hostNickname, u.avatarUrl AS hostAvatarUrl`;

async function main() {
  const [portArg, dbUrl, redisUrl, geoKey] = process.argv.slice(2);
  const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
  const redis = new Redis(redisUrl);
  const app = express();
  app.get('/nearby', async (req, res) => {
    const lat = Number(req.query.lat);
    const lng = Number(req.query.lng);
    const km = Number(req.query.radiusKm);
    const byStart = req.query.sort === 'startsAt';
    const where = ["m.status = 'scheduled'", 'u.deletedAt IS NULL', 'm.startsAt > ?'];
    const params: unknown[] = [new Date()];
    if (typeof req.query.tag === 'string') {
      where.push('EXISTS (SELECT 1 FROM meetup_tags t WHERE t.meetupId = m.id AND t.tag = ?)');
      params.push(req.query.tag);
    }
    if (req.query.free === '1') where.push('m.participantCount < m.capacity');
    // Distance order needs only the nearest few; start order needs the whole circle, as in the API.
    const args: (string | number)[] = [
      'FROMLONLAT',
      lng,
      lat,
      'BYRADIUS',
      km,
      'km',
      'ASC',
      ...(byStart ? [] : ['COUNT', 4 * PAGE]),
      'WITHDIST',
    ];
    const hits = (await redis.call('GEOSEARCH', geoKey, ...args)) as [string, string][];
    if (!hits.length) return void res.json({ items: [] });
    const dist = new Map(hits.map(([id, d]) => [Number(id), Number(d)]));
    const sql = `SELECT ${COLS} FROM meetups m JOIN users u ON u.id = m.hostId WHERE m.id IN (?) AND ${where.join(' AND ')}`;
    const [rows] = await pool.query(byStart ? `${sql} ORDER BY m.startsAt, m.id LIMIT ${PAGE}` : sql, [
      [...dist.keys()],
      ...params,
    ]);
    const items = (rows as { id: number }[]).map((r) => ({ ...r, distanceKm: dist.get(r.id)! }));
    if (!byStart) items.sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id);
    res.json({ items: items.slice(0, PAGE) });
  });
  // Port 0 lets the OS choose (tests): the bound port goes back with 'ready'. Express 5 hands a
  // listen error to this callback, and a baseline that is not listening must not say it is.
  const server = app.listen(Number(portArg), '127.0.0.1', (err?: Error) => {
    if (err) {
      process.stderr.write(`meetup-baseline: ${err.message}\n`);
      process.exit(1);
    }
    const address = server.address();
    process.send?.({ ready: true, port: typeof address === 'object' && address ? address.port : Number(portArg) });
  });
  // Never outlive the benchmark that forked it.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`meetup-baseline: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
