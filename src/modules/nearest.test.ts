import { randomBytes } from 'node:crypto';
import { deleteKeys, keysMatching } from '../../test/helpers/context';
import { prng } from '../../test/helpers/random';
import { AppError } from '../errors';
import { connectRedis, createRedis, type Redis } from '../infra/redis';
import { GeoIndex, type GeoPoint } from '../infra/geo';
import { nearestPage } from './nearest';

/**
 * The cursors of the nearest-first lists: a page after a cursor may make a snapshot of up to 20 000
 * members, so only cursors this index issued for this query may point deep; anything else is a 400 on
 * `query.cursor` that leaves no snapshot behind.
 */
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
let redis: Redis;
let geo: GeoIndex;
const prefix = `t${randomBytes(4).toString('hex')}:`;
const CENTER = { lat: 37.5665, lng: 126.978 };
/** The deployment's secret (JWT_SECRET) the cursor key is derived from. */
const SECRET = { cursorSecret: 'this deployment' };

beforeAll(async () => {
  redis = createRedis(REDIS);
  await connectRedis(redis);
  geo = new GeoIndex(redis, prefix, 'nearest', SECRET);
  const rnd = prng(7);
  const points: GeoPoint[] = [];
  for (let id = 1; id <= 3000; id++) {
    const d = 3 * Math.sqrt(rnd());
    const t = rnd() * 2 * Math.PI;
    points.push({
      id,
      lat: CENTER.lat + (d / 111.2) * Math.cos(t),
      lng: CENTER.lng + (d / (111.2 * Math.cos((CENTER.lat * Math.PI) / 180))) * Math.sin(t),
    });
  }
  for (let i = 0; i < points.length; i += 1000) await geo.upsert(points.slice(i, i + 1000));
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const snapshots = () => keysMatching(redis, `${geo.key}:near:*`);
const dropSnapshots = async () => {
  const keys = await snapshots();
  if (keys.length) await redis.del(...keys);
};
const encode = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString());

type Over = Partial<{ center: typeof CENTER; radiusKm: number; index: GeoIndex; limit: number }>;

function page(cursor?: string, over: Over = {}) {
  return nearestPage<{ id: number }, number>({
    geo: over.index ?? geo,
    center: over.center ?? CENTER,
    radiusKm: over.radiusKm ?? 5,
    limit: over.limit ?? 50,
    cursor,
    selective: false,
    filterIds: async (ids) => ids.map((id) => ({ id })),
    toItem: (row) => row.id,
  });
}

async function refused(cursor: string, over?: Over): Promise<void> {
  const err = await page(cursor, over).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('VALIDATION_FAILED');
  expect((err as AppError).errors?.map((e) => e.path)).toEqual(['query.cursor']);
}

describe('nearest-first cursors', () => {
  it('refuses a forged deep cursor without making a snapshot', async () => {
    await dropSnapshots();
    // 2.5 km deep in a circle of 3 000 members: its snapshot would hold most of them.
    await refused(encode({ s: 'distance', d: 2.5, i: 1 }));
    await refused(encode({ s: 'distance', d: 2.5, i: 1, m: 'A'.repeat(22) }));
    await refused(encode({ k: 'd', d: 2.5, i: 1 }));
    expect(await snapshots()).toEqual([]);
  });

  it('pages on with the cursors it issued, from any instance, and refuses them altered or elsewhere', async () => {
    await dropSnapshots();
    const first = await page();
    const all = [...first.items];
    for (let c = first.nextCursor; c;) {
      const next = await page(c);
      all.push(...next.items);
      c = next.nextCursor;
    }
    expect(all).toHaveLength(3000);
    expect(new Set(all).size).toBe(3000);

    // Another instance (its own GeoIndex, the same secret) checks with the same key.
    const second = await page(first.nextCursor!, { index: new GeoIndex(redis, prefix, 'nearest', SECRET) });
    expect(second.items).toEqual(all.slice(50, 100));

    const signed = decode(first.nextCursor!);
    await refused(encode({ ...signed, d: signed.d + 2 }));
    await refused(encode({ ...signed, i: signed.i + 1 }));
    await refused(first.nextCursor!, { center: { lat: CENTER.lat + 0.01, lng: CENTER.lng } });
    await refused(first.nextCursor!, { radiusKm: 4 });
    // Another index's cursor (same query) is not one of this index.
    const other = new GeoIndex(redis, prefix, 'nearest-other', SECRET);
    await other.upsert([
      { id: 1, lat: CENTER.lat, lng: CENTER.lng },
      { id: 2, ...CENTER },
    ]);
    const foreign = (await nearestPage({ ...pageQuery(other), limit: 1 })).nextCursor!;
    await refused(foreign);
  });

  it('accepts an unsigned cursor only as shallow as the first snapshot disk', async () => {
    const first = await page(undefined, { limit: 5 });
    const { d, i } = decode(first.nextCursor!);
    expect(d).toBeLessThan(0.2);
    const signed = await page(first.nextCursor!, { limit: 5 });
    expect((await page(encode({ s: 'distance', d, i }), { limit: 5 })).items).toEqual(signed.items);
    expect((await page(encode({ k: 'd', d, i }), { limit: 5 })).items).toEqual(signed.items);
    await refused(encode({ s: 'distance', d: 0.21, i }));
  });

  it('keeps its cursors good when Redis loses every other key, and refuses another deployment’s', async () => {
    const first = await page();
    // Everything under the prefix but the index itself goes (snapshots and any key signing might use).
    const others = (await keysMatching(redis, `${prefix}*`)).filter((k) => k !== geo.key);
    if (others.length) await redis.del(...others);
    const index = new GeoIndex(redis, prefix, 'nearest', SECRET); // an instance that just started
    expect((await page(first.nextCursor!, { index })).items).toHaveLength(50);
    // The same index and query under another secret is another deployment: its cursors are not ours.
    await refused(first.nextCursor!, { index: new GeoIndex(redis, prefix, 'nearest', { cursorSecret: 'another' }) });
  });

  it('will not page an index made without a cursor secret', async () => {
    const bare = new GeoIndex(redis, prefix, 'nearest');
    await expect(page(undefined, { index: bare })).rejects.toThrow(/without a cursor secret/);
  });
});

function pageQuery(index: GeoIndex) {
  return {
    geo: index,
    center: CENTER,
    radiusKm: 5,
    limit: 50,
    selective: false,
    filterIds: async (ids: number[]) => ids.map((id) => ({ id })),
    toItem: (row: { id: number }) => row.id,
  };
}
