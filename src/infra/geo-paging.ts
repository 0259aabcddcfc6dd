import type { GeoIndex } from './geo';

/** Where a distance-sorted page ended: the last item's distance (km) and id. */
export interface DistanceCursor {
  d: number;
  i: number;
}

/** The first disk searched (km); each further round doubles it, up to the asked radius. */
const FIRST_RADIUS_KM = 0.25;

export interface DistancePageQuery<R> {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  limit: number;
  cursor: DistanceCursor | null;
  /** True when the filters let only a fraction of candidates through: the first disk is larger. */
  selective: boolean;
  /** One MySQL query: the rows among `ids` that pass every filter. */
  filterIds: (ids: number[]) => Promise<R[]>;
}

/**
 * Nearest first over a Redis GEO index plus a MySQL filter, for sitters and meetups alike.
 *
 * GEOSEARCH … BYRADIUS scans every member inside the radius before it sorts and cuts (COUNT does not
 * shorten the scan), so asking for the whole circle costs as much as the circle is dense. Instead the
 * search grows a disk from the centre: each round takes every member within `r` (complete, so nothing
 * nearer can be missing), sends the ids not yet checked to MySQL in one query, and stops once the page
 * is full or `r` reached the asked radius; otherwise `r` doubles. A page after a cursor starts from a
 * disk just past the cursor's distance. Ties in distance are ordered by id, so pages have no gaps.
 */
export async function pageByDistance<R extends { id: number }>(
  q: DistancePageQuery<R>,
): Promise<{ page: Array<{ row: R; distanceKm: number }>; next: DistanceCursor | null }> {
  const { cursor: cur } = q;
  const want = q.limit + 1;
  const checked = new Map<number, R | null>();
  const isAfter = (h: { id: number; distanceKm: number }) =>
    !cur || h.distanceKm > cur.d || (h.distanceKm === cur.d && h.id > cur.i);
  const first = FIRST_RADIUS_KM * (q.selective ? 2 : 1);
  let r = Math.min(q.radiusKm, cur ? Math.max(first, cur.d * 1.25) : first);
  for (;;) {
    const complete = r >= q.radiusKm;
    const hits = await q.geo.search(q.center, complete ? q.radiusKm : r);
    // Redis rounds distances to 0.1 m: a member just outside `r` could tie with one just inside, so
    // only members clearly inside count until the disk is the whole circle.
    const bound = complete ? Infinity : r - 0.0002;
    const window = hits.filter((h) => h.distanceKm < bound && isAfter(h));
    const fresh = window.filter((h) => !checked.has(h.id)).map((h) => h.id);
    if (fresh.length) {
      for (const id of fresh) checked.set(id, null);
      for (const row of await q.filterIds(fresh)) checked.set(row.id, row);
    }
    const matches = window.filter((h) => checked.get(h.id)).sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id);
    if (matches.length >= want || complete) {
      const page = matches.slice(0, q.limit).map((h) => ({ row: checked.get(h.id)!, distanceKm: h.distanceKm }));
      const last = page[page.length - 1];
      return { page, next: matches.length > q.limit ? { d: last.distanceKm, i: last.row.id } : null };
    }
    r = Math.min(q.radiusKm, r * 2);
  }
}
