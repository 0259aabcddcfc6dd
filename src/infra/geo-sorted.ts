import { haversineMeters, REDIS_EARTH_RADIUS_M, type GeoHit, type GeoIndex } from './geo';

/**
 * Sorts other than distance (rating, price, start time) want the circle's matches ordered by a column,
 * and there are two ways to get them, each cheap where the other is not:
 *
 * - `ids`: the circle comes whole from GEOSEARCH and its ids go to MySQL in one IN query, which
 *   filters, sorts and cuts the page. The cost grows with the number of members in the circle.
 * - `walk`: MySQL walks an index in sort order (lat and lng ride in the index, so rows outside the
 *   circle's bounding box are skipped before the row is read) and keeps rows within the exact sphere
 *   distance, stopping at the page size. The cost grows with total / circle: the rarer the circle's
 *   members among all, the more index entries are stepped over per hit.
 *
 * With c_row the cost of reading and filtering one row by id and c_entry that of stepping over one index
 * entry, the IN list costs circle × c_row and the walk (page / (share × pass)) × c_entry, where share =
 * circle / total and pass is the filters' pass rate; they meet at circle = √(page × total × c_entry /
 * (c_row × pass)). Measured on MariaDB 10.11 (docs/BENCHMARKS.md, 50k meetups and 100k sitters):
 * c_entry ≈ c_row / 8, and a filtered query passes about a quarter. A probe (GEOSEARCH … COUNT k ANY,
 * which stops after k members) asks for that many: fewer back is the whole circle, k back means dense.
 */
type KeySortPlan = { kind: 'ids'; hits: GeoHit[] } | { kind: 'walk'; circle: SqlCircle; examineAtMost: number };

/** Below this many members the IN list always wins (a few milliseconds at most). */
const MIN_DENSE = 500;

/**
 * Filters that pass far fewer rows than expected would make a walk step through the whole index
 * before it fills a page. The walk is therefore capped (MariaDB's LIMIT … ROWS EXAMINED, which ends the
 * query with the rows found so far, in order); a short answer is ambiguous (the end, or the cap), so the
 * page is then computed again with the IN list. The cap is a few times what the IN list would cost.
 */
const WALK_BUDGET_PER_MEMBER = 16;
const MIN_WALK_BUDGET = 10_000;

async function planKeySort(q: {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  want: number;
  selective: boolean;
  /** The table's alias in the walk query. */
  alias: string;
  /** A fixed threshold instead of the computed one (tests). */
  denseAt?: number | null;
  /** A fixed cap on the rows a walk examines (tests). */
  walkBudget?: number | null;
}): Promise<KeySortPlan> {
  const k =
    q.denseAt ?? Math.max(MIN_DENSE, Math.ceil(Math.sqrt((q.want * (await q.geo.size())) / (q.selective ? 2 : 8))));
  const hits = await q.geo.searchAny(q.center, q.radiusKm, k);
  if (hits.length < k) return { kind: 'ids', hits };
  return {
    kind: 'walk',
    circle: sqlCircle(q.alias, q.center, q.radiusKm),
    examineAtMost: q.walkBudget ?? Math.max(MIN_WALK_BUDGET, WALK_BUDGET_PER_MEMBER * k),
  };
}

/**
 * When the optimizer sorts instead of following the index (it may on a small table), the cap ends
 * the query with an error (1028, "Sort aborted: LIMIT ROWS EXAMINED") rather than partial rows: that
 * too is a short walk.
 */
export function capped(err: unknown): never[] {
  const e = err as { parent?: { errno?: number; sqlMessage?: string } };
  if (e.parent?.errno === 1028 && /ROWS EXAMINED/.test(e.parent.sqlMessage ?? '')) return [];
  throw err;
}

/** Where a key-sorted page's candidates come from: the circle's ids (from Redis), or an SQL circle to walk. */
export type KeySortSource = { ids: number[] } | { circle: SqlCircle; examineAtMost: number };

