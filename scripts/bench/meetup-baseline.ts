/**
 * The meetups benchmark's baseline: the least work a nearby search can do, as a child process so it
 * does not share the load generator's core:
 *   node dist/scripts/bench/meetup-baseline.js <port> <DATABASE_URL> <REDIS_URL> <geo key>
 * GET /nearby?lat&lng&radiusKm[&tag][&free=1]&sort=distance|startsAt answers from one GEOSEARCH and
 * one MySQL `IN` query with the same filters and host join as the API, but without validation, auth
 * or cursors. sort=distance asks for COUNT 4 × page once, so a selective filter may return a short
 * page; with `exact=1` it is the naive exact form of the same query: while the page is short and the
 * circle not exhausted, GEOSEARCH again with twice the COUNT and send MySQL only the new candidates.
 * That is the fair baseline for an exact first page (docs/BENCHMARKS.md, issue 20).
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
    const args = (count: number | null): (string | number)[] => [
      'FROMLONLAT',
      lng,
      lat,
      'BYRADIUS',
      km,
      'km',
      'ASC',
      ...(count === null ? [] : ['COUNT', count]),
      'WITHDIST',
    ];
    const sql = `SELECT ${COLS} FROM meetups m JOIN users u ON u.id = m.hostId WHERE m.id IN (?) AND ${where.join(' AND ')}`;
    const exact = !byStart && req.query.exact === '1';
    const items: { id: number; distanceKm: number }[] = [];
    let sent = 0;
    for (let count = 4 * PAGE; ; count *= 2) {
      const hits = (await redis.call('GEOSEARCH', geoKey, ...args(byStart ? null : count))) as [string, string][];
      const fresh = hits.slice(sent);
      if (!fresh.length) break;
      const dist = new Map(fresh.map(([id, d]) => [Number(id), Number(d)]));
      const [rows] = await pool.query(byStart ? `${sql} ORDER BY m.startsAt, m.id LIMIT ${PAGE}` : sql, [
        [...dist.keys()],
        ...params,
      ]);
      for (const r of rows as { id: number }[]) items.push({ ...r, distanceKm: dist.get(r.id)! });
      sent = hits.length;
      if (!exact || items.length >= PAGE || hits.length < count) break;
    }
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
