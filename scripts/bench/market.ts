import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import mysql from 'mysql2/promise';
import { MarketRepository } from '../../src/modules/market/market.repository';
import { reindexListingGeo } from '../../src/modules/market/market.listings';
import { searchDocument } from '../../src/modules/search-text';
import { forkReady, load, median, ratio, spread, table, type LoadResult } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { bulkUsers } from './bulk-users';
import { exited, sleep } from './sse';
import { ask } from './ipc';
import { positiveInt, rebuildGeoIndex } from './geo-seed';

/**
 * Issue 16: the market. 100 000 listings around Seoul (bulk-seeded): nearby search at 1, 3 and 10 km
 * with a category and a price filter, next to the raw GEOSEARCH + IN query in the same run (3 runs
 * each, median and spread); then a price drop on a listing that 10 000 users favourited, each with
 * an open notification stream: the time from the seller's answer (the commit) to the last stream.
 *   npm run bench -- --only market [--listings 100000] [--favorites 10000] [--runs 3]
 * Needs `ulimit -n 20000` in the shell for the streams.
 */
const SEOUL = { lat: 37.5665, lng: 126.978 };
const SEED_RADIUS_KM = 15;
const SELLERS = 2000;
const CATEGORIES = ['food', 'toys', 'clothes', 'furniture', 'health', 'other'];
// Not 4190: undici (fetch) refuses it as a "bad port" (ManageSieve).
const PORTS = { api: 4186, raw: 4187 };
const STREAMS_PER_CLIENT = 2500;
const DELIVERY_MAX_MS = 120_000;

export async function marketBench(env: BenchEnv): Promise<{ markdown: string }> {
  const listings = positiveInt('listings', 100_000);
  const favorites = positiveInt('favorites', 10_000);
  const runs = positiveInt('runs', 3);
  const loadAtStart = os.loadavg()[0];
  const base = serverEnv(env, PORTS.api);
  process.stdout.write(`  ${Math.max(SELLERS, favorites + 1)} users\n`);
  const users = await bulkUsers(
    env.databaseUrl,
    base.JWT_SECRET!,
    Math.max(SELLERS, favorites + 1),
    'market',
    3 * 3600,
  );
  const hotId = await seedListings(
    env.databaseUrl,
    listings,
    users.slice(0, SELLERS).map((u) => u.id),
  );
  const fans = users.slice(1, favorites + 1);
  await seedFavorites(
    env.databaseUrl,
    hotId,
    fans.map((u) => u.id),
  );

  const geoKey = await rebuildGeoIndex(env, 'listings', (sequelize, geo, options) =>
    reindexListingGeo(new MarketRepository(sequelize), geo, options),
  );

  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [], { ...base, DB_POOL_MAX: '10' }));
    children.push(
      await forkReady('scripts/bench/market-baseline.js', [String(PORTS.raw), env.databaseUrl, env.redisUrl, geoKey]),
    );
    const seller = users[0];
    const headers = { authorization: `Bearer ${users[SELLERS - 1].token}` };
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const api = `http://127.0.0.1:${PORTS.api}/api/v1`;
    const raw = `http://127.0.0.1:${PORTS.raw}`;
    const filter = 'category=food&maxPrice=30000';
    const rows: (string | number)[][] = [];
    for (const km of [1, 3, 10]) {
      const at = `lat=${SEOUL.lat}&lng=${SEOUL.lng}&radiusKm=${km}&${filter}`;
      const same = await samePage(`${api}/market/listings/nearby?${at}`, `${raw}/nearby?${at}`, headers);
      const a: LoadResult[] = [];
      const r: LoadResult[] = [];
      for (let i = 0; i < runs; i++) {
        a.push(await run(`API ${km} km #${i + 1}`, `${api}/market/listings/nearby?${at}`, { ...opts, headers }));
        r.push(await run(`raw ${km} km #${i + 1}`, `${raw}/nearby?${at}`, opts));
      }
      const ratios = a.map((x, i) => Number(ratio(x.rps, r[i].rps)));
      const failures = [...a, ...r].reduce((n, x) => n + x.non2xx + x.errors, 0);
      rows.push([
        `${km} km`,
        median(a.map((x) => x.rps)),
        spread(a.map((x) => x.rps)),
        median(a.map((x) => x.p99)),
        median(r.map((x) => x.rps)),
        median(r.map((x) => x.p99)),
        `${median(ratios).toFixed(2)} (${spread(ratios)})`,
        same,
        failures || '—',
      ]);
    }
    const loadAfterSearch = os.loadavg()[0];
    const dropRows = await priceDrops(api, hotId, seller.token, fans, runs);
    const markdown =
      `${listings} listings by ${SELLERS} sellers within ${SEED_RADIUS_KM} km of Seoul City Hall (6 categories, prices 0–90 000, ` +
      `90 % on sale), seeded with multi-row INSERTs. Nearby search with \`${filter}\` (about 1 listing in 10 passes), page size 20, ` +
      `one authenticated user, ${opts.connections} connections, ${runs} runs per row (median, spread); each API run is followed by its ` +
      `raw run, so the ratio compares neighbours in time. The raw baseline is one GEOSEARCH (the ${600} nearest) and one IN ` +
      `query with the same filters, without validation, auth, blocks, photos, favourites or cursors. ` +
      `Load average: ${loadAtStart.toFixed(1)} at the start, ${loadAfterSearch.toFixed(1)} after the searches (${os.cpus().length} cores).\n\n` +
      table(
        [
          'radius',
          'API req/s',
          'API spread',
          'API p99 ms',
          'raw req/s',
          'raw p99 ms',
          'API / raw',
          'same page',
          'errors',
        ],
        rows,
      ) +
      `\n\nPrice drop on a listing favourited by ${fans.length} users, each holding a notification stream on the one ` +
      `API instance (load generators in ${Math.ceil(fans.length / STREAMS_PER_CLIENT)} processes). "commit → last" runs from ` +
      `the PATCH's answer (sent after its commit) to the last stream's receipt; the fan-out runs in the outbox, one row per ` +
      `1000 notifications (one transaction each). Target: < 2 s.\n\n` +
      table(
        ['drop', 'PATCH ms', 'delivered', 'commit → last ms', 'p50 receipt ms', 'p99 receipt ms', 'target'],
        dropRows,
      );
    return { markdown };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

