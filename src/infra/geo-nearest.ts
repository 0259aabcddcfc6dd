import { luaScript } from './redis';
import type { GeoHit, GeoIndex } from './geo';

/**
 * The two Redis reads behind the nearest-first pager (geo-paging.ts), each one script, so one round
 * trip, whatever the density:
 *
 * - `nearestInDisk`, for a first page: GEOSEARCH … ASC COUNT c over a disk that doubles from `r0`
 *   until it holds `c` members or is the whole circle. Redis scans every member of the disk it is
 *   given (COUNT does not shorten the scan), so the disk, not the circle, bounds the cost.
 * - `snapshotRange`, for the pages after a cursor: a ring cannot be searched, but the distances of a
 *   disk, once stored as the scores of a sorted set (GEOSEARCHSTORE … STOREDIST), make
 *   any ring a score range. The snapshot of (centre, disk) is made once, kept `SNAPSHOT_TTL_SEC`
 *   from its creation (never extended, so no page reads an index older than that) and shared by every
 *   client paging the same query; each page then reads the members after its cursor with one
 *   ZRANGEBYSCORE … LIMIT, at the same cost on page 50 as on page 2.
 *
 * Redis Cluster: a snapshot key is the index key plus a suffix, so it has the index's hash tag and
 * GEOSEARCHSTORE's source and destination share a slot.
 */

/** How long a snapshot serves the pages after it (seconds from its creation). */
export const SNAPSHOT_TTL_SEC = 120;

/**
 * At most this many nearest members are stored per snapshot (≈ 2 MB), whatever the disk holds: a
 * capped snapshot is complete only up to its last member's distance, and pages beyond that go back to
 * searching the live index (geo-paging.ts).
 */
export const SNAPSHOT_CAP = 20_000;

/** KEYS: index. ARGV: lng, lat, radius, r0, count. Returns { doublings, hits (member, dist)… }. */
const NEAREST_IN_DISK = `
local radius, r, c = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local doublings = 0
while true do
  if r >= radius then r = radius end
  local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', r, 'km', 'ASC', 'COUNT', c, 'WITHDIST')
  if #hits >= c or r >= radius then return { doublings, hits } end
  r = r * 2
  doublings = doublings + 1
end`;

/**
 * KEYS: index, snapshot. ARGV: lng, lat, disk radius, cap, ttl, min score, limit. Makes the snapshot
 * when missing, then returns { size, last score, (member, score)… from min score }. An empty disk
 * leaves no key (GEOSEARCHSTORE deletes an empty destination): size 0.
 */
const SNAPSHOT_RANGE = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  local n = redis.call('GEOSEARCHSTORE', KEYS[2], KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'km', 'ASC', 'COUNT', ARGV[4], 'STOREDIST')
  if n == 0 then return { 0, '0', {} } end
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
return { redis.call('ZCARD', KEYS[2]), last[2], redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[6], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[7]) }`;

/**
 * A distance in km as GEOSEARCH … WITHDIST prints it (Redis 7.0 formats with "%.4f"): STOREDIST keeps
 * the same double unrounded, so a snapshot's scores rounded here equal what WITHDIST would answer,
 * and the pages of either read agree on the order (distance, then id).
 */
export const roundKm = (km: number) => Number(km.toFixed(4));

type Center = { lat: number; lng: number };

/**
 * The `count` nearest members within `min(r0 · 2^k, radiusKm)` for the least k where that disk holds
 * `count` members (or is the whole circle). `diskKm` is the disk searched last.
 */
export async function nearestInDisk(
  geo: GeoIndex,
  center: Center,
  radiusKm: number,
  r0: number,
  count: number,
): Promise<{ hits: GeoHit[]; diskKm: number }> {
  const run = luaScript(geo.redis, 'geoNearestInDisk', 1, NEAREST_IN_DISK);
  const [doublings, rows] = (await run(geo.key, center.lng, center.lat, radiusKm, r0, count)) as [
    number,
    [string, string][],
  ];
  // The script doubles in doubles too, so this is the radius it searched, to the last bit.
  let diskKm = r0;
  for (let k = 0; k < doublings; k++) diskKm *= 2;
  return {
    hits: rows.map(([member, dist]) => ({ id: Number(member), distanceKm: Number(dist) })),
    diskKm: Math.min(diskKm, radiusKm),
  };
}

export interface SnapshotRange {
  /** Members stored (0: the disk was empty). `size >= SNAPSHOT_CAP` means the snapshot was capped. */
  size: number;
  /** The largest stored distance, rounded (km). */
  lastKm: number;
  /** From the asked distance on, nearest first (at most `limit`), distances rounded (km). */
  hits: GeoHit[];
}

/** The snapshot key of a query's disk: the index key's suffix, so the same slot. */
export function snapshotKey(geo: GeoIndex, center: Center, diskKm: number): string {
  return `${geo.key}:near:${center.lng},${center.lat},${diskKm}`;
}

/** Up to `limit` members of the disk's snapshot with a distance ≥ `fromKm`, making the snapshot if missing. */
export async function snapshotRange(
  geo: GeoIndex,
  center: Center,
  diskKm: number,
  fromKm: number,
  limit: number,
  cap = SNAPSHOT_CAP,
): Promise<SnapshotRange> {
  const run = luaScript(geo.redis, 'geoSnapshotRange', 2, SNAPSHOT_RANGE);
  const [size, last, flat] = (await run(
    geo.key,
    snapshotKey(geo, center, diskKm),
    center.lng,
    center.lat,
    diskKm,
    cap,
    SNAPSHOT_TTL_SEC,
    Math.max(0, fromKm),
    limit,
  )) as [number, string, string[]];
  const hits: GeoHit[] = [];
  for (let i = 0; i < flat.length; i += 2) hits.push({ id: Number(flat[i]), distanceKm: roundKm(Number(flat[i + 1])) });
  return { size: Number(size), lastKm: roundKm(Number(last)), hits };
}
