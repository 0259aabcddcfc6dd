import type { GeoHit, GeoIndex } from './geo';

/** Where a distance-sorted page ended: the last item's distance and id, and its rank among the candidates. */
export interface DistanceCursor {
  d: number;
  i: number;
  n: number;
}

// Each round asks Redis for GROWTH times more candidates; past MAX_COUNT, the whole circle.
const GROWTH = 4;
const MAX_COUNT = 200_000;

export interface DistancePageQuery<R> {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  limit: number;
  cursor: DistanceCursor | null;
  /** True when the filters let only a fraction of candidates through: the first round asks for more. */
  selective: boolean;
  /** One MySQL query: the rows among `ids` that pass every filter. */
  filterIds: (ids: number[]) => Promise<R[]>;
}

/**
 * Nearest first over a Redis GEO index plus a MySQL filter, for sitters and meetups alike. GEOSEARCH
 * has no offset, so each round asks for the `count` nearest and trusts only what it can: when the
 * answer is cut at `count`, members as far as the last one may have been cut too, so only those
 * strictly nearer count. Rounds grow until the page is full or the circle is exhausted; each round sends
 * only ids not yet checked to MySQL. Ties in distance are ordered by id, so pages have no gaps.
 */
export async function pageByDistance<R extends { id: number }>(
  q: DistancePageQuery<R>,
): Promise<{ page: Array<{ row: R; distanceKm: number }>; next: DistanceCursor | null }> {
  const { cursor: cur } = q;
  const want = q.limit + 1;
  const checked = new Map<number, R | null>();
  const isAfter = (h: GeoHit) => !cur || h.distanceKm > cur.d || (h.distanceKm === cur.d && h.id > cur.i);
  let count: number | undefined = Math.min(MAX_COUNT, (cur?.n ?? 0) + (q.selective ? GROWTH * GROWTH : GROWTH) * want);
  for (;;) {
    const hits = await q.geo.search(q.center, q.radiusKm, count);
    const exhausted = count === undefined || hits.length < count;
    const bound = exhausted ? Infinity : hits[hits.length - 1].distanceKm;
    const rank = new Map<number, number>();
    const window: GeoHit[] = [];
    hits.forEach((h, index) => {
      rank.set(h.id, index);
      if (h.distanceKm < bound && isAfter(h)) window.push(h);
    });
    const fresh = window.filter((h) => !checked.has(h.id)).map((h) => h.id);
    if (fresh.length) {
      for (const id of fresh) checked.set(id, null);
      for (const row of await q.filterIds(fresh)) checked.set(row.id, row);
    }
    const matches = window.filter((h) => checked.get(h.id)).sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id);
    if (matches.length >= want || exhausted) {
      const page = matches.slice(0, q.limit).map((h) => ({ row: checked.get(h.id)!, distanceKm: h.distanceKm }));
      const last = page[page.length - 1];
      const next = matches.length > q.limit ? { d: last.distanceKm, i: last.row.id, n: rank.get(last.row.id)! + 1 } : null;
      return { page, next };
    }
    count = count! * GROWTH > MAX_COUNT ? undefined : count! * GROWTH;
  }
}