async function seedListings(databaseUrl: string, n: number, sellerIds: number[]): Promise<number> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    let rnd = 42;
    const next = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const now = Date.now();
    const words = ['강아지', '고양이', '사료', '장난감', '이동장', 'dog', 'cat', 'bed', 'toy', 'harness'];
    for (let i = 0; i < n; i += 5000) {
      const rows: unknown[][] = [];
      for (let j = i; j < Math.min(n, i + 5000); j++) {
        const d = SEED_RADIUS_KM * Math.sqrt(next());
        const theta = next() * 2 * Math.PI;
        const lat = SEOUL.lat + (d / 111.2) * Math.cos(theta);
        const lng = SEOUL.lng + (d / (111.2 * Math.cos((SEOUL.lat * Math.PI) / 180))) * Math.sin(theta);
        const title = `${words[j % words.length]} ${words[(j * 7) % words.length]} ${j}`;
        const at = new Date(now - Math.floor(next() * 60 * 86_400_000));
        rows.push([
          sellerIds[j % sellerIds.length],
          title,
          '',
          CATEGORIES[Math.floor(next() * CATEGORIES.length)],
          Math.floor(next() * 10) * 10_000,
          next() < 0.9 ? 'on_sale' : next() < 0.5 ? 'reserved' : 'sold',
          lat.toFixed(6),
          lng.toFixed(6),
          'Seoul',
          searchDocument(title, ''),
          at,
          at,
        ]);
      }
      await conn.query(
        `INSERT INTO market_listings (sellerId, title, description, category, price, status, lat, lng, address, searchText,
           createdAt, updatedAt) VALUES ?`,
        [rows],
      );
      process.stdout.write(`\r  listings: ${Math.min(n, i + 5000)}/${n}`);
    }
    process.stdout.write('\n');
    const [res] = await conn.query(
      `INSERT INTO market_listings (sellerId, title, description, category, price, lat, lng, address, searchText, createdAt, updatedAt)
       VALUES (?, 'Hot carrier', '', 'furniture', 50000, ?, ?, 'Seoul', 'zqhot', NOW(3), NOW(3))`,
      [sellerIds[0], SEOUL.lat, SEOUL.lng],
    );
    return Number((res as { insertId: number }).insertId);
  } finally {
    await conn.end();
  }
}

