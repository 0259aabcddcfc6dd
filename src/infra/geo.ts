import { randomBytes } from 'node:crypto';
import { luaScript, slotTag, type Redis } from './redis';
import { cursorKeyFrom } from './geo-cursor';

/**
 * A Redis GEO index of one kind of thing (`sitters`, later `meetups`) under `${prefix}geo:<kind>`.
 * MySQL is the truth; this is a derived, rebuildable copy written after commit (through the outbox).
 *
 * Order safety: every change carries the row's version (bumped under the row lock by each write, so
 * versions follow commit order). `apply` keeps the last applied version per id in a hash
 * (`${key}:versions`) and ignores anything not newer, so outbox rows carried out twice, late, or
 * by two instances at once can never move the index back to an older state. No database read is
 * needed to carry a change out.
 *
 * Rebuilds go into `${key}:rebuild` and are swapped in with RENAME. While one runs, a marker key
 * (`${key}:rebuilding`, with a TTL) holds the rebuild's random token and every `apply` writes both
 * keys, in one Lua script (atomic with respect to the swap). A rebuild batch read from MySQL is
 * written into the temporary key only where the index has not already applied a newer version, so a
 * stale batch never overwrites a concurrent change: no write made during a rebuild is lost.
 *
 * Redis Cluster: every script is given every key it touches as KEYS (the temporary key has a fixed
 * name for that reason; the token in the marker tells whose rebuild it is), and the four keys of an
 * index share one hash slot: on a cluster the key is `${prefix}{geo:<kind>}` (see slotTag), on one
 * server it stays `${prefix}geo:<kind>`.
 */

/** Redis GEO only encodes latitudes within this band (EPSG:900913 limits). */
export const GEO_MAX_LAT = 85.05112878;
/** The Earth radius Redis uses for its haversine distances, in metres. */
export const REDIS_EARTH_RADIUS_M = 6372797.560856;

export interface GeoPoint {
  id: number;
  lat: number;
  lng: number;
  /** For rebuilds: the row's version when it was read (see GeoChange). */
  version?: number;
}

/** A versioned change: `point` null removes the item. */
export interface GeoChange {
  id: number;
  version: number;
  point: { lat: number; lng: number } | null;
}

export interface GeoHit {
  id: number;
  /** Distance from the centre in km, as Redis computes it (4 decimals). */
  distanceKm: number;
}

export interface RebuildProgress {
  done: number;
  total: number | null;
}

/**
 * Feeds a rebuild: read up to `batchSize` items with id > `afterId` in id order, each with the version
 * it had when read, pass them to `write`, and return the last id read (0 when none).
 */
export type GeoSource = (
  afterId: number,
  batchSize: number,
  write: (points: GeoPoint[]) => Promise<void>,
) => Promise<number>;

const MARKER_TTL_SEC = 120;

type Script = ReturnType<typeof luaScript>;

/** KEYS: live, marker, temp. ARGV: (lng, lat, id)…, ttl. Also into the temporary key while a rebuild runs. */
const UPSERT = `
local n = #ARGV - 1
redis.call('GEOADD', KEYS[1], unpack(ARGV, 1, n))
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('GEOADD', KEYS[3], unpack(ARGV, 1, n))
if redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], ARGV[#ARGV]) end
return 1`;

/** KEYS: live, marker, temp. ARGV: ids. */
const REMOVE = `
redis.call('ZREM', KEYS[1], unpack(ARGV))
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('ZREM', KEYS[3], unpack(ARGV))
return 1`;

/**
 * KEYS: live, marker, versions, temp. ARGV: ttl, then (id, version, lng|'', lat|'') per change. Applies
 * the changes newer than the last applied version of their id; returns how many were applied.
 */
const APPLY = `
local rebuilding = redis.call('EXISTS', KEYS[2]) == 1
local applied = 0
for i = 2, #ARGV, 4 do
  local id, v = ARGV[i], tonumber(ARGV[i + 1])
  local cur = tonumber(redis.call('HGET', KEYS[3], id) or '-1')
  if v > cur then
    redis.call('HSET', KEYS[3], id, v)
    if ARGV[i + 2] ~= '' then
      redis.call('GEOADD', KEYS[1], ARGV[i + 2], ARGV[i + 3], id)
      if rebuilding then redis.call('GEOADD', KEYS[4], ARGV[i + 2], ARGV[i + 3], id) end
    else
      redis.call('ZREM', KEYS[1], id)
      if rebuilding then redis.call('ZREM', KEYS[4], id) end
    end
    applied = applied + 1
  end
end
if rebuilding and redis.call('TTL', KEYS[4]) < 0 and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('EXPIRE', KEYS[4], ARGV[1])
end
return applied`;

