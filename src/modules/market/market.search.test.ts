import { QueryTypes } from 'sequelize';
import { TestContext, ManualClock, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { haversineMeters } from '../../infra/geo';
import { searchDocument } from '../search-text';
import { run as reindexCli } from '../../../scripts/reindex-geo';
import { listingsGeoIndex, type MarketServices } from './market.module';
import { CATEGORIES, STATUSES, type Category, type ListingStatus } from './market.schemas';
import { prng } from '../../../test/helpers/random';

/**
 * Search exactness: a few hundred random listings (exact duplicate points, equal prices and
 * creation times, so every sort has ties), random filters and sorts, every page walked with a small
 * limit, compared with a brute-force haversine over the same rows; both plans of the key sorts (the
 * circle's ids, and the capped index walk with its fallback).
 */
const clock = new ManualClock('2027-03-01T03:00:00.000Z');
const SEED = Number(process.env.SEARCH_SEED ?? Date.now() % 1_000_000);
let ctx: TestContext;
let api: TestInstance;
let market: MarketServices;
let viewer: Session;
let blockedSeller: Session;

const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

const CENTER = { lat: 37.5547, lng: 126.9707 };
const CLUSTER = { lat: 37.56, lng: 126.98 };
const WORDS = ['강아지 사료', '고양이 장난감', 'dog bed', '산책 하네스', 'cat tower', '강아지가 좋아하는 간식'];

interface Seeded {
  id: number;
  sellerId: number;
  lat: number;
  lng: number;
  category: Category;
  price: number;
  status: ListingStatus;
  title: string;
  createdAt: Date;
  listed: boolean;
}
const seeded: Seeded[] = [];

function around(c: { lat: number; lng: number }, km: number) {
  const d = km * Math.sqrt(rnd());
  const theta = rnd() * 2 * Math.PI;
  return {
    lat: Math.round((c.lat + (d / 111.2) * Math.cos(theta)) * 1e6) / 1e6,
    lng: Math.round((c.lng + (d / (111.2 * Math.cos((c.lat * Math.PI) / 180))) * Math.sin(theta)) * 1e6) / 1e6,
  };
}

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
  market = api.pawmate.services.market;
  viewer = await signup(api);
  blockedSeller = await signup(api);
  const sellers = [await signup(api), await signup(api), await signup(api), blockedSeller];
  await api.http.put(`/api/v1/users/${blockedSeller.user.id}/block`).set(bearer(viewer.accessToken)).expect(204);
  const base = new Date('2027-02-01T00:00:00.000Z').getTime();
  const rows: unknown[][] = [];
  for (let i = 0; i < 360; i++) {
    const pos = i % 10 === 0 ? CLUSTER : around(CENTER, i % 6 === 0 ? 30 : 10);
    const title = pick(WORDS);
    const s = {
      sellerId: pick(sellers).user.id,
      ...pos,
      category: pick(CATEGORIES),
      price: pick([0, 5000, 10000, 10000, 25000, 70000]),
      status: rnd() < 0.7 ? ('on_sale' as const) : pick(STATUSES),
      title,
      // Whole minutes: equal creation times, so `recent` has ties.
      createdAt: new Date(base + Math.floor(rnd() * 50) * 60_000),
      listed: rnd() > 0.07,
    };
    rows.push([
      s.sellerId,
      s.title,
      '',
      s.category,
      s.price,
      s.status,
      s.lat,
      s.lng,
      searchDocument(s.title, ''),
      s.listed ? 1 : 0,
      s.listed ? null : s.createdAt,
      s.createdAt,
      s.createdAt,
    ]);
    seeded.push({ id: 0, ...s });
  }
  await api.sequelize.query(
    `INSERT INTO market_listings (sellerId, title, description, category, price, status, lat, lng, address, searchText,
       listed, deletedAt, createdAt, updatedAt) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, 'Seoul', ?, ?, ?, ?, ?)").join(', ')}`,
    { replacements: rows.flat() },
  );
  const ids = await api.sequelize.query<{ id: number }>('SELECT id FROM market_listings ORDER BY id', {
    type: QueryTypes.SELECT,
  });
  ids.forEach((r, i) => (seeded[i].id = Number(r.id)));
  const { count } = await market.listings.reindexGeo({ batchSize: 50 });
  expect(count).toBe(seeded.filter((s) => s.listed).length);
}, 120_000);
afterAll(() => ctx.close());

