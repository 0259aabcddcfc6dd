/**
 * Baseline servers for the benchmarks, run as a child process so they do not share the load
 * generator's core:  node dist/scripts/bench/baselines.js <bare-http|express-mysql2> <port> [DATABASE_URL]
 */
import http from 'node:http';
import express from 'express';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';

async function main() {
  const [kind, portArg, dbUrl] = process.argv.slice(2);
  const port = Number(portArg);
  if (kind === 'bare-http') {
    const body = JSON.stringify({ status: 'ok' });
    http
      .createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      })
      .listen(port, () => process.send?.('ready'));
    return;
  }
  if (kind === 'express-mysql2') {
    const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
    const app = express();
    app.get('/users/:id', async (req, res) => {
      const [rows] = await pool.query(
        'SELECT id, email, nickname, bio, avatarUrl, emailVerifiedAt, isSitter, createdAt FROM users WHERE id = ?',
        [Number(req.params.id)],
      );
      const row = (rows as Record<string, unknown>[])[0];
      if (!row) return void res.status(404).end();
      res.json(row);
    });
    app.listen(port, () => process.send?.('ready'));
    return;
  }
  if (kind === 'geo-raw' || kind === 'mysql-only') {
    const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
    const redis = new Redis(process.argv[5] ?? 'redis://127.0.0.1:6379/0');
    const geoKey = process.argv[6] ?? 'bench:geo:sitters';
    const app = express();
    // The same filters as the API's filtered rows: walking, small pets, at most 30 000 KRW.
    const filterSql = (on: boolean) =>
      on ? ' AND walkingPrice IS NOT NULL AND acceptsSmall = 1 AND walkingPrice <= 30000' : '';
    const COLS =
      'id, userId, headline, boardingPrice, daycarePrice, walkingPrice, dropInPrice, rating, reviewCount, lat, lng';
    app.get('/search', async (req, res) => {
      const lat = Number(req.query.lat);
      const lng = Number(req.query.lng);
      const km = Number(req.query.radiusKm);
      const filters = req.query.filters === '1';
      if (kind === 'geo-raw') {
        // GEOSEARCH for the nearest candidates, then one MySQL query on those ids (no paging logic).
        const hits = (await redis.call(
          'GEOSEARCH',
          geoKey,
          'FROMLONLAT',
          lng,
          lat,
          'BYRADIUS',
          km,
          'km',
          'ASC',
          'COUNT',
          80,
          'WITHDIST',
        )) as [string, string][];
        const dist = new Map(hits.map(([id, d]) => [Number(id), Number(d)]));
        if (!hits.length) return void res.json({ items: [] });
        const [rows] = await pool.query(
          `SELECT ${COLS} FROM sitters WHERE id IN (?) AND active = 1${filterSql(filters)}`,
          [[...dist.keys()]],
        );
        const items = (rows as { id: number }[])
          .map((r) => ({ ...r, distanceKm: dist.get(r.id) }))
          .sort((a, b) => a.distanceKm! - b.distanceKm! || a.id - b.id);
        return void res.json({ items: items.slice(0, 20) });
      }
      // MySQL only: a bounding box on the (lat, lng) index, then the exact sphere distance.
      const dLat = (km / 6372.79756) * (180 / Math.PI);
      const dLng = dLat / Math.cos((lat * Math.PI) / 180);
      const [rows] = await pool.query(
        `SELECT ${COLS}, ST_Distance_Sphere(POINT(lng, lat), POINT(?, ?)) / 1000 AS distanceKm FROM sitters
          WHERE active = 1 AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?${filterSql(filters)}
          HAVING distanceKm <= ? ORDER BY distanceKm, id LIMIT 20`,
        [lng, lat, lat - dLat, lat + dLat, lng - dLng, lng + dLng, km],
      );
      res.json({ items: rows });
    });
    app.listen(port, () => process.send?.('ready'));
    return;
  }
  if (kind === 'map-raw') {
    // What the map view costs at least: one bounding-box count grouped by the same grid cells, from
    // the (active, lat, lng) index, with no users join, blocks, public points or validation.
    const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
    const app = express();
    app.get('/map', async (req, res) => {
      const [minLat, minLng, maxLat, maxLng, cell] = ['minLat', 'minLng', 'maxLat', 'maxLng', 'cell'].map((k) =>
        Number(req.query[k]),
      );
      const [rows] = await pool.query(
        `SELECT COUNT(*) AS n, AVG(lat) AS lat, AVG(lng) AS lng, MIN(id) AS id FROM sitters
          WHERE active = 1 AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?
          GROUP BY FLOOR((lat + 90) / ?), FLOOR((lng + 180) / ?)`,
        [minLat, maxLat, minLng, maxLng, cell, cell],
      );
      res.json({ items: rows });
    });
    app.listen(port, () => process.send?.('ready'));
    return;
  }
  throw new Error(`unknown baseline ${kind}`);
}

void main();
