import { useFileRedis } from '../../test/helpers/context';
import { PrivateRedis } from '../../test/helpers/faults';
import { prng } from '../../test/helpers/random';
import { connectRedis, createRedis, parseClusterUrl, type Redis } from './redis';
import { GeoIndex, type GeoPoint } from './geo';
import { pageByDistance, type DistanceCursor, type DistancePage, type DistancePageQuery } from './geo-paging';

/**
 * The nearest-first pager against the brute force of the whole circle (one GEOSEARCH, sorted by
 * distance then id), with a dense disk, a tie group of identical points and filters; and what a deep
 * page costs: the candidates it sends to the filter and the GEO scans it makes.
 */
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
let redis: Redis;
const prefix = useFileRedis((client) => (redis = client));
let kinds = 0;
const CENTER = { lat: 37.5665, lng: 126.978 };
const DUP = { lat: 37.5701, lng: 126.9801 }; // 40 members at exactly this point

/** `n` points uniformly within `km` of the centre (plus the tie group), in a fresh index. */
async function seeded(n: number, km: number, client: Redis = redis): Promise<GeoIndex> {
  const geo = new GeoIndex(client, prefix, `paging${kinds++}`);
  const rnd = prng(n + kinds);
  const points: GeoPoint[] = [];
  for (let id = 1; id <= n; id++) {
    const d = km * Math.sqrt(rnd());
    const t = rnd() * 2 * Math.PI;
    points.push({
      id,
      lat: CENTER.lat + (d / 111.2) * Math.cos(t),
      lng: CENTER.lng + (d / (111.2 * Math.cos((CENTER.lat * Math.PI) / 180))) * Math.sin(t),
    });
  }
  for (let id = n + 1; id <= n + 40; id++) points.push({ id, ...DUP });
  for (let i = 0; i < points.length; i += 1000) await geo.upsert(points.slice(i, i + 1000));
  return geo;
}

type Query = Omit<DistancePageQuery<{ id: number }>, 'cursor' | 'filterIds' | 'geo'> & {
  pass: (id: number) => boolean;
  /** Runs before each page after the first (e.g. expires the snapshots). */
  between?: (page: number) => Promise<void>;
};

/** Every page in turn; the ids sent to the filter per page. */
async function walk(geo: GeoIndex, q: Query) {
  const ids: number[] = [];
  const sent: number[] = [];
  let cursor: DistanceCursor | null = null;
  for (let page = 1; ; page++) {
    if (page > 1) await q.between?.(page);
    let n = 0;
    const res: DistancePage<{ id: number }> = await pageByDistance({
      ...q,
      geo,
      cursor,
      filterIds: async (batch) => {
        n += batch.length;
        return batch.filter(q.pass).map((id) => ({ id }));
      },
    });
    sent.push(n);
    ids.push(...res.page.map((p) => p.row.id));
    if (!res.next) break;
    expect(res.page).toHaveLength(q.limit);
    cursor = res.next;
    if (page > 2000) throw new Error('paging does not end');
  }
  return { ids, sent };
}

async function bruteForce(geo: GeoIndex, q: Query): Promise<number[]> {
  const all = await geo.search(q.center, q.radiusKm);
  return all
    .filter((h) => q.pass(h.id))
    .sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id)
    .map((h) => h.id);
}