/** Ids come from Redis members; anything but a positive safe integer is dropped, never interpolated. */
export const idList = (ids: number[]) => ids.filter((n) => Number.isSafeInteger(n) && n > 0).join(',');

/**
 * What a source adds to the caller's query on `alias`: its WHERE conditions (with their replacements,
 * which come first) and, for a walk, the cap to put after LIMIT.
 */
export function sourceSql(
  alias: string,
  source: KeySortSource,
): { where: string[]; replacements: unknown[]; cap: string } {
  if ('ids' in source)
    return { where: [`${alias}.id IN (${idList(source.ids) || 'NULL'})`], replacements: [], cap: '' };
  return {
    where: source.circle.where,
    replacements: source.circle.replacements,
    cap: ` ROWS EXAMINED ${Math.trunc(source.examineAtMost)}`,
  };
}

/**
 * One key-sorted page over either plan: `fetch` runs the caller's single MySQL query (filters, sort,
 * cursor, `want` rows) over the source it is given; each row comes back with its distance.
 */
export async function pageByKey<R extends { id: number; lat: number; lng: number }>(q: {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  limit: number;
  selective: boolean;
  alias: string;
  denseAt?: number | null;
  walkBudget?: number | null;
  fetch: (source: KeySortSource, want: number) => Promise<R[]>;
}): Promise<{ page: Array<{ row: R; distanceKm: number }>; more: boolean }> {
  const want = q.limit + 1;
  const plan = await planKeySort({ ...q, want });
  if (plan.kind === 'walk') {
    const rows = await q.fetch({ circle: plan.circle, examineAtMost: plan.examineAtMost }, want).catch(capped);
    if (rows.length === want)
      return {
        page: rows.slice(0, q.limit).map((row) => ({ row, distanceKm: plan.circle.distanceKm(row) })),
        more: true,
      };
  }
  // Sparse, or a walk that came back short (see WALK_BUDGET_PER_MEMBER): the whole circle's ids.
  const hits = plan.kind === 'ids' ? plan.hits : await q.geo.search(q.center, q.radiusKm);
  if (!hits.length) return { page: [], more: false };
  const distance = new Map(hits.map((h) => [h.id, h.distanceKm]));
  const rows = await q.fetch({ ids: [...distance.keys()] }, want);
  return {
    page: rows.slice(0, q.limit).map((row) => ({ row, distanceKm: distance.get(row.id)! })),
    more: rows.length > q.limit,
  };
}

/** SQL conditions for "within the circle" on `${alias}.lat`/`lng`, and the distance of a row. */
export interface SqlCircle {
  where: string[];
  replacements: unknown[];
  distanceKm: (row: { lat: number; lng: number }) => number;
}

export function sqlCircle(alias: string, center: { lat: number; lng: number }, radiusKm: number): SqlCircle {
  const radiusM = radiusKm * 1000;
  const dLat = (radiusM / REDIS_EARTH_RADIUS_M) * (180 / Math.PI);
  const cosLat = Math.cos((Math.min(89, Math.abs(center.lat) + dLat) * Math.PI) / 180);
  const dLng = dLat / cosLat;
  const where = [`${alias}.lat BETWEEN ? AND ?`];
  const replacements: unknown[] = [center.lat - dLat, center.lat + dLat];
  // The box only prunes; across the antimeridian it is left to the exact distance alone.
  if (center.lng - dLng >= -180 && center.lng + dLng <= 180) {
    where.push(`${alias}.lng BETWEEN ? AND ?`);
    replacements.push(center.lng - dLng, center.lng + dLng);
  }
  // The same sphere as Redis, so both plans agree on who is inside (to Redis's 52-bit rounding).
  where.push(`ST_Distance_Sphere(POINT(${alias}.lng, ${alias}.lat), POINT(?, ?), ${REDIS_EARTH_RADIUS_M}) <= ?`);
  replacements.push(center.lng, center.lat, radiusM);
  return { where, replacements, distanceKm: (row) => Math.round(haversineMeters(center, row) * 10) / 10_000 }; // km to 0.1 m, as GEOSEARCH gives
}
