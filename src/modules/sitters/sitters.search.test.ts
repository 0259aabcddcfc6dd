import { QueryTypes } from 'sequelize';
import { TestContext, ManualClock, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { haversineMeters } from '../../infra/geo';
import type { SittersService } from './sitters.service';
import { SERVICES, SIZES, type Service } from './sitters.schemas';
import { sqlCircle } from '../../infra/geo-sorted';
import { prng } from '../../../test/helpers/random';

/**
 * Search exactness: a few hundred random sitters (with exact duplicates of one point, equal ratings
 * and prices, so every sort has ties), random filters and sorts, every page walked with a small limit,
 * compared with a brute-force haversine over the same rows.
 */
const clock = new ManualClock('2026-12-01T03:00:00.000Z'); // 12:00 in Seoul: today is 2026-12-01
const SEED = Number(process.env.SEARCH_SEED ?? Date.now() % 1_000_000);
let ctx: TestContext;
let api: TestInstance;
let sitters: SittersService;

const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const subset = <T>(xs: readonly T[]): T[] => {
  const out = xs.filter(() => rnd() < 0.5);
  return out.length ? out : [pick(xs)];
};

const CENTER = { lat: 37.5547, lng: 126.9707 }; // Seoul Station
const CLUSTER = { lat: 37.56, lng: 126.98 }; // many sitters at exactly this point

interface Seeded {
  id: number;
  userId: number;
  lat: number;
  lng: number;
  prices: Partial<Record<Service, number>>;
  sizes: string[];
  rating: number | null;
  active: boolean;
  deleted: boolean;
  unavailable: string[];
}
const seeded: Seeded[] = [];

/** A point about `km` from `c` in a random direction. */
function around(c: { lat: number; lng: number }, km: number) {
  const d = km * Math.sqrt(rnd());
  const theta = rnd() * 2 * Math.PI;
  return {
    lat: c.lat + (d / 111.2) * Math.cos(theta),
    lng: c.lng + (d / (111.2 * Math.cos((c.lat * Math.PI) / 180))) * Math.sin(theta),
  };
}

/** Random points keep clear of the cluster, so the disk around it holds exactly its duplicates (whatever the seed). */
function awayFromCluster(draw: () => { lat: number; lng: number }) {
  for (;;) {
    const p = draw();
    if (haversineMeters(CLUSTER, p) > 500) return p;
  }
}

/** Bulk inserts (a few statements, not a few thousand), then reads the ids back by their unique keys. */
async function seed(n: number) {
  const now = clock.now();
  const tag = `${SEED}.${process.pid}`;
  const exec = (sql: string, replacements: unknown[]) => api.sequelize.query(sql, { replacements });
  const rows = <T extends object>(sql: string, replacements: unknown[]) =>
    api.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  await exec(
    `INSERT INTO users (email, passwordHash, nickname, bio, isSitter, createdAt, updatedAt) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, 1, ?, ?)').join(', ')}`,
    Array.from({ length: n }, (_, i) => [`seed${i}.${tag}@example.com`, 'x', `Sitter ${i}`, '', now, now]).flat(),
  );
  const users = await rows<{ id: number; email: string }>('SELECT id, email FROM users WHERE email LIKE ?', [
    `seed%.${tag}@example.com`,
  ]);
  const userIdOf = new Map(users.map((u) => [u.email, Number(u.id)]));
  const drafts: Omit<Seeded, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    const pos = i % 12 === 0 ? CLUSTER : awayFromCluster(() => around(CENTER, i % 5 === 0 ? 40 : 12));
    const prices: Partial<Record<Service, number>> = {};
    for (const sv of subset(SERVICES)) prices[sv] = pick([10000, 15000, 20000, 30000, 45000, 60000]);
    const rating = rnd() < 0.3 ? null : pick([3, 3.5, 4, 4.25, 4.5, 5]);
    drafts.push({
      userId: userIdOf.get(`seed${i}.${tag}@example.com`)!,
      ...pos,
      prices,
      sizes: subset(SIZES),
      rating,
      active: rnd() > 0.08,
      deleted: i % 37 === 5,
      unavailable: rnd() < 0.3 ? [pick(['2026-12-03', '2026-12-05', '2026-12-10', '2026-12-24'])] : [],
    });
  }
  await exec(
    `INSERT INTO sitters (userId, headline, bio, boardingPrice, daycarePrice, walkingPrice, dropInPrice, minPrice, acceptsSmall, acceptsMedium, acceptsLarge,
       maxPets, lat, lng, address, rating, reviewCount, active, createdAt, updatedAt) VALUES ${drafts.map(() => "(?, 'Sitter', '', ?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, 'Seoul', ?, ?, ?, ?, ?)").join(', ')}`,
    drafts.flatMap((d) => [
      d.userId,
      d.prices.boarding ?? null,
      d.prices.daycare ?? null,
      d.prices.walking ?? null,
      d.prices.drop_in ?? null,
      Math.min(...Object.values(d.prices)),
      d.sizes.includes('small'),
      d.sizes.includes('medium'),
      d.sizes.includes('large'),
      d.lat,
      d.lng,
      d.rating,
      d.rating === null ? 0 : 3,
      d.active,
      now,
      now,
    ]),
  );
  const sitterIds = await rows<{ id: number; userId: number }>('SELECT id, userId FROM sitters', []);
  const idOf = new Map(sitterIds.map((r) => [Number(r.userId), Number(r.id)]));
  for (const d of drafts) seeded.push({ id: idOf.get(d.userId)!, ...d });
  const days = seeded.flatMap((s) => s.unavailable.map((day) => [s.id, day, now]));
  if (days.length)
    await exec(
      `INSERT INTO sitter_unavailable_dates (sitterId, day, createdAt) VALUES ${days.map(() => '(?, ?, ?)').join(', ')}`,
      days.flat(),
    );
  const deleted = seeded.filter((s) => s.deleted).map((s) => s.userId);
  await exec('UPDATE users SET deletedAt = ? WHERE id IN (?)', [now, deleted]);
}

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
  sitters = api.pawmate.services.sitters;
  await seed(320);
  // The rows were written behind the service's back (no outbox): the rebuild is what indexes them.
  const { count } = await sitters.reindexGeo({ batchSize: 64 });
  expect(count).toBe(seeded.filter((s) => s.active).length);
}, 120_000);
afterAll(async () => {
  await ctx.close();
});