/**
 * KEYS: marker, temp. ARGV: token, ttl. Takes the marker for this rebuild and empties the temporary
 * key, which a rebuild that died before its swap may have left (it expires, but perhaps not yet).
 */
const CLAIM = `
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 0 end
redis.call('DEL', KEYS[2])
return 1`;

/**
 * KEYS: versions, temp, marker. ARGV: token, ttl, then (id, version, lng, lat) per row read by a
 * rebuild. A row goes into the temporary key unless a newer version was applied since it was read
 * (that change went to both keys already). The version is not recorded: the outbox row of that
 * version, if still to come, must still reach the live key in case this rebuild is aborted. Returns
 * -1 when the marker is no longer this rebuild's (nothing written).
 */
const REBUILD_ADD = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
local n = 0
for i = 3, #ARGV, 4 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if cur <= tonumber(ARGV[i + 1]) then
    redis.call('GEOADD', KEYS[2], ARGV[i + 2], ARGV[i + 3], ARGV[i])
    n = n + 1
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return n`;

/**
 * KEYS: live, versions, tombstones, marker. ARGV: now (ms), cutoff (ms), then ids. Forgets the last
 * version of removed ids once they have been seen removed, at that same version, since before the
 * cutoff. An id's first sighting as removed is recorded in the tombstones hash as "version:ms"; a
 * newer version (re-added or removed again) starts the clock again, and an id present in the index
 * is no tombstone. Nothing is pruned while the index is missing or a rebuild runs.
 */
const PRUNE_TOMBSTONES = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
local pruned = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HGET', KEYS[2], id)
  if (not v) or redis.call('ZSCORE', KEYS[1], id) then
    redis.call('HDEL', KEYS[3], id)
  else
    local seen = redis.call('HGET', KEYS[3], id)
    local sv, st = nil, nil
    if seen then sv, st = string.match(seen, '^(.*):(%d+)$') end
    if sv ~= v then
      redis.call('HSET', KEYS[3], id, v .. ':' .. ARGV[1])
    elseif tonumber(st) <= tonumber(ARGV[2]) then
      redis.call('HDEL', KEYS[2], id)
      redis.call('HDEL', KEYS[3], id)
      pruned = pruned + 1
    end
  end
end
return pruned`;

/** KEYS: marker, temp. ARGV: token, ttl. Keeps both alive while this rebuild still owns the marker. */
const REFRESH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1`;

/**
 * KEYS: live, marker, temp. ARGV: token. The swap: RENAME over the live key and drop the marker in
 * one step, so no write falls between.
 */
const SWAP = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[1])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('DEL', KEYS[2])
return 1`;

/**
 * KEYS: marker, temp. ARGV: token. Only the owner of the marker drops the temporary key: once the
 * marker has expired, that key may already belong to a newer rebuild.
 */
const ABORT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/** A rebuild refused because another (another instance's, or a CLI run) holds the index's marker. */
export class RebuildRunning extends Error {}

export class GeoIndex {
  readonly key: string;
  /** Names the temporary key of the rebuild in progress, if any. */
  readonly markerKey: string;
  /** Last applied version per id. */
  readonly versionsKey: string;
  /** Where a rebuild writes before the swap. */
  readonly tempKey: string;
  /** When each removed id was first seen removed (see pruneTombstones). */
  readonly tombstonesKey: string;
  /** Where the tombstone scan of this process resumes (an HSCAN cursor of the versions hash). */
  private pruneCursor = '0';

  /** The scripts, registered once on the client and run by SHA (see luaScript). */
  private readonly lua: Record<
    'apply' | 'upsert' | 'remove' | 'claim' | 'rebuildAdd' | 'refresh' | 'swap' | 'abort' | 'pruneTombstones',
    Script
  >;

  /**
   * The key that signs this index's distance cursors (geo-cursor.ts), derived from the deployment's
   * secret; null for an index that is only written or rebuilt (the CLI, the benchmarks' seeding).
   */
  readonly cursorKey: Buffer | null;