async function seedFavorites(databaseUrl: string, listingId: number, userIds: number[]) {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    for (let i = 0; i < userIds.length; i += 5000)
      await conn.query('INSERT INTO market_favorites (listingId, userId, createdAt) VALUES ?', [
        userIds.slice(i, i + 5000).map((u) => [listingId, u, new Date()]),
      ]);
    await conn.query('UPDATE market_listings SET favoriteCount = ? WHERE id = ?', [userIds.length, listingId]);
  } finally {
    await conn.end();
  }
}

/** Opens a stream per fan, then lowers the price `runs` times, each time waiting for every stream's event. */
async function priceDrops(
  api: string,
  listingId: number,
  sellerToken: string,
  fans: { token: string }[],
  runs: number,
): Promise<(string | number)[][]> {
  const port = Number(new URL(api).port);
  const clients: ChildProcess[] = [];
  try {
    for (let i = 0; i * STREAMS_PER_CLIENT < fans.length; i++)
      clients.push(await forkReady('scripts/bench/sse-clients.js', [String(port), `market-${i}`]));
    const opened = (
      await Promise.all(
        clients.map((c, i) =>
          ask<{ opened: number }>(
            c,
            'open',
            {
              port,
              path: '/api/v1/notifications/stream',
              tokens: fans.slice(i * STREAMS_PER_CLIENT, (i + 1) * STREAMS_PER_CLIENT).map((f) => f.token),
              concurrency: 50,
            },
            300_000,
          ),
        ),
      )
    ).reduce((n, o) => n + o.opened, 0);
    process.stdout.write(`  ${opened}/${fans.length} streams open\n`);
    const rows: (string | number)[][] = [];
    let expected = 0;
    for (let k = 0; k < runs; k++) {
      expected += opened;
      const sent = Date.now();
      const res = await fetch(`${api}/market/listings/${listingId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${sellerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ price: 45_000 - k * 5000 }),
      });
      await res.arrayBuffer();
      const answered = Date.now();
      if (res.status !== 200) throw new Error(`PATCH → ${res.status}`);
      let received = 0;
      while (Date.now() - answered < DELIVERY_MAX_MS) {
        const counts = await Promise.all(clients.map((c) => ask<{ received: number }>(c, 'count')));
        received = counts.reduce((a, c) => a + c.received, 0);
        if (received >= expected) break;
        await sleep(50);
      }
      const stats = await Promise.all(clients.map((c) => ask<{ receivedAt: number[] }>(c, 'stats')));
      const mine = stats.flatMap((s) => s.receivedAt).filter((t) => t >= sent);
      const last = mine.length ? Math.max(...mine) : NaN;
      const since = mine.map((t) => t - answered).sort((a, b) => a - b);
      const pct = (p: number) => since[Math.min(since.length - 1, Math.ceil((p / 100) * since.length) - 1)] ?? NaN;
      const total = last - answered;
      process.stdout.write(`  drop ${k + 1}: ${mine.length}/${opened} delivered, last ${total} ms after the answer\n`);
      rows.push([
        k + 1,
        answered - sent,
        `${mine.length}/${opened}`,
        received >= expected ? total : 'incomplete',
        pct(50),
        pct(99),
        received >= expected && total < 2000 ? '✔ < 2 s' : '✘',
      ]);
      await sleep(1000);
    }
    await Promise.all(clients.map((c) => ask(c, 'close')));
    return rows;
  } finally {
    for (const c of clients) c.kill('SIGTERM');
    await Promise.all(clients.map(exited));
  }
}

async function samePage(apiUrl: string, rawUrl: string, headers: Record<string, string>): Promise<string> {
  const [a, r] = await Promise.all([fetch(apiUrl, { headers }), fetch(rawUrl)]).catch(
    (err: Error & { cause?: Error }) => {
      throw new Error(`probe: ${err.message} (${err.cause?.message ?? 'no cause'}) at ${apiUrl}`);
    },
  );
  if (a.status !== 200 || r.status !== 200)
    throw new Error(`probe: API ${a.status} ${await a.text()}, raw ${r.status}`);
  const ids = async (res: Response) => ((await res.json()) as { items: { id: number }[] }).items.map((i) => i.id);
  const [x, y] = await Promise.all([ids(a), ids(r)]);
  if (!x.length) throw new Error(`probe: the API found nothing at ${apiUrl}`);
  return x.join() === y.join() ? `yes (${x.length})` : 'NO';
}

async function run(
  name: string,
  url: string,
  opts: { duration: number; connections: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const r = await load(name, url, opts);
  process.stdout.write(
    `  ${name}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}\n`,
  );
  return r;
}