interface Query {
  lat: number;
  lng: number;
  radiusKm: number;
  sort: 'distance' | 'rating' | 'price';
  limit: number;
  service?: Service;
  petSize?: string;
  minPrice?: number;
  maxPrice?: number;
  minRating?: number;
  from?: string;
  to?: string;
}

interface Item {
  id: number;
  distanceKm: number;
  rating: number | null;
  prices: Record<string, number>;
  services: string[];
  location: { lat: number; lng: number };
}

const priceOf = (s: Seeded, q: Query) => (q.service ? s.prices[q.service] : Math.min(...Object.values(s.prices)));

function matches(s: Seeded, q: Query): boolean {
  if (!s.active || s.deleted) return false;
  if (q.service && s.prices[q.service] === undefined) return false;
  if (q.petSize && !s.sizes.includes(q.petSize)) return false;
  const p = priceOf(s, q)!;
  if (q.minPrice !== undefined && p < q.minPrice) return false;
  if (q.maxPrice !== undefined && p > q.maxPrice) return false;
  if (q.minRating !== undefined && (s.rating === null || s.rating < q.minRating)) return false;
  if (q.from && s.unavailable.some((d) => d >= q.from! && d <= (q.to ?? q.from!))) return false;
  return true;
}

async function walk(q: Query): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const res = await api.http.get('/api/v1/sitters/search').query({ ...q, ...(cursor ? { cursor } : {}) });
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)} for ${JSON.stringify(q)}`);
    pages++;
    expect(res.body.items.length).toBeLessThanOrEqual(q.limit);
    items.push(...res.body.items);
    if (!res.body.nextCursor) break;
    expect(res.body.items).toHaveLength(q.limit); // only the last page may be short
    cursor = res.body.nextCursor;
    if (pages > 500) throw new Error('pagination does not end');
  }
  return { items, pages };
}

/** The order each sort promises, ties by id. */
function compare(q: Query) {
  return (a: Item, b: Item) => {
    if (q.sort === 'distance') return a.distanceKm - b.distanceKm || a.id - b.id;
    if (q.sort === 'rating') {
      if (a.rating === null || b.rating === null)
        return (a.rating === null ? 1 : 0) - (b.rating === null ? 1 : 0) || a.id - b.id;
      return b.rating - a.rating || a.id - b.id;
    }
    const pa = q.service ? a.prices[q.service] : Math.min(...Object.values(a.prices));
    const pb = q.service ? b.prices[q.service] : Math.min(...Object.values(b.prices));
    return pa - pb || a.id - b.id;
  };
}

const EDGE_M = 5;

/**
 * An anonymous caller is a stranger: each item's distanceKm is measured to the public point it shows
 * (sitters.privacy.test.ts), while the order and the radius use the exact home. The order is checked
 * against the exact distances Redis computes for the same centre.
 */
async function exactDistances(q: Query, shown: Item[]): Promise<Item[]> {
  const geo = api.pawmate.modules.find((m) => m.name === 'sitters')!.geoIndexes![0];
  const center = { lat: q.lat, lng: q.lng };
  const exact = new Map((await geo.search(center, q.radiusKm + 1)).map((h) => [h.id, h.distanceKm]));
  return shown.map((i) => {
    expect(Math.abs(i.distanceKm * 1000 - haversineMeters(center, i.location))).toBeLessThan(0.5);
    return { ...i, distanceKm: exact.get(i.id)! };
  });
}

async function check(q: Query) {
  const items = await exactDistances(q, (await walk(q)).items);
  const ids = items.map((i) => i.id);
  expect(new Set(ids).size).toBe(ids.length); // no duplicates across pages
  const sorted = [...items].sort(compare(q));
  expect(ids).toEqual(sorted.map((i) => i.id)); // one global order across pages

  const byId = new Map(seeded.map((s) => [s.id, s]));
  const center = { lat: q.lat, lng: q.lng };
  for (const item of items) {
    const s = byId.get(item.id)!;
    const d = haversineMeters(center, s);
    expect(matches(s, q)).toBe(true);
    expect(d).toBeLessThanOrEqual(q.radiusKm * 1000 + EDGE_M);
    expect(Math.abs(item.distanceKm * 1000 - d)).toBeLessThan(EDGE_M);
  }
  const returned = new Set(ids);
  const missing = seeded.filter(
    (s) => matches(s, q) && !returned.has(s.id) && haversineMeters(center, s) < q.radiusKm * 1000 - EDGE_M,
  );
  expect(missing.map((s) => s.id)).toEqual([]); // no gaps
  return items.length;
}

function randomQuery(sorts: readonly Query['sort'][] = ['distance', 'distance', 'rating', 'price']): Query {
  const c = rnd() < 0.3 ? CLUSTER : around(CENTER, 8);
  const q: Query = {
    lat: c.lat,
    lng: c.lng,
    radiusKm: pick([0.5, 1, 2.5, 5, 10, 20, 50]),
    sort: pick(sorts),
    limit: pick([1, 2, 3, 7, 20, 100, 100]),
  };
  if (rnd() < 0.4) q.service = pick(SERVICES);
  if (rnd() < 0.3) q.petSize = pick(SIZES);
  if (rnd() < 0.25) q.minPrice = pick([10000, 15000, 20000]);
  if (rnd() < 0.25) q.maxPrice = pick([20000, 30000, 45000]);
  if (q.minPrice !== undefined && q.maxPrice !== undefined && q.maxPrice < q.minPrice) delete q.maxPrice;
  if (rnd() < 0.25) q.minRating = pick([3, 4, 4.5]);
  if (rnd() < 0.3) {
    q.from = pick(['2026-12-01', '2026-12-03', '2026-12-04']);
    if (rnd() < 0.7) q.to = pick(['2026-12-05', '2026-12-11', '2027-01-01']);
  }
  return q;
}

/** `n` random queries, each walked page by page and checked; most must find something. */
async function randomChecks(n: number, sorts?: readonly Query['sort'][]) {
  let nonEmpty = 0;
  for (let i = 0; i < n; i++) {
    const q = randomQuery(sorts);
    try {
      if ((await check(q)) > 0) nonEmpty++;
    } catch (err) {
      throw new Error(`seed ${SEED}, query ${JSON.stringify(q)}: ${(err as Error).message}`);
    }
  }
  expect(nonEmpty).toBeGreaterThan(n / 2); // the data and queries do overlap
}

describe('GET /sitters/search matches a brute-force haversine', () => {
  it(`random queries, every page (seed ${SEED})`, async () => {
    await randomChecks(40);
  }, 120_000);

  it.each(['distance', 'rating', 'price'] as const)(
    'pages through the duplicate point one by one (sort=%s)',
    async (sort) => {
      const n = await check({ ...CLUSTER, radiusKm: 0.1, sort, limit: 1 });
      expect(n).toBe(
        seeded.filter((s) => s.lat === CLUSTER.lat && s.lng === CLUSTER.lng && s.active && !s.deleted).length,
      );
      expect(n).toBeGreaterThan(15);
    },
    60_000,
  );

  it('walks the whole 50 km circle with limit 3 in each sort', async () => {
    for (const sort of ['distance', 'rating', 'price'] as const) {
      const n = await check({ ...CENTER, radiusKm: 50, sort, limit: 3 });
      expect(n).toBe(seeded.filter((s) => s.active && !s.deleted && haversineMeters(CENTER, s) <= 50_000).length);
    }
  }, 60_000);

  it('answers the contract shape', async () => {
    const res = await api.http
      .get('/api/v1/sitters/search')
      .query({ ...CLUSTER, radiusKm: 0.01, limit: 1 })
      .expect(200);
    expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
    expect(Object.keys(res.body.items[0]).sort()).toEqual(
      [
        'avatarUrl',
        'distanceKm',
        'headline',
        'id',
        'location',
        'nickname',
        'prices',
        'rating',
        'reviewCount',
        'services',
        'userId',
      ].sort(),
    );
    // Anonymous: a rounded public point near the home, not the home itself (sitters.privacy.test.ts).
    expect(res.body.items[0]).toMatchObject({
      nickname: expect.stringMatching(/^Sitter /),
      location: { lat: expect.any(Number), lng: expect.any(Number) },
    });
    expect(res.body.items[0].location).not.toEqual(CLUSTER);
    expect(Math.abs(res.body.items[0].location.lat - CLUSTER.lat)).toBeLessThan(0.003);
    // A stranger's distance is to the public point (the exact home is at the very centre).
    expect(res.body.items[0].distanceKm * 1000).toBeCloseTo(haversineMeters(CLUSTER, res.body.items[0].location), 0);
  });

  it('never lists an inactive sitter, even one left in the index', async () => {
    const inactive = seeded.find((s) => !s.active)!;
    await sitters.geo.upsert([{ id: inactive.id, lat: inactive.lat, lng: inactive.lng }]);
    const res = await api.http
      .get('/api/v1/sitters/search')
      .query({ lat: inactive.lat, lng: inactive.lng, radiusKm: 0.001 })
      .expect(200);
    expect(res.body.items.map((i: Item) => i.id)).not.toContain(inactive.id);
    await sitters.geo.remove([inactive.id]);
  });

  it('leaves out sitters with a full day in from..to (the reservations module\u2019s booked days)', async () => {
    const [full, half] = seeded.filter((s) => s.active && !s.deleted && s.lat === CLUSTER.lat && !s.unavailable.length);
    const booked = (sql: string, replacements: unknown[]) => api.sequelize.query(sql, { replacements });
    // maxPets is 2 for every seeded sitter: two booked pets fill a day, one does not.
    await booked('INSERT INTO sitter_booked_days (sitterId, day, pets) VALUES (?, ?, 2), (?, ?, 1)', [
      full.id,
      '2026-12-03',
      half.id,
      '2026-12-03',
    ]);
    try {
      const ids = async (extra: Record<string, string>) =>
        (
          await api.http
            .get('/api/v1/sitters/search')
            .query({ ...CLUSTER, radiusKm: 0.01, limit: 100, ...extra })
            .expect(200)
        ).body.items.map((i: Item) => i.id);
      expect(await ids({})).toEqual(expect.arrayContaining([full.id, half.id]));
      const during = await ids({ from: '2026-12-02', to: '2026-12-04' });
      expect(during).toContain(half.id);
      expect(during).not.toContain(full.id);
      expect(await ids({ from: '2026-12-04', to: '2026-12-05' })).toContain(full.id);
    } finally {
      await booked('DELETE FROM sitter_booked_days WHERE sitterId IN (?)', [[full.id, half.id]]);
    }
  });

  it('finds a sitter created through the API at once (outbox fast path), and not after DELETE', async () => {
    const s = await signup(api);
    const where = { lat: -33.8688, lng: 151.2093 };
    const put = await api.http
      .put('/api/v1/sitters/me')
      .set(bearer(s.accessToken))
      .send({
        headline: 'Sydney',
        services: ['walking'],
        prices: { walking: 9000 },
        acceptedSizes: ['small'],
        maxPets: 1,
        location: where,
        address: 'Sydney',
      })
      .expect(200);
    const found = await api.http
      .get('/api/v1/sitters/search')
      .query({ ...where, radiusKm: 1 })
      .expect(200);
    expect(found.body.items).toEqual([
      expect.objectContaining({
        id: put.body.id,
        distanceKm: expect.any(Number),
        prices: { walking: 9000 },
        services: ['walking'],
        rating: null,
        reviewCount: 0,
      }),
    ]);
    expect(found.body.items[0].distanceKm * 1000).toBeCloseTo(haversineMeters(where, found.body.items[0].location), 0);
    // The sitter sees the exact distance: Redis's 52-bit geohash puts the very centre a few centimetres away.
    const own = await api.http
      .get('/api/v1/sitters/search')
      .set(bearer(s.accessToken))
      .query({ ...where, radiusKm: 1 })
      .expect(200);
    expect(own.body.items[0].distanceKm).toBeLessThan(0.001);
    await api.http.delete('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(204);
    expect(
      (
        await api.http
          .get('/api/v1/sitters/search')
          .query({ ...where, radiusKm: 1 })
          .expect(200)
      ).body.items,
    ).toEqual([]);
  });
});

describe("the dense-circle plan: rating and price sorts walk an index instead of sending the circle's ids", () => {
  // A threshold of one member makes every non-empty circle "dense", so each key-sorted page below is
  // answered by the index walk; the checks are the same brute force as above.
  beforeAll(() => {
    sitters.search.denseAt = 1;
  });
  afterAll(() => {
    sitters.search.denseAt = null;
  });

  it(`random queries, every page (seed ${SEED})`, async () => {
    await randomChecks(30, ['rating', 'price']);
  }, 120_000);

  it.each(['rating', 'price'] as const)(
    'pages through the duplicate point and the whole 50 km circle (sort=%s)',
    async (sort) => {
      expect(await check({ ...CLUSTER, radiusKm: 0.1, sort, limit: 1 })).toBe(
        seeded.filter((s) => s.lat === CLUSTER.lat && s.lng === CLUSTER.lng && s.active && !s.deleted).length,
      );
      expect(await check({ ...CENTER, radiusKm: 50, sort, limit: 7 })).toBe(
        seeded.filter((s) => s.active && !s.deleted && haversineMeters(CENTER, s) <= 50_000).length,
      );
    },
    60_000,
  );

  it('gives the same pages and distances as the ids plan', async () => {
    const pages = async (q: Query) => (await walk(q)).items.map((i) => [i.id, i.distanceKm]);
    for (const q of [
      { ...CENTER, radiusKm: 20, sort: 'rating', limit: 9 },
      { ...CENTER, radiusKm: 20, sort: 'price', service: 'walking', limit: 9 },
      { ...CENTER, radiusKm: 5, sort: 'price', petSize: 'small', maxPrice: 45000, limit: 4 },
    ] as Query[]) {
      const walked = await pages(q);
      sitters.search.denseAt = null;
      const listed = await pages(q);
      sitters.search.denseAt = 1;
      expect(walked.length).toBeGreaterThan(3);
      expect(walked.map(([id]) => id)).toEqual(listed.map(([id]) => id));
      walked.forEach(([, d], i) => expect(Math.abs(d - listed[i][1])).toBeLessThan(0.002)); // Redis rounds positions to its geohash
    }
  }, 60_000);

  it("caps a walk (ROWS EXAMINED) and answers a short one from the circle's ids instead, pages still exact", async () => {
    // The cap itself: the same walk with room for 3 examined rows comes back short.
    const circle = sqlCircle('s', CENTER, 50);
    const byRating = { by: 'rating', after: null } as const;
    const full = await sitters.search['repo'].pageCandidates({ circle, examineAtMost: 1_000_000 }, {}, byRating, 50);
    const capped = await sitters.search['repo'].pageCandidates({ circle, examineAtMost: 3 }, {}, byRating, 50);
    expect(full).toHaveLength(50);
    expect(capped.length).toBeLessThan(4);
    expect(capped.map((r) => r.id)).toEqual(full.slice(0, capped.length).map((r) => r.id)); // a prefix, in order
    // Through the API: every walk is cut short, so every page comes from the fallback.
    sitters.search.walkBudget = 3;
    try {
      await randomChecks(12, ['rating', 'price']);
      expect(await check({ ...CENTER, radiusKm: 50, sort: 'price', limit: 9 })).toBe(
        seeded.filter((s) => s.active && !s.deleted && haversineMeters(CENTER, s) <= 50_000).length,
      );
    } finally {
      sitters.search.walkBudget = null;
    }
  }, 60_000);

  it('finds a sitter across the antimeridian, where the bounding box gives way to the distance alone', async () => {
    const s = await signup(api);
    const where = { lat: -16.5, lng: -179.9995 };
    const put = await api.http
      .put('/api/v1/sitters/me')
      .set(bearer(s.accessToken))
      .send({
        headline: 'Fiji',
        services: ['walking'],
        prices: { walking: 9000 },
        acceptedSizes: ['small'],
        maxPets: 1,
        location: where,
        address: 'Taveuni',
      })
      .expect(200);
    for (const sort of ['rating', 'price']) {
      const res = await api.http
        .get('/api/v1/sitters/search')
        .query({ lat: -16.5, lng: 179.9995, radiusKm: 1, sort })
        .expect(200);
      expect(res.body.items.map((i: Item) => i.id)).toEqual([put.body.id]);
      const own = await api.http
        .get('/api/v1/sitters/search')
        .set(bearer(s.accessToken))
        .query({ lat: -16.5, lng: 179.9995, radiusKm: 1, sort })
        .expect(200);
      expect(own.body.items[0].distanceKm).toBeGreaterThan(0.1);
      expect(own.body.items[0].distanceKm).toBeLessThan(0.11);
    }
    await api.http.delete('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(204);
  });
});

describe('search validation', () => {
  const ok = { lat: 37.5, lng: 127 };
  it.each([
    ['query.lat', {}],
    ['query.lat', { lat: 85.06, lng: 0 }],
    ['query.lat', { lat: -90, lng: 0 }],
    ['query.lat', { lat: 'x', lng: 0 }],
    ['query.lng', { lat: 0 }],
    ['query.lng', { lat: 0, lng: 180.5 }],
    ['query.lng', { lat: 0, lng: -181 }],
    ['query.radiusKm', { ...ok, radiusKm: 0 }],
    ['query.radiusKm', { ...ok, radiusKm: 50.01 }],
    ['query.radiusKm', { ...ok, radiusKm: -1 }],
    ['query.service', { ...ok, service: 'grooming' }],
    ['query.service', { ...ok, service: ['walking', 'boarding'] }],
    ['query.petSize', { ...ok, petSize: 'huge' }],
    ['query.minPrice', { ...ok, minPrice: -1 }],
    ['query.minPrice', { ...ok, minPrice: 1.5 }],
    ['query.maxPrice', { ...ok, maxPrice: 10_000_001 }],
    ['query.maxPrice', { ...ok, minPrice: 20000, maxPrice: 10000 }],
    ['query.minRating', { ...ok, minRating: 0 }],
    ['query.minRating', { ...ok, minRating: 5.5 }],
    ['query.from', { ...ok, from: '2026-13-01' }],
    ['query.from', { ...ok, from: '2026-11-30' }],
    ['query.from', { ...ok, to: '2026-12-05' }],
    ['query.to', { ...ok, from: '2026-12-05', to: '2026-12-04' }],
    ['query.to', { ...ok, from: '2026-12-01', to: '2027-12-02' }],
    ['query.sort', { ...ok, sort: 'popularity' }],
    ['query.limit', { ...ok, limit: 0 }],
    ['query.limit', { ...ok, limit: 101 }],
    ['query.cursor', { ...ok, cursor: 'garbage' }],
    // A distance cursor we did not issue, deeper than the first snapshot disk (src/infra/geo-cursor.ts).
    [
      'query.cursor',
      { ...ok, cursor: Buffer.from(JSON.stringify({ s: 'distance', d: 3, i: 1 })).toString('base64url') },
    ],
    [
      'query.cursor',
      { ...ok, cursor: Buffer.from(JSON.stringify({ s: 'rating', r: null, i: 1 })).toString('base64url') },
    ],
    // Well formed, but past any id or price a row can have.
    [
      'query.cursor',
      {
        ...ok,
        sort: 'rating',
        cursor: Buffer.from(JSON.stringify({ s: 'rating', r: null, i: 2 ** 40 })).toString('base64url'),
      },
    ],
    [
      'query.cursor',
      {
        ...ok,
        sort: 'price',
        service: 'walking',
        cursor: Buffer.from(JSON.stringify({ s: 'price', v: 'walking', p: 1e12, i: 1 })).toString('base64url'),
      },
    ],
    [
      'query.cursor',
      {
        ...ok,
        sort: 'price',
        cursor: Buffer.from(JSON.stringify({ s: 'distance', d: 1, i: 1, n: 1 })).toString('base64url'),
      },
    ],
    [
      'query.cursor',
      {
        ...ok,
        sort: 'price',
        service: 'walking',
        cursor: Buffer.from(JSON.stringify({ s: 'price', v: null, p: 1, i: 1 })).toString('base64url'),
      },
    ],
  ])('400 naming %s for %j', async (path, query) => {
    const res = await api.http.get('/api/v1/sitters/search').query(query).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('accepts a 366-day range starting today and the radius edges', async () => {
    await api.http
      .get('/api/v1/sitters/search')
      .query({ ...ok, from: '2026-12-01', to: '2027-12-01' })
      .expect(200);
    await api.http
      .get('/api/v1/sitters/search')
      .query({ ...ok, radiusKm: 50 })
      .expect(200);
    await api.http
      .get('/api/v1/sitters/search')
      .query({ lat: 85.05, lng: -180, radiusKm: 0.001 })
      .expect(200, { items: [], nextCursor: null });
  });
});