  constructor(
    /** The client the index lives on (the nearest-first reads run their scripts there: geo-nearest.ts). */
    readonly redis: Redis,
    prefix: string,
    readonly kind: string,
    options: { cursorSecret?: string } = {},
  ) {
    this.cursorKey = options.cursorSecret ? cursorKeyFrom(options.cursorSecret) : null;
    this.key = `${prefix}${slotTag(redis, `geo:${kind}`)}`;
    this.markerKey = `${this.key}:rebuilding`;
    this.versionsKey = `${this.key}:versions`;
    this.tempKey = `${this.key}:rebuild`;
    this.tombstonesKey = `${this.key}:tombstones`;
    this.lua = {
      apply: luaScript(redis, 'geoApply', 4, APPLY),
      upsert: luaScript(redis, 'geoUpsert', 3, UPSERT),
      remove: luaScript(redis, 'geoRemove', 3, REMOVE),
      claim: luaScript(redis, 'geoRebuildClaim', 2, CLAIM),
      rebuildAdd: luaScript(redis, 'geoRebuildAdd', 3, REBUILD_ADD),
      refresh: luaScript(redis, 'geoRebuildRefresh', 2, REFRESH),
      swap: luaScript(redis, 'geoRebuildSwap', 3, SWAP),
      abort: luaScript(redis, 'geoRebuildAbort', 2, ABORT),
      pruneTombstones: luaScript(redis, 'geoPruneTombstones', 4, PRUNE_TOMBSTONES),
    };
  }

  /** Applies versioned changes (idempotent, order-safe); also into a running rebuild's key. */
  async apply(changes: GeoChange[]): Promise<number> {
    if (!changes.length) return 0;
    const args: (string | number)[] = [MARKER_TTL_SEC];
    for (const c of changes) {
      if (c.point) checkRange(c.point, `${this.kind} ${c.id}`);
      args.push(String(c.id), c.version, c.point ? c.point.lng : '', c.point ? c.point.lat : '');
    }
    return Number(await this.lua.apply(this.key, this.markerKey, this.versionsKey, this.tempKey, ...args));
  }

  /** Adds or moves items without a version (tools, tests); also into a running rebuild's key. */
  async upsert(points: GeoPoint[]): Promise<void> {
    if (!points.length) return;
    const args: (string | number)[] = [];
    for (const p of points) {
      checkRange(p, `${this.kind} ${p.id}`);
      args.push(p.lng, p.lat, String(p.id));
    }
    await this.lua.upsert(this.key, this.markerKey, this.tempKey, ...args, MARKER_TTL_SEC);
  }

  /**
   * Retention of the versions hash. The last version of a removed id is a tombstone: it is what makes
   * a late outbox row (an older change, retried after the removal was applied) a no-op instead of
   * putting the item back. Outbox rows stop being retried after a bounded time, so a tombstone older
   * than that has nothing left to stop: it is forgotten once it has been seen removed, at the same
   * version, for `olderThanMs`. Scans at most `budget` entries per call, resuming where the last call
   * of this process stopped; returns how many tombstones were forgotten.
   */
  async pruneTombstones(nowMs: number, olderThanMs: number, budget = 50_000, batch = 1000): Promise<number> {
    let pruned = 0;
    let scanned = 0;
    do {
      const [next, flat] = await this.redis.hscan(this.versionsKey, this.pruneCursor, 'COUNT', batch);
      this.pruneCursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      scanned += ids.length;
      if (ids.length)
        pruned += Number(
          await this.lua.pruneTombstones(
            this.key,
            this.versionsKey,
            this.tombstonesKey,
            this.markerKey,
            nowMs,
            nowMs - olderThanMs,
            ...ids,
          ),
        );
    } while (this.pruneCursor !== '0' && scanned < budget);
    return pruned;
  }

  /** Removes items without a version (tools, tests); also from a running rebuild's key. */
  async remove(ids: number[]): Promise<void> {
    if (!ids.length) return;
    await this.lua.remove(this.key, this.markerKey, this.tempKey, ...ids.map(String));
  }

  /**
   * Items within `radiusKm` of the centre, nearest first (GEOSEARCH … ASC WITHDIST). With `count`,
   * only the `count` nearest; without it, the whole circle.
   */
  async search(center: { lat: number; lng: number }, radiusKm: number, count?: number): Promise<GeoHit[]> {
    return this.geosearch(center, radiusKm, ['ASC', ...(count !== undefined ? ['COUNT', count] : [])]);
  }

  /**
   * Up to `count` items within the circle, in no order (GEOSEARCH … COUNT n ANY WITHDIST): Redis stops
   * scanning once it has `count`, so this is cheap even where the circle is dense. Fewer than `count`
   * back means the whole circle.
   */
  async searchAny(center: { lat: number; lng: number }, radiusKm: number, count: number): Promise<GeoHit[]> {
    return this.geosearch(center, radiusKm, ['COUNT', count, 'ANY']);
  }

  private async geosearch(
    center: { lat: number; lng: number },
    radiusKm: number,
    options: (string | number)[],
  ): Promise<GeoHit[]> {
    const rows = (await this.redis.call(
      'GEOSEARCH',
      this.key,
      'FROMLONLAT',
      center.lng,
      center.lat,
      'BYRADIUS',
      radiusKm,
      'km',
      ...options,
      'WITHDIST',
    )) as [string, string][];
    return rows.map(([member, dist]) => ({ id: Number(member), distanceKm: Number(dist) }));
  }

