import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { becomeSitter, makeSitter } from '../../../test/helpers/fixtures';
import { haversineMeters } from '../../infra/geo';
import { PublicLocations } from './sitters.location';
import { prng } from '../../../test/helpers/random';

/**
 * The map view: markers whose counts add up to a brute force over the same rows, for viewports from
 * the whole world to a street, across the antimeridian, with filters, blocks and the 500 bound; a
 * lone sitter is never shown at its home.
 */
let ctx: TestContext;
let api: TestInstance;

interface Seeded {
  id: number;
  lat: number;
  lng: number;
  walking: boolean;
  large: boolean;
  active: boolean;
  deleted: boolean;
}
const seeded: Seeded[] = [];
const SECRET = 'm'.repeat(64);
const publicOf = (s: Seeded) => new PublicLocations(SECRET).publicPoint(s.id, s);

const rnd = prng(20261206);

function draft(i: number): Omit<Seeded, 'id'> {
  let lat: number;
  let lng: number;
  if (i % 10 === 0) {
    // Around the world, so a world viewport has more cells than the 500 bound allows markers.
    lat = -80 + rnd() * 160;
    lng = -180 + rnd() * 360;
  } else if (i % 10 === 1) {
    // Both sides of the antimeridian (Fiji).
    lat = -17 - rnd();
    lng = rnd() < 0.5 ? 179.5 + rnd() * 0.5 : -180 + rnd() * 0.5;
  } else {
    lat = 37.45 + rnd() * 0.2; // Seoul
    lng = 126.85 + rnd() * 0.25;
  }
  return { lat, lng, walking: rnd() < 0.5, large: rnd() < 0.4, active: rnd() > 0.1, deleted: i % 41 === 3 };
}

async function seed(n: number) {
  const now = new Date();
  const exec = (sql: string, replacements: unknown[]) => api.sequelize.query(sql, { replacements });
  await exec(
    `INSERT INTO users (email, passwordHash, nickname, bio, isSitter, createdAt, updatedAt) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, 1, ?, ?)').join(', ')}`,
    Array.from({ length: n }, (_, i) => [`map${i}@example.com`, 'x', `Sitter ${i}`, '', now, now]).flat(),
  );
  const users = await api.sequelize.query<{ id: number; email: string }>(
    "SELECT id, email FROM users WHERE email LIKE 'map%@example.com'",
    { type: QueryTypes.SELECT },
  );
  const userIdOf = new Map(users.map((u) => [u.email, Number(u.id)]));
  const drafts = Array.from({ length: n }, (_, i) => ({ userId: userIdOf.get(`map${i}@example.com`)!, ...draft(i) }));
  await exec(
    `INSERT INTO sitters (userId, headline, bio, boardingPrice, walkingPrice, minPrice, acceptsSmall, acceptsMedium, acceptsLarge,
       maxPets, lat, lng, address, reviewCount, active, createdAt, updatedAt) VALUES ${drafts.map(() => "(?, 'Sitter', '', 20000, ?, 10000, 1, 1, ?, 2, ?, ?, 'Somewhere', 0, ?, ?, ?)").join(', ')}`,
    drafts.flatMap((d) => [d.userId, d.walking ? 10000 : null, d.large, d.lat, d.lng, d.active, now, now]),
  );
  const ids = await api.sequelize.query<{ id: number; userId: number }>('SELECT id, userId FROM sitters', {
    type: QueryTypes.SELECT,
  });
  const idOf = new Map(ids.map((r) => [Number(r.userId), Number(r.id)]));
  for (const d of drafts) seeded.push({ id: idOf.get(d.userId)!, ...d });
  const deleted = drafts.filter((d) => d.deleted).map((d) => d.userId);
  await exec('UPDATE users SET deletedAt = ? WHERE id IN (?)', [now, deleted]);
}

beforeAll(async () => {
  // A fixed secret, so the test can compute the public points the map works on.
  ctx = await new TestContext({ env: { JWT_SECRET: SECRET } }).setup();
  api = await ctx.instance();
  await seed(1500);
}, 120_000);
afterAll(async () => {
  await ctx.close();
});

interface Viewport {
  minLat: number;
  minLng: number;
  maxLat: number;
  maxLng: number;
  zoom: number;
  service?: string;
  petSize?: string;
}
interface Marker {
  lat: number;
  lng: number;
  count: number;
  sitterId: number | null;
}

