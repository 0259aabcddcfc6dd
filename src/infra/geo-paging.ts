import type { GeoHit, GeoIndex } from './geo';
import { nearestInDisk, snapshotRange, SNAPSHOT_CAP } from './geo-nearest';

/** Where a distance-sorted page ended: the last item's distance (km) and id. */
export interface DistanceCursor {
  d: number;
  i: number;
}

/** The first disk searched (km); a disk that holds too few doubles, up to the asked radius. */
const FIRST_RADIUS_KM = 0.25;

/**
 * Redis rounds distances to 0.1 m: a member just outside a disk of radius r could tie with one just
 * inside, so only members clearly inside (rounded distance < r − this) are known to be complete.
 */
const EDGE_KM = 0.0002;

/** The most candidates one round sends to MySQL. */
const MAX_BATCH = 5000;

export interface DistancePageQuery<R> {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  limit: number;
  cursor: DistanceCursor | null;
  /** True when the filters let only a fraction of candidates through: the first batch is larger. */
  selective: boolean;
  /**
   * Which filters are set (not their values), e.g. "tag,hasFreePlaces": the share of candidates that
   * passed is learned per shape and sizes the next query's first batch, so most pages take one round.
   */
  shape?: string;
  /** One MySQL query: the rows among `ids` that pass every filter. */
  filterIds: (ids: number[]) => Promise<R[]>;
  /** Members per snapshot (default SNAPSHOT_CAP; tests set it small to page past it). */
  snapshotCap?: number;
}

export interface DistancePage<R> {
  page: Array<{ row: R; distanceKm: number }>;
  next: DistanceCursor | null;
}

/**
 * The share of candidates that passed the filters, per shape, in this process (an estimate only: it
 * sizes batches, never decides what is on a page). Bounded: forgotten whole when it grows past 1000 shapes.
 */
const passRates = new Map<string, number>();

function shapeOf(q: DistancePageQuery<unknown>): string {
  return q.shape ?? (q.selective ? '*' : '');
}

/** How many candidates to read to find `needed` more matches at pass rate `rate`, with a margin. */
function batchFor(needed: number, rate: number): number {
  return Math.min(MAX_BATCH, Math.max(needed, Math.ceil((needed / Math.max(rate, 0.02)) * 1.2) + 2));
}

const byDistance = (a: GeoHit, b: GeoHit) => a.distanceKm - b.distanceKm || a.id - b.id;

/**
 * The candidates examined so far, in order: `pos` is the last one, and every candidate up to `pos`
 * (distance, then id) has been through the filter, so each read keeps only those after it.
 */
class Collected<R extends { id: number }> {
  matches: Array<{ row: R; distanceKm: number }> = [];
  pos: { d: number; i: number } | null;
  private examined = 0;

  constructor(
    private readonly q: DistancePageQuery<R>,
    readonly want: number,
  ) {
    this.pos = q.cursor && { d: q.cursor.d, i: q.cursor.i };
  }

  get full(): boolean {
    return this.matches.length >= this.want;
  }

  /** The batch for the next round, sized by the pass rate seen so far (or learned before). */
  nextBatch(): number {
    const seen = this.examined >= 20 ? this.matches.length / this.examined : undefined;
    const rate = seen ?? passRates.get(shapeOf(this.q)) ?? (this.q.selective ? 0.25 : 1);
    return batchFor(this.want - this.matches.length, rate);
  }

  after = (h: GeoHit): boolean => {
    const p = this.pos;
    return !p || h.distanceKm > p.d || (h.distanceKm === p.d && h.id > p.i);
  };

  /**
   * Filters the hits below `bound` that come after `pos` (a complete stretch of the order: every member
   * in it is among the hits) in one MySQL query, and moves `pos` to the last of them.
   */
  async take(hits: GeoHit[], bound: number): Promise<number> {
    const settled = hits.filter((h) => h.distanceKm < bound && this.after(h)).sort(byDistance);
    if (!settled.length) return 0;
    const rows = new Map((await this.q.filterIds(settled.map((h) => h.id))).map((r) => [r.id, r]));
    for (const h of settled) {
      const row = rows.get(h.id);
      if (row) this.matches.push({ row, distanceKm: h.distanceKm });
    }
    this.examined += settled.length;
    const last = settled[settled.length - 1];
    this.pos = { d: last.distanceKm, i: last.id };
    return settled.length;
  }

  /** Remembers this query's pass rate for the next one of its shape. */
  learn(): void {
    if (this.examined < 20) return;
    const key = shapeOf(this.q);
    const rate = this.matches.length / this.examined;
    const prev = passRates.get(key);
    if (prev === undefined && passRates.size >= 1000) passRates.clear();
    passRates.set(key, prev === undefined ? rate : prev * 0.7 + rate * 0.3);
  }
}

/**
 * Nearest first over a Redis GEO index plus a MySQL filter, for sitters, meetups, posts and listings.
 * Ties in distance are ordered by id, so pages have no gaps or repeats.
 *
 * GEOSEARCH scans every member inside the radius it is given, so asking for the whole circle costs
 * as much as the circle is dense, and the members after a cursor (a ring) cannot be asked for at all.
 * So:
 * - a first page reads the `c` nearest of a disk grown from the centre until it holds `c` (one
 *   script: see nearestInDisk), with `c` sized from the filters' pass rate, and sends them to MySQL
 *   in one query; a page still short reads a larger batch;
 * - a page after a cursor reads the ring after the cursor from the snapshot of a disk (see
 *   snapshotRange and diskAfter): a score range, whose cost does not grow with the page's depth.
 *   When the snapshot's disk is used up, the next disk (√2 times the radius) is snapshotted, so a
 *   walk through a dense circle makes a few snapshots, each about twice the last. A snapshot that
 *   expired is made again from the live index, so the pages stay exact. Beyond a capped snapshot
 *   (SNAPSHOT_CAP members deep) the pages search the live index's disk again.
 */