interface Query {
  lat: number;
  lng: number;
  radiusKm: number;
  sort: 'distance' | 'recent' | 'price';
  limit: number;
  status?: ListingStatus;
  category?: Category;
  minPrice?: number;
  maxPrice?: number;
  q?: string;
}
interface Item {
  id: number;
  distanceKm: number;
  price: number;
  createdAt: string;
}

function matches(s: Seeded, q: Query): boolean {
  if (!s.listed || s.sellerId === blockedSeller.user.id) return false;
  if (s.status !== (q.status ?? 'on_sale')) return false;
  if (q.category && s.category !== q.category) return false;
  if (q.minPrice !== undefined && s.price < q.minPrice) return false;
  if (q.maxPrice !== undefined && s.price > q.maxPrice) return false;
  if (q.q && !q.q.split(' ').every((w) => s.title.split(' ').some((t) => t.startsWith(w)))) return false;
  return true;
}

function compare(q: Query) {
  return (a: Item, b: Item) => {
    if (q.sort === 'distance') return a.distanceKm - b.distanceKm || a.id - b.id;
    if (q.sort === 'price') return a.price - b.price || a.id - b.id;
    return Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id;
  };
}

async function walk(q: Query): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    const res = await api.http
      .get('/api/v1/market/listings/nearby')
      .set(bearer(viewer.accessToken))
      .query({ ...q, ...(cursor ? { cursor } : {}) });
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)} for ${JSON.stringify(q)}`);
    expect(res.body.items.length).toBeLessThanOrEqual(q.limit);
    items.push(...res.body.items);
    if (!res.body.nextCursor) break;
    expect(res.body.items).toHaveLength(q.limit);
    cursor = res.body.nextCursor;
    if (pages > 400) throw new Error('pagination does not end');
  }
  return items;
}

const EDGE_M = 5;

async function check(q: Query): Promise<number> {
  const items = await walk(q);
  const ids = items.map((i) => i.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual([...items].sort(compare(q)).map((i) => i.id));
  const byId = new Map(seeded.map((s) => [s.id, s]));
  const center = { lat: q.lat, lng: q.lng };
  for (const item of items) {
    const s = byId.get(item.id)!;
    expect(matches(s, q)).toBe(true);
    const d = haversineMeters(center, s);
    expect(d).toBeLessThanOrEqual(q.radiusKm * 1000 + EDGE_M);
    expect(Math.abs(item.distanceKm * 1000 - d)).toBeLessThan(EDGE_M);
  }
  const returned = new Set(ids);
  const missing = seeded.filter(
    (s) => matches(s, q) && !returned.has(s.id) && haversineMeters(center, s) < q.radiusKm * 1000 - EDGE_M,
  );
  expect(missing.map((s) => s.id)).toEqual([]);
  return items.length;
}

function randomQuery(): Query {
  const c = rnd() < 0.3 ? CLUSTER : around(CENTER, 6);
  const q: Query = {
    ...c,
    radiusKm: pick([0.5, 1, 3, 5, 10, 20]),
    sort: pick(['distance', 'distance', 'recent', 'price'] as const),
    limit: pick([1, 3, 7, 20, 100]),
  };
  if (rnd() < 0.2) q.status = pick(STATUSES);
  if (rnd() < 0.4) q.category = pick(CATEGORIES);
  if (rnd() < 0.3) q.minPrice = pick([0, 5000, 10000]);
  if (rnd() < 0.3) q.maxPrice = pick([10000, 25000]);
  if (rnd() < 0.25) q.q = pick(['강아지', '고양', 'dog', 'cat t', '산책']);
  return q;
}

describe('nearby listings: exact against a brute-force haversine', () => {
  it(`random filters, sorts and page sizes walk every page without gaps or duplicates (seed ${SEED})`, async () => {
    let total = 0;
    for (let i = 0; i < 40; i++) total += await check(randomQuery());
    expect(total).toBeGreaterThan(100);
  }, 180_000);

  it('the key sorts agree on both plans: a dense-circle walk (and its capped fallback) and the id list', async () => {
    const queries: Query[] = [
      { ...CENTER, radiusKm: 20, sort: 'price', limit: 7 },
      { ...CENTER, radiusKm: 5, sort: 'recent', limit: 3, category: 'food' },
      { ...CLUSTER, radiusKm: 1, sort: 'recent', limit: 20, minPrice: 5000, maxPrice: 25000 },
      { ...CENTER, radiusKm: 10, sort: 'price', limit: 100, q: '강아지' },
    ];
    try {
      market.search.denseAt = 1; // every circle is "dense": the index walk
      for (const q of queries) await check(q);
      market.search.walkBudget = 5; // walks give up early: the id list takes over
      for (const q of queries) await check(q);
    } finally {
      market.search.denseAt = null;
      market.search.walkBudget = null;
    }
  }, 120_000);

  it('q is Korean prefix search: 강아지 finds 강아지가, 사 finds 사료, 료 finds nothing', async () => {
    const q = (word: string) =>
      api.http
        .get('/api/v1/market/listings/nearby')
        .set(bearer(viewer.accessToken))
        .query({ ...CENTER, radiusKm: 20, q: word, limit: 100 })
        .expect(200)
        .then((r) => r.body.items.map((i: { title: string }) => i.title) as string[]);
    const dogs = await q('강아지');
    expect(dogs.length).toBeGreaterThan(0);
    expect(dogs.every((t) => t.startsWith('강아지'))).toBe(true);
    expect(dogs).toEqual(expect.arrayContaining(['강아지가 좋아하는 간식']));
    expect((await q('사')).every((t) => t.includes(' 사료'))).toBe(true);
    expect(await q('료')).toEqual([]);
    const bad = await api.http
      .get('/api/v1/market/listings/nearby')
      .set(bearer(viewer.accessToken))
      .query({ ...CENTER, q: '!!!' })
      .expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.q']);
  });

  it('bounds: radiusKm ≤ 20, maxPrice ≥ minPrice, limit ≤ 100, a cursor of another sort: 400 naming the field', async () => {
    const bad = async (query: Record<string, unknown>, path: string) => {
      const res = await api.http
        .get('/api/v1/market/listings/nearby')
        .set(bearer(viewer.accessToken))
        .query({ ...CENTER, ...query })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    };
    await bad({ radiusKm: 21 }, 'query.radiusKm');
    await bad({ minPrice: 10, maxPrice: 5 }, 'query.maxPrice');
    await bad({ limit: 101 }, 'query.limit');
    await bad({ lat: 90 }, 'query.lat');
    await bad({ category: 'cars' }, 'query.category');
    await bad({ status: 'gone' }, 'query.status');
    const first = await api.http
      .get('/api/v1/market/listings/nearby')
      .set(bearer(viewer.accessToken))
      .query({ ...CENTER, radiusKm: 20, sort: 'price', limit: 1 })
      .expect(200);
    await bad({ radiusKm: 20, sort: 'distance', cursor: first.body.nextCursor }, 'query.cursor');
    // A forged price cursor past any price a listing may have.
    const { i } = JSON.parse(Buffer.from(first.body.nextCursor, 'base64url').toString());
    const pricey = Buffer.from(JSON.stringify({ s: 'price', p: 1e15, i })).toString('base64url');
    await bad({ radiusKm: 20, sort: 'price', cursor: pricey }, 'query.cursor');
  });

  it('an empty index is rebuilt from MySQL when an instance starts, and by geo:reindex --kind listings', async () => {
    const geo = listingsGeoIndex({ redis: api.redis, config: ctx.config });
    await api.redis.del(geo.key, geo.versionsKey);
    expect(await geo.size()).toBe(0);
    const other = await ctx.instance();
    for (let i = 0; i < 100 && (await geo.size()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await geo.size()).toBe(seeded.filter((s) => s.listed).length);
    await other.close();
    await check({ ...CENTER, radiusKm: 10, sort: 'distance', limit: 20 });
    // The CLI: a stray member goes, every listed listing is back.
    await geo.upsert([{ id: 999_999, lat: 1, lng: 1 }]);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const env = {
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      REDIS_PREFIX: ctx.config.redisPrefix,
    };
    expect(await reindexCli(['--kind', 'listings', '--batch', '37'], env, io)).toBe(0);
    const listed = seeded.filter((s) => s.listed).map((s) => s.id);
    expect(out[out.length - 1]).toMatch(new RegExp(`^done: ${listed.length} listings in ${geo.key}`));
    expect((await api.redis.zrange(geo.key, 0, -1)).map(Number).sort((x, y) => x - y)).toEqual(
      listed.sort((x, y) => x - y),
    );
  }, 60_000);
});