const inside = (s: { lat: number; lng: number }, v: Viewport) =>
  s.lat >= v.minLat &&
  s.lat <= v.maxLat &&
  (v.minLng <= v.maxLng ? s.lng >= v.minLng && s.lng <= v.maxLng : s.lng >= v.minLng || s.lng <= v.maxLng);

function expected(v: Viewport): Seeded[] {
  return seeded.filter(
    (s) =>
      s.active &&
      !s.deleted &&
      inside(publicOf(s), v) &&
      (v.service !== 'walking' || s.walking) &&
      (v.petSize !== 'large' || s.large),
  );
}

async function markers(v: Viewport, token?: string): Promise<Marker[]> {
  const req = api.http.get('/api/v1/sitters/map').query(v);
  const res = await (token ? req.set(bearer(token)) : req);
  expect(res.status).toBe(200);
  return res.body.items as Marker[];
}

const total = (ms: Marker[]) => ms.reduce((n, m) => n + m.count, 0);

describe('GET /sitters/map', () => {
  const viewports: Array<[string, Viewport]> = [
    ['the world', { minLat: -85, minLng: -180, maxLat: 85, maxLng: 180, zoom: 1 }],
    ['the world asked at street zoom', { minLat: -85, minLng: -180, maxLat: 85, maxLng: 180, zoom: 20 }],
    ['a whole city', { minLat: 37.4, minLng: 126.8, maxLat: 37.7, maxLng: 127.2, zoom: 11 }],
    ['a district', { minLat: 37.5, minLng: 126.9, maxLat: 37.56, maxLng: 127.0, zoom: 14 }],
    ['a street', { minLat: 37.53, minLng: 126.95, maxLat: 37.54, maxLng: 126.962, zoom: 18 }],
    ['across the antimeridian', { minLat: -19, minLng: 179, maxLat: -16, maxLng: -179, zoom: 8 }],
    [
      'a city, walking only',
      { minLat: 37.4, minLng: 126.8, maxLat: 37.7, maxLng: 127.2, zoom: 12, service: 'walking' },
    ],
    ['a city, large pets', { minLat: 37.4, minLng: 126.8, maxLat: 37.7, maxLng: 127.2, zoom: 13, petSize: 'large' }],
  ];

  it.each(viewports)('counts add up to the brute force over %s, in at most 500 markers', async (_name, v) => {
    const want = expected(v);
    expect(want.length).toBeGreaterThan(0);
    const got = await markers(v);
    expect(got.length).toBeLessThanOrEqual(500);
    expect(total(got)).toBe(want.length);
    const alone = got.filter((m) => m.count === 1);
    // Every lone marker names a sitter that matches, once.
    const wantIds = new Set(want.map((s) => s.id));
    expect(alone.every((m) => m.sitterId !== null && wantIds.has(m.sitterId))).toBe(true);
    expect(new Set(alone.map((m) => m.sitterId)).size).toBe(alone.length);
    expect(got.filter((m) => m.count > 1).every((m) => m.sitterId === null)).toBe(true);
  });

  it('clusters a dense city at a low zoom, and splits it as the map zooms in', async () => {
    const city = { minLat: 37.4, minLng: 126.8, maxLat: 37.7, maxLng: 127.2 };
    const far = await markers({ ...city, zoom: 8 });
    const near = await markers({ ...city, zoom: 13 });
    expect(far.length).toBeLessThan(5);
    expect(near.length).toBeGreaterThan(far.length * 10);
    expect(total(far)).toBe(total(near));
  });

  it('shows, filters and groups lone sitters by their public point, never the home', async () => {
    const street = await markers({ minLat: 37.45, minLng: 126.85, maxLat: 37.65, maxLng: 127.1, zoom: 20 });
    const alone = street.filter((m) => m.count === 1);
    expect(alone.length).toBeGreaterThan(50);
    for (const m of alone) {
      const home = seeded.find((s) => s.id === m.sitterId)!;
      const metres = haversineMeters(home, m);
      expect(metres).toBeGreaterThan(0);
      expect(metres).toBeLessThan(200);
      expect({ lat: m.lat, lng: m.lng }).toEqual(publicOf(home));
    }
    // A viewport edge moved across a lone sitter's home changes nothing until it crosses the public
    // point: bisecting the edge finds that point, not the home.
    const lone = seeded.find((s) => s.id === alone[0].sitterId)!;
    const shown = publicOf(lone);
    const around = (minLat: number) => ({
      minLat,
      minLng: shown.lng - 0.001,
      maxLat: shown.lat + 0.001,
      maxLng: shown.lng + 0.001,
      zoom: 20,
    });
    const justBelowShown = await markers(around(shown.lat - 1e-7));
    const justAboveShown = await markers(around(shown.lat + 1e-7));
    expect(justBelowShown.some((m) => m.sitterId === lone.id)).toBe(true);
    expect(justAboveShown.some((m) => m.sitterId === lone.id)).toBe(false);
  });

  it('sees a new sitter at once, leaves it out for a viewer it is blocked with, and drops it when it leaves', async () => {
    const { user: blocked } = await makeSitter(api, { location: { lat: 10.001, lng: 20.001 } });
    const viewer = await signup(api);
    const v = { minLat: 9.9, minLng: 19.9, maxLat: 10.1, maxLng: 20.1, zoom: 10 };
    expect(total(await markers(v, viewer.accessToken))).toBe(1);
    await api.http.put(`/api/v1/users/${blocked.user.id}/block`).set(bearer(viewer.accessToken)).expect(204);
    expect(total(await markers(v, viewer.accessToken))).toBe(0);
    expect(total(await markers(v))).toBe(1);
    // The points are kept in memory, synced before each read: a sitter who leaves is gone at once.
    await api.http.delete('/api/v1/sitters/me').set(bearer(blocked.accessToken)).expect(204);
    expect(total(await markers(v))).toBe(0);
  });

  it('follows a sitter who moves, a new one and one who leaves between two reads', async () => {
    const here = { minLat: -40.1, minLng: 150.9, maxLat: -39.9, maxLng: 151.1, zoom: 10 };
    const there = { minLat: -45.1, minLng: 160.9, maxLat: -44.9, maxLng: 161.1, zoom: 10 };
    const street = { minLat: -40.01, minLng: 150.99, maxLat: -39.99, maxLng: 151.01, zoom: 17 };
    const mover = await signup(api);
    await becomeSitter(api, mover, { location: { lat: -40.0003, lng: 151.0002 } });
    const stayer = await makeSitter(api, { location: { lat: -40.0005, lng: 151.0004 } });
    expect([total(await markers(here)), total(await markers(street)), total(await markers(there))]).toEqual([2, 2, 0]);
    // A move within the street, then out of it, then across the map.
    await becomeSitter(api, mover, { location: { lat: -40.0002, lng: 151.0001 } });
    expect([total(await markers(here)), total(await markers(street))]).toEqual([2, 2]);
    await becomeSitter(api, mover, { location: { lat: -40.05, lng: 151.05 } });
    expect([total(await markers(here)), total(await markers(street))]).toEqual([2, 1]);
    await becomeSitter(api, mover, { location: { lat: -45, lng: 161 } });
    expect([total(await markers(here)), total(await markers(there))]).toEqual([1, 1]);
    expect((await markers(there))[0].sitterId).not.toBe(stayer.sitter.id);
    // One leaves, one arrives, and the one who left comes back.
    await api.http.delete('/api/v1/sitters/me').set(bearer(stayer.user.accessToken)).expect(204);
    await makeSitter(api, { location: { lat: -44.95, lng: 160.95 } });
    expect([total(await markers(here)), total(await markers(there))]).toEqual([0, 2]);
    await becomeSitter(api, stayer.user, { location: { lat: -40.0005, lng: 151.0004 } });
    expect(await markers(street)).toEqual([expect.objectContaining({ count: 1, sitterId: stayer.sitter.id })]);
  });

  it('answers bad viewports with a 400 naming the field', async () => {
    const bad = async (q: Record<string, unknown>, path: string) => {
      const res = await api.http.get('/api/v1/sitters/map').query(q);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    };
    const ok = { minLat: 37, minLng: 126, maxLat: 38, maxLng: 127, zoom: 10 };
    await bad({ ...ok, maxLat: 36 }, 'query.maxLat');
    await bad({ ...ok, zoom: 21 }, 'query.zoom');
    await bad({ ...ok, minLng: 181 }, 'query.minLng');
    const { zoom: _zoom, ...noZoom } = ok;
    await bad(noZoom, 'query.zoom');
    await bad({ ...ok, service: 'grooming' }, 'query.service');
  });
});