describe('pageByDistance', () => {
  let geo: GeoIndex;
  beforeAll(async () => {
    geo = await seeded(6000, 3);
  });

  it.each([
    ['every member, pages of 100', { limit: 100, selective: false, pass: () => true }],
    ['a third filtered out, pages of 7', { limit: 7, selective: true, pass: (id: number) => id % 3 !== 0 }],
    ['one in 50 passes, pages of 20', { limit: 20, selective: true, pass: (id: number) => id % 50 === 0 }],
    ['the tie group one by one', { limit: 1, selective: false, pass: (id: number) => id > 6000 }],
  ])(
    'walks the circle exactly: %s',
    async (_, q) => {
      const query = { ...q, center: CENTER, radiusKm: 5 };
      const { ids } = await walk(geo, query);
      expect(ids).toEqual(await bruteForce(geo, query));
    },
    60_000,
  );

  it('stays exact when the snapshots expire between pages, and past a capped snapshot', async () => {
    const expire = async () => {
      const keys = await redis.keys(`${geo.key}:near:*`);
      if (keys.length) await redis.del(...keys);
    };
    for (const q of [
      { limit: 50, selective: false, pass: () => true, between: expire },
      { limit: 30, selective: true, pass: (id: number) => id % 4 !== 0, snapshotCap: 700 },
    ]) {
      const query = { ...q, center: DUP, radiusKm: 4 };
      const { ids } = await walk(geo, query);
      expect(ids).toEqual(await bruteForce(geo, query));
    }
  }, 60_000);

  it('sends a deep page no more candidates than the first', async () => {
    // A fresh centre: the snapshots are made by this walk. 60 pages of 100 reach the circle's edge.
    const q = { center: { lat: CENTER.lat + 0.001, lng: CENTER.lng }, radiusKm: 5, limit: 100, selective: false };
    const { sent } = await walk(geo, { ...q, pass: () => true });
    expect(sent.length).toBeGreaterThanOrEqual(55);
    // Each page reads about one batch (101 plus a margin): the old disk search sent a deep page every
    // member between its cursor and a disk 1.25 times as far, thousands of them by page 50.
    expect(Math.max(...sent)).toBeLessThanOrEqual(2 * 124);
  }, 60_000);

  // MONITOR shows one server's commands; on a cluster the index's node is one of several. It shows
  // every client's: a server of the test's own, so other work on the shared one (a benchmark's
  // thousands of commands a second) can neither flood nor confuse it.
  (parseClusterUrl(REDIS) ? it.skip : it)(
    'reads a deep page from the snapshot: no GEO scan, one script call',
    async () => {
      const server = await PrivateRedis.create();
      await server.start();
      const own = createRedis(server.url);
      await connectRedis(own);
      try {
        await deepPageCommands(own, await seeded(6000, 3, own));
      } finally {
        own.disconnect();
        await server.stop();
      }
    },
    60_000,
  );
});

/** The deep-page check above, on `client`'s server. */
async function deepPageCommands(client: Redis, geo: GeoIndex): Promise<void> {
  const q = {
    center: { lat: CENTER.lat - 0.001, lng: CENTER.lng },
    radiusKm: 5,
    limit: 100,
    selective: false,
    filterIds: async (ids: number[]) => ids.map((id) => ({ id })),
  };
  let cursor: DistanceCursor | null = null;
  for (let page = 1; page < 40; page++) {
    const res: DistancePage<{ id: number }> = await pageByDistance({ ...q, geo, cursor });
    cursor = res.next;
  }
  // Page 40 again, now that its snapshot exists (as for a second client at the same depth).
  await pageByDistance({ ...q, geo, cursor });
  const seen = await watch(client, geo);
  try {
    const res = await pageByDistance({ ...q, geo, cursor });
    expect(res.page).toHaveLength(100);
    await client.ping(); // MONITOR's lines arrive before this one's answer
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.commands.filter((c) => c.startsWith('geosearch'))).toEqual([]);
    expect(seen.commands.filter((c) => c.startsWith('evalsha'))).toHaveLength(1);
    // The first page of the same query does scan (the check can fail).
    seen.commands.length = 0;
    await pageByDistance({ ...q, geo, cursor: null });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.commands.filter((c) => c.startsWith('geosearch')).length).toBeGreaterThan(0);
  } finally {
    seen.stop();
  }
}

/** The commands (name, lower case) `client`'s server runs on `geo`'s keys, scripts' inner calls included, until stopped. */
async function watch(client: Redis, geo: GeoIndex): Promise<{ commands: string[]; stop: () => void }> {
  const monitor = await (client as import('ioredis').Redis).monitor();
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.startsWith(geo.key))) commands.push(String(args[0]).toLowerCase());
  });
  return { commands, stop: () => monitor.disconnect() };
}
