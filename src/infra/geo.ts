import { randomBytes } from 'node:crypto';
import type { Redis } from './redis';

/**
 * A Redis GEO index of one kind of thing (`sitters`, later `meetups`) under `${prefix}geo:<kind>`.
 * MySQL is the truth; this is a derived, rebuildable copy written after commit (through the outbox).
 *
 * Rebuilds go into `${key}:rebuild:<rand>` and are swapped in with RENAME. While one runs, a marker
 * key (`${key}:rebuilding`, with a TTL) names the temporary key, and every write goes to both keys in
 * one Lua script — the marker check and the writes are atomic with respect to the swap — so nothing
 * written during the rebuild is lost. The caller must make its source reads and `write()` calls
 * exclude concurrent writers of the same rows (the sitters module reads each batch with a share lock
 * and its writers hold the row lock while they update Redis), so a stale batch never lands after a
 * newer write.
 *
 * The scripts touch the temporary key by name without declaring it, which standalone Redis allows
 * and Redis Cluster does not; Pawmate runs on a single Redis (or a primary with replicas).
 */

/** Redis GEO only encodes latitudes within this band (EPSG:900913 limits). */
export const GEO_MAX_LAT = 85.05112878;
/** The Earth radius Redis uses for its haversine distances, in metres. */
export const REDIS_EARTH_RADIUS_M = 6372797.560856;

export interface GeoPoint {
  id: number;
  lat: number;
  lng: number;
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
 * Feeds a rebuild: read up to `batchSize` items with id > `afterId` in id order, pass them to `write`
 * while still excluding concurrent writers of those rows, and return the last id read (0 when none).
 */
export type GeoSource = (afterId: number, batchSize: number, write: (points: GeoPoint[]) => Promise<void>) => Promise<number>;

const MARKER_TTL_SEC = 120;

const UPSERT = `
local n = #ARGV - 1
redis.call('GEOADD', KEYS[1], unpack(ARGV, 1, n))
local tmp = redis.call('GET', KEYS[2])
if tmp then
  redis.call('GEOADD', tmp, unpack(ARGV, 1, n))
  if redis.call('TTL', tmp) < 0 then redis.call('EXPIRE', tmp, ARGV[#ARGV]) end
end
return tmp and 1 or 0`;

const REMOVE = `
redis.call('ZREM', KEYS[1], unpack(ARGV))
local tmp = redis.call('GET', KEYS[2])
if tmp then redis.call('ZREM', tmp, unpack(ARGV)) end
return tmp and 1 or 0`;

/** Keeps the marker and the temporary key alive while this rebuild still owns the marker. */
const REFRESH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', ARGV[1]) == 1 then redis.call('EXPIRE', ARGV[1], ARGV[2]) end
return 1`;

/** The swap: RENAME over the live key and drop the marker in one step, so no write falls between. */
const SWAP = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', ARGV[1]) == 1 then
  redis.call('RENAME', ARGV[1], KEYS[1])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('DEL', KEYS[2])
return 1`;

const ABORT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', ARGV[1])
return 1`;

export class GeoIndex {
  readonly key: string;
  /** Names the temporary key of the rebuild in progress, if any. */
  readonly markerKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly kind: string,
  ) {
    this.key = `${prefix}geo:${kind}`;
    this.markerKey = `${this.key}:rebuilding`;
  }

  /** Adds or moves items (GEOADD); also into a running rebuild's key. */
  async upsert(points: GeoPoint[]): Promise<void> {
    if (!points.length) return;
    const args: (string | number)[] = [];
    for (const p of points) {
      if (!(Math.abs(p.lat) <= GEO_MAX_LAT && Math.abs(p.lng) <= 180)) throw new RangeError(`coordinates out of the GEO range for ${this.kind} ${p.id}`);
      args.push(p.lng, p.lat, String(p.id));
    }
    await this.redis.eval(UPSERT, 2, this.key, this.markerKey, ...args, MARKER_TTL_SEC);
  }

  /** Removes items (ZREM); also from a running rebuild's key. Removing a missing id is a no-op. */
  async remove(ids: number[]): Promise<void> {
    if (!ids.length) return;
    await this.redis.eval(REMOVE, 2, this.key, this.markerKey, ...ids.map(String));
  }

  /**
   * Items within `radiusKm` of the centre, nearest first (GEOSEARCH … ASC WITHDIST). With `count`,
   * only the `count` nearest; without it, the whole circle.
   */
  async search(center: { lat: number; lng: number }, radiusKm: number, count?: number): Promise<GeoHit[]> {
    const args: (string | number)[] = ['FROMLONLAT', center.lng, center.lat, 'BYRADIUS', radiusKm, 'km', 'ASC'];
    if (count !== undefined) args.push('COUNT', count);
    args.push('WITHDIST');
    const rows = (await this.redis.call('GEOSEARCH', this.key, ...args)) as [string, string][];
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
    return this.redis.get(this.markerKey);
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
    const tempKey = `${this.key}:rebuild:${randomBytes(6).toString('hex')}`;
    const claimed = await this.redis.set(this.markerKey, tempKey, 'EX', MARKER_TTL_SEC, 'NX');
    if (claimed !== 'OK') throw new Error(`a rebuild of ${this.key} is already running (${await this.redis.get(this.markerKey)})`);
    let count = 0;
    try {
      let afterId = 0;
      for (;;) {
        let written = 0;
        const lastId = await source(afterId, batchSize, async (points) => {
          if (!points.length) return;
          const args: (string | number)[] = [];
          for (const p of points) args.push(p.lng, p.lat, String(p.id));
          await this.redis.multi().call('GEOADD', tempKey, ...args).expire(tempKey, MARKER_TTL_SEC).exec();
          written += points.length;
        });
        count += written;
        const alive = await this.redis.eval(REFRESH, 1, this.markerKey, tempKey, MARKER_TTL_SEC);
        if (alive !== 1) throw new Error(`the rebuild marker of ${this.key} expired; writes may have been missed`);
        options.onProgress?.({ done: count, total: options.total ?? null });
        if (!lastId) break;
        afterId = lastId;
      }
      const swapped = await this.redis.eval(SWAP, 2, this.key, this.markerKey, tempKey);
      if (swapped !== 1) throw new Error(`the rebuild marker of ${this.key} expired before the swap`);
      return { count, tempKey };
    } catch (err) {
      await this.redis.eval(ABORT, 1, this.markerKey, tempKey).catch(() => undefined);
      throw err;
    }
  }
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