  async size(): Promise<number> {
    return this.redis.zcard(this.key);
  }

  async has(id: number): Promise<boolean> {
    return (await this.redis.zscore(this.key, String(id))) !== null;
  }

  /** The stored position (Redis rounds it to its 52-bit geohash), or null. */
  async position(id: number): Promise<{ lat: number; lng: number } | null> {
    const [pos] = (await this.redis.geopos(this.key, String(id))) as ([string, string] | null)[];
    return pos ? { lng: Number(pos[0]), lat: Number(pos[1]) } : null;
  }

  /** The temporary key of the rebuild in progress, or null. */
  async rebuildInProgress(): Promise<string | null> {
    return (await this.redis.exists(this.markerKey)) ? this.tempKey : null;
  }

  /**
   * Rebuild from a table read in id order: `count` for the progress line, `batch` for the rows after
   * an id (each with its version). The sitters' and meetups' reindex are both this.
   */
  rebuildFromTable(
    table: { count: () => Promise<number>; batch: (afterId: number, size: number) => Promise<GeoPoint[]> },
    options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
  ) {
    return table.count().then((total) =>
      this.rebuild(
        async (afterId, batchSize, write) => {
          const rows = await table.batch(afterId, batchSize);
          await write(rows);
          return rows.length ? rows[rows.length - 1].id : 0;
        },
        { ...options, total },
      ),
    );
  }

  /**
   * Rebuilds the index from the source of truth into a temporary key, then swaps it in. Refuses to
   * start while another rebuild holds the marker; aborts (leaving the live key as it was) when the
   * source fails or the marker was lost, since writes might then have missed the temporary key.
   */
  async rebuild(
    source: GeoSource,
    options: { batchSize?: number; total?: number | null; onProgress?: (p: RebuildProgress) => void } = {},
  ): Promise<{ count: number; tempKey: string }> {
    const batchSize = options.batchSize ?? 1000;
    const { tempKey } = this;
    const token = randomBytes(9).toString('hex');
    const claimed = await this.lua.claim(this.markerKey, tempKey, token, MARKER_TTL_SEC);
    if (claimed !== 1)
      throw new RebuildRunning(`a rebuild of ${this.key} is already running (${await this.redis.get(this.markerKey)})`);
    let count = 0;
    try {
      let afterId = 0;
      for (;;) {
        let written = 0;
        const lastId = await source(afterId, batchSize, async (points) => {
          if (!points.length) return;
          const args: (string | number)[] = [token, MARKER_TTL_SEC];
          for (const p of points) {
            checkRange(p, `${this.kind} ${p.id}`);
            args.push(String(p.id), p.version ?? 0, p.lng, p.lat);
          }
          const added = Number(await this.lua.rebuildAdd(this.versionsKey, tempKey, this.markerKey, ...args));
          if (added < 0) throw new Error(`the rebuild marker of ${this.key} expired; writes may have been missed`);
          written += added;
        });
        count += written;
        const alive = await this.lua.refresh(this.markerKey, tempKey, token, MARKER_TTL_SEC);
        if (alive !== 1) throw new Error(`the rebuild marker of ${this.key} expired; writes may have been missed`);
        options.onProgress?.({ done: count, total: options.total ?? null });
        if (!lastId) break;
        afterId = lastId;
      }
      const swapped = await this.lua.swap(this.key, this.markerKey, tempKey, token);
      if (swapped !== 1) throw new Error(`the rebuild marker of ${this.key} expired before the swap`);
      return { count, tempKey };
    } catch (err) {
      await this.lua.abort(this.markerKey, tempKey, token).catch(() => undefined);
      throw err;
    }
  }
}

function checkRange(p: { lat: number; lng: number }, what: string): void {
  if (!(Math.abs(p.lat) <= GEO_MAX_LAT && Math.abs(p.lng) <= 180))
    throw new RangeError(`coordinates out of the GEO range for ${what}`);
}

/** Great-circle distance in metres with Redis's formula and Earth radius (for tests and tools). */
export function haversineMeters(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const lat1 = a.lat * rad;
  const lat2 = b.lat * rad;
  const u = Math.sin(((b.lat - a.lat) * rad) / 2);
  const v = Math.sin(((b.lng - a.lng) * rad) / 2);
  return 2 * REDIS_EARTH_RADIUS_M * Math.asin(Math.sqrt(u * u + Math.cos(lat1) * Math.cos(lat2) * v * v));
}
