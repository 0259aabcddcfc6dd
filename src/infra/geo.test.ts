import { useFileRedis } from '../../test/helpers/context';
import { connectRedis, createRedis, isCluster, parseClusterUrl, slotTag, type Redis } from './redis';
import { GeoIndex, haversineMeters, type GeoPoint, type GeoSource } from './geo';

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
let redis: Redis;
const prefix = useFileRedis((client) => (redis = client));
let n = 0;
const fresh = () => new GeoIndex(redis, prefix, `kind${n++}`);

const members = async (geo: GeoIndex) => (await redis.zrange(geo.key, 0, -1)).map(Number).sort((a, b) => a - b);

/** A source over an in-memory table; `during(batchNo)` runs inside a batch, between read and write. */
function tableSource(table: Map<number, GeoPoint>, during?: (batch: number) => Promise<void>): GeoSource {
  let batch = 0;
  return async (afterId, size, write) => {
    const rows = [...table.values()]
      .filter((p) => p.id > afterId)
      .sort((a, b) => a.id - b.id)
      .slice(0, size);
    await write(rows);
    await during?.(batch++);
    return rows.length ? rows[rows.length - 1].id : 0;
  };
}

describe('GeoIndex', () => {
  // CLIENT LIST/ID name one server's connections; on a cluster the client holds one per node.
  const oneServer = parseClusterUrl(REDIS) ? it.skip : it;
  oneServer(
    'sends its Lua once per connection, then only the SHA (EVALSHA), also for a second index on the client',
    async () => {
      // Another connection reads what this client's connection ran last (CLIENT LIST shows `cmd=`).
      const probe = createRedis(REDIS);
      await connectRedis(probe);
      try {
        const id = await redis.client('ID');
        const lastCommand = async () => /\bcmd=(\S+)/.exec(String(await probe.client('LIST', 'ID', id)))?.[1];
        const a = new GeoIndex(redis, prefix, 'lua-a');
        const b = new GeoIndex(redis, prefix, 'lua-b');
        await a.remove([1]);
        expect(['eval', 'evalsha']).toContain(await lastCommand()); // an earlier test may have loaded it
        await a.remove([2]);
        expect(await lastCommand()).toBe('evalsha');
        await b.remove([3]);
        expect(await lastCommand()).toBe('evalsha');
      } finally {
        probe.disconnect();
      }
    },
  );

  it('keys per kind under the prefix; upsert, search nearest first, COUNT, remove', async () => {
    const geo = new GeoIndex(redis, prefix, 'sitters');
    expect(geo.key).toBe(`${prefix}${slotTag(redis, 'geo:sitters')}`);
    expect(geo.key).toBe(isCluster(redis) ? `${prefix}{geo:sitters}` : `${prefix}geo:sitters`);
    await geo.upsert([
      { id: 1, lat: 37.5665, lng: 126.978 },
      { id: 2, lat: 37.57, lng: 126.978 },
      { id: 3, lat: 37.6, lng: 126.978 },
      { id: 4, lat: 35.1796, lng: 129.0756 },
    ]);
    const all = await geo.search({ lat: 37.5665, lng: 126.978 }, 10);
    expect(all.map((h) => h.id)).toEqual([1, 2, 3]);
    expect(all[1].distanceKm).toBeCloseTo(0.389, 2);
    expect(await geo.search({ lat: 37.5665, lng: 126.978 }, 10, 2)).toHaveLength(2);
    await geo.remove([2, 99]);
    expect((await geo.search({ lat: 37.5665, lng: 126.978 }, 10)).map((h) => h.id)).toEqual([1, 3]);
    await geo.upsert([{ id: 1, lat: 35.18, lng: 129.07 }]); // moves
    expect((await geo.search({ lat: 37.5665, lng: 126.978 }, 10)).map((h) => h.id)).toEqual([3]);
    await expect(geo.upsert([{ id: 5, lat: 86, lng: 0 }])).rejects.toThrow(RangeError);
  });

  it('apply follows versions: late, repeated or reordered changes never win over newer ones', async () => {
    const geo = fresh();
    const A = { lat: 10, lng: 10 };
    const B = { lat: 20, lng: 20 };
    expect(await geo.apply([{ id: 1, version: 2, point: B }])).toBe(1);
    expect(await geo.apply([{ id: 1, version: 1, point: A }])).toBe(0); // late
    expect((await geo.position(1))!.lat).toBeCloseTo(20, 4);
    expect(await geo.apply([{ id: 1, version: 2, point: B }])).toBe(0); // repeated
    expect(await geo.apply([{ id: 1, version: 3, point: null }])).toBe(1); // removed
    expect(await geo.apply([{ id: 1, version: 2, point: B }])).toBe(0);
    expect(await geo.has(1)).toBe(false);
    expect(
      await geo.apply([
        { id: 1, version: 4, point: A },
        { id: 2, version: 1, point: B },
      ]),
    ).toBe(2);
    expect(await members(geo)).toEqual([1, 2]);
    await expect(geo.apply([{ id: 3, version: 1, point: { lat: 85.1, lng: 0 } }])).rejects.toThrow(RangeError);
  });

  it('a rebuild batch read before a newer change does not overwrite it', async () => {
    const geo = fresh();
    await geo.apply([
      { id: 1, version: 1, point: { lat: 1, lng: 1 } },
      { id: 2, version: 1, point: { lat: 2, lng: 2 } },
    ]);
    await geo.rebuild(async (afterId, _size, write) => {
      if (afterId) return 0;
      // The batch was read at version 1; then both rows changed and their changes were applied…
      const stale = [
        { id: 1, lat: 1, lng: 1, version: 1 },
        { id: 2, lat: 2, lng: 2, version: 1 },
      ];
      await geo.apply([
        { id: 1, version: 2, point: { lat: 5, lng: 5 } },
        { id: 2, version: 2, point: null },
      ]);
      // …before the batch reached Redis.
      await write(stale);
      return 2;
    });
    expect(await members(geo)).toEqual([1]);
    expect((await geo.position(1))!.lat).toBeCloseTo(5, 4);
  });

  it('haversineMeters matches Redis GEODIST on the stored positions', async () => {
    const geo = fresh();
    const a = { id: 1, lat: 37.1234567, lng: 127.7654321 };
    const b = { id: 2, lat: 37.3, lng: 126.9 };
    await geo.upsert([a, b]);
    const [pa, pb] = [await geo.position(1), await geo.position(2)];
    const redisM = Number(await redis.geodist(geo.key, '1', '2', 'M'));
    expect(Math.abs(haversineMeters(pa!, pb!) - redisM)).toBeLessThan(0.01);
    expect(Math.abs(haversineMeters(a, b) - redisM)).toBeLessThan(2);
  });

  it('a rebuild swaps in the source of truth and keeps every write made while it ran', async () => {
    const geo = fresh();
    // Live index with drift: 900 should not be there, 5 is missing.
    await geo.upsert([{ id: 900, lat: 1, lng: 1 }, ...[1, 2, 3, 4].map((id) => ({ id, lat: 10, lng: 10 }))]);
    const table = new Map<number, GeoPoint>(
      Array.from({ length: 10 }, (_, i) => [i + 1, { id: i + 1, lat: 20 + i * 0.01, lng: 20 }]),
    );
    let markerSeen: string | null = null;
    const result = await geo.rebuild(
      tableSource(table, async (batch) => {
        if (batch !== 1) return;
        markerSeen = await geo.rebuildInProgress();
        // Writers meanwhile (each also changes the truth first, as a committed transaction would):
        table.set(50, { id: 50, lat: 30, lng: 30 });
        await geo.upsert([table.get(50)!]); // new
        table.delete(2);
        await geo.remove([2]); // already copied into the temporary key
        table.set(1, { id: 1, lat: 40, lng: 40 });
        await geo.upsert([table.get(1)!]); // moved after being copied
        table.set(11, { id: 11, lat: 41, lng: 41 });
        await geo.upsert([table.get(11)!]);
      }),
      { batchSize: 3 },
    );
    expect(markerSeen).toBe(result.tempKey);
    expect(await members(geo)).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 50]);
    expect((await geo.position(1))!.lat).toBeCloseTo(40, 4);
    expect(result.count).toBeGreaterThanOrEqual(10);
    expect(await redis.exists(geo.markerKey, result.tempKey)).toBe(0);
    expect(await redis.ttl(geo.key)).toBe(-1);
    // After the swap writes go to the live key only.
    await geo.upsert([{ id: 77, lat: 1, lng: 1 }]);
    expect(await geo.has(77)).toBe(true);
    expect(await redis.exists(result.tempKey)).toBe(0);
  });

  it('without the dual write a write during the rebuild would be lost (the test can fail)', async () => {
    const geo = fresh();
    const table = new Map<number, GeoPoint>([[1, { id: 1, lat: 1, lng: 1 }]]);
    await geo.rebuild(
      tableSource(table, async (batch) => {
        if (batch === 0) await redis.geoadd(geo.key, 5, 5, '99'); // a raw write that bypasses GeoIndex
      }),
      { batchSize: 1 },
    );
    expect(await geo.has(99)).toBe(false);
  });

  it('refuses a second rebuild while one runs', async () => {
    const geo = fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = geo.rebuild(async (afterId, _size, write) => {
      if (afterId) return 0;
      await write([{ id: 1, lat: 1, lng: 1 }]);
      await gate;
      return 1;
    });
    await new Promise((r) => setTimeout(r, 20));
    await expect(geo.rebuild(tableSource(new Map()))).rejects.toThrow(/already running/);
    release();
    await first;
    expect(await members(geo)).toEqual([1]);
  });

  it('a failing source leaves the live key as it was and cleans up', async () => {
    const geo = fresh();
    await geo.upsert([{ id: 7, lat: 7, lng: 7 }]);
    let temp: string | null = null;
    await expect(
      geo.rebuild(async (_afterId, _size, write) => {
        await write([{ id: 8, lat: 8, lng: 8 }]);
        temp = await geo.rebuildInProgress();
        throw new Error('mysql went away');
      }),
    ).rejects.toThrow('mysql went away');
    expect(await members(geo)).toEqual([7]);
    expect(await redis.exists(geo.markerKey, temp!)).toBe(0);
    // And a new rebuild may start.
    await geo.rebuild(tableSource(new Map([[9, { id: 9, lat: 9, lng: 9 }]])));
    expect(await members(geo)).toEqual([9]);
  });

  it('aborts when the marker is lost (writes might have missed the temporary key)', async () => {
    const geo = fresh();
    await geo.upsert([{ id: 7, lat: 7, lng: 7 }]);
    await expect(
      geo.rebuild(async (afterId, _size, write) => {
        await write([{ id: 8, lat: 8, lng: 8 }]);
        await redis.del(geo.markerKey);
        return afterId ? 0 : 8;
      }),
    ).rejects.toThrow(/marker/);
    expect(await members(geo)).toEqual([7]);
  });

  it("a rebuild whose marker expired can neither write into nor delete a newer rebuild's key", async () => {
    const geo = fresh();
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let bStarted!: () => void;
    const bRunning = new Promise<void>((r) => (bStarted = r));
    let releaseB!: () => void;
    const gateB = new Promise<void>((r) => (releaseB = r));
    // A writes its first batch, then stalls past its marker's life; B claims the index meanwhile.
    const a = geo.rebuild(async (afterId, _size, write) => {
      if (afterId === 0) {
        await write([{ id: 1, lat: 1, lng: 1 }]);
        return 1;
      }
      await gateA;
      await write([{ id: 2, lat: 2, lng: 2 }]); // refused: the marker is B's now
      return 0;
    });
    await new Promise((r) => setTimeout(r, 50));
    await redis.del(geo.markerKey); // A's marker expired
    const b = geo.rebuild(async (afterId, _size, write) => {
      if (afterId) return 0;
      await write([{ id: 3, lat: 3, lng: 3 }]);
      bStarted();
      await gateB;
      return 3;
    });
    await bRunning;
    releaseA();
    await expect(a).rejects.toThrow(/marker/);
    // A's abort left B's temporary key and marker alone.
    expect(await geo.rebuildInProgress()).toBe(geo.tempKey);
    expect((await redis.zrange(geo.tempKey, 0, -1)).sort()).toEqual(['3']);
    releaseB();
    await b;
    expect(await members(geo)).toEqual([3]);
  });

  it('an empty source empties the index', async () => {
    const geo = fresh();
    await geo.upsert([{ id: 7, lat: 7, lng: 7 }]);
    const { count } = await geo.rebuild(tableSource(new Map()));
    expect(count).toBe(0);
    expect(await geo.size()).toBe(0);
  });
});