export async function pageByDistance<R extends { id: number }>(q: DistancePageQuery<R>): Promise<DistancePage<R>> {
  const c = new Collected(q, q.limit + 1);
  await (q.cursor ? fromSnapshots(q, c) : firstRounds(q, c));
  return finish(q, c);
}

/**
 * The disks snapshots are made of: 0.25 km · √2^k. A position at distance d reads the snapshot of the
 * smallest one ≥ 1.25 d (or the whole circle), so every client at about the same depth of the same
 * query reads the same snapshot, and the cursor needs nothing but (d, i).
 */
function diskAfter(radiusKm: number, d: number): number {
  let k = 0;
  let disk = FIRST_RADIUS_KM;
  while (disk < 1.25 * d && disk < radiusKm) disk = FIRST_RADIUS_KM * 2 ** (++k / 2);
  return Math.min(radiusKm, disk);
}

/**
 * True when a page after position `d` reads the first, smallest snapshot disk: how deep a cursor that
 * carries no signature (a form issued before cursors were signed, see geo-cursor.ts) may point.
 */
export const readsFirstDisk = (d: number): boolean => diskAfter(Infinity, d) <= FIRST_RADIUS_KM;

/** The first page's rounds; a page still short after MAX_BATCH candidates goes on in the snapshots. */
async function firstRounds<R extends { id: number }>(q: DistancePageQuery<R>, c: Collected<R>): Promise<void> {
  let r0 = FIRST_RADIUS_KM * (q.selective ? 2 : 1);
  let count = c.nextBatch();
  for (;;) {
    const { hits, diskKm } = await nearestInDisk(q.geo, q.center, q.radiusKm, r0, count);
    const whole = diskKm >= q.radiusKm && hits.length < count;
    let bound = diskKm >= q.radiusKm ? Infinity : diskKm - EDGE_KM;
    // The last distance's ties may go on beyond COUNT.
    if (hits.length >= count) bound = Math.min(bound, hits[hits.length - 1].distanceKm);
    await c.take(hits, bound);
    if (c.full || whole) return;
    if (count >= MAX_BATCH) return void (await fromSnapshots(q, c));
    // The batch counts from the centre: what was examined, plus what is still needed (at least double,
    // so a tie group larger than the batch is eventually read whole).
    count = Math.min(MAX_BATCH, Math.max(2 * count, hits.length + c.nextBatch()));
    r0 = diskKm;
  }
}

/** Reads on from `c.pos` through snapshots of growing disks (see diskAfter) until the page is full or the circle ends. */
async function fromSnapshots<R extends { id: number }>(q: DistancePageQuery<R>, c: Collected<R>): Promise<true> {
  const cap = q.snapshotCap ?? SNAPSHOT_CAP;
  let disk = diskAfter(q.radiusKm, c.pos?.d ?? 0);
  let limit = c.nextBatch();
  for (;;) {
    // Rounded distances are ≥ pos.d from a score a little below it (the rounding), then `after` sorts out ties.
    const snap = await snapshotRange(q.geo, q.center, disk, c.pos ? c.pos.d - 0.0001 : 0, limit, cap);
    let bound = disk >= q.radiusKm ? Infinity : disk - EDGE_KM;
    const capped = snap.size >= cap;
    if (capped) bound = Math.min(bound, snap.lastKm);
    const read = snap.hits;
    const short = read.length < limit;
    const lastRead = read.length ? read[read.length - 1].distanceKm : 0;
    // A full read may have cut the last distance's ties.
    const took = await c.take(read, short ? bound : Math.min(bound, lastRead));
    if (c.full) return true;
    if (!short && lastRead < bound) {
      // More of this snapshot below the bound: read on (a larger batch when a tie group filled this one).
      limit = took ? c.nextBatch() : Math.min(limit * 2, cap);
      continue;
    }
    if (bound === Infinity) return true;
    if (capped) return liveDisks(q, c);
    disk = diskAfter(q.radiusKm, disk);
    limit = c.nextBatch();
  }
}

/**
 * Past a capped snapshot: disks of the live index grown from the position, as before snapshots (a
 * cost that grows with the depth, only this deep).
 */
async function liveDisks<R extends { id: number }>(q: DistancePageQuery<R>, c: Collected<R>): Promise<true> {
  let r = Math.min(q.radiusKm, Math.max(FIRST_RADIUS_KM, (c.pos?.d ?? 0) * 1.25));
  for (;;) {
    const complete = r >= q.radiusKm;
    const hits = await q.geo.search(q.center, complete ? q.radiusKm : r);
    await c.take(hits, complete ? Infinity : r - EDGE_KM);
    if (c.full || complete) return true;
    r = Math.min(q.radiusKm, r * 2);
  }
}

function finish<R extends { id: number }>(q: DistancePageQuery<R>, c: Collected<R>): DistancePage<R> {
  c.learn();
  const page = c.matches.slice(0, q.limit);
  const last = page[page.length - 1];
  return { page, next: c.matches.length > q.limit ? { d: last.distanceKm, i: last.row.id } : null };
}
