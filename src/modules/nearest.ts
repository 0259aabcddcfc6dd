import Joi from 'joi';
import { cursorId, decodeCursor, encodeCursor, invalidCursor, type Page } from '../http/cursor';
import type { GeoIndex } from '../infra/geo';
import { cursorSigned, signCursor, type CursorScope } from '../infra/geo-cursor';
import { pageByDistance, readsFirstDisk, type DistanceCursor } from '../infra/geo-paging';

/**
 * The distance cursor of the radius searches (sitters, meetups, posts, listings): `{ s: 'distance', d, i, m }`,
 * the last item's distance (km) and id, and `m`, their signature for this index and query (see
 * infra/geo-cursor.ts): a page after a cursor may make a large snapshot, so only cursors we issued may
 * point deep. Accepted, never issued: `n`, which came with cursors issued before the disk-growing search
 * (unused), and `{ k: 'd', d, i }`, the form GET /posts/nearby issued before it shared this pager; these
 * and other cursors without `m` only as shallow as the first snapshot disk (see readsFirstDisk).
 */
const distanceCursor = Joi.alternatives(
  Joi.object({
    s: Joi.valid('distance').required(),
    d: Joi.number().min(0).required(),
    i: cursorId.required(),
    n: Joi.number().integer().min(0).max(10_000_000).optional(),
    m: Joi.string()
      .pattern(/^[A-Za-z0-9_-]{22}$/)
      .optional(),
  }),
  Joi.object({ k: Joi.valid('d').required(), d: Joi.number().min(0).required(), i: cursorId.required() }),
);

/**
 * How a page's rows become what the list answers: one row at a time (`toItem`), or the whole page at
 * once (`toItems`, for lists that look up what the rows need in one query, like the posts' authors).
 */
type Present<R, I> =
  | { toItem: (row: R, distanceKm: number) => I; toItems?: never }
  | { toItems: (page: { row: R; distanceKm: number }[]) => Promise<I[]>; toItem?: never };

/**
 * One page of a nearest-first search (see pageByDistance): decodes the client's cursor, pages, and
 * turns the rows into what the list answers.
 */
export async function nearestPage<R extends { id: number }, I>(
  q: {
    geo: GeoIndex;
    /**
     * The index cursors are signed for (default `geo`): a search that reads one of several indexes of
     * the same points (meetups by tag) signs for one, so its cursors stay good whichever it reads next.
     */
    cursorIndex?: GeoIndex;
    /** What chose the index read (see CursorScope.indexFilter): signed into the cursors. */
    indexFilter?: string;
    center: { lat: number; lng: number };
    radiusKm: number;
    limit: number;
    cursor?: string;
    selective: boolean;
    /** Which filters are set (see DistancePageQuery.shape). */
    shape?: string;
    filterIds: (ids: number[]) => Promise<R[]>;
  } & Present<R, I>,
): Promise<Page<I>> {
  const scope = { center: q.center, radiusKm: q.radiusKm, indexFilter: q.indexFilter };
  const signer = q.cursorIndex ?? q.geo;
  const cursor = q.cursor ? trustedCursor(signer, scope, q.cursor) : null;
  const { page, next } = await pageByDistance<R>({ ...q, cursor });
  return {
    items: q.toItems ? await q.toItems(page) : page.map(({ row, distanceKm }) => q.toItem(row, distanceKm)),
    nextCursor: next ? encodeCursor({ s: 'distance', d: next.d, i: next.i, m: signCursor(signer, scope, next) }) : null,
  };
}

/**
 * The client's cursor when we issued it for this query (or it is an unsigned one no deeper than the first
 * snapshot disk); anything else is a 400 on `query.cursor`, before Redis is asked for a snapshot.
 */
function trustedCursor(geo: GeoIndex, scope: CursorScope, text: string): DistanceCursor {
  const decoded = decodeCursor<DistanceCursor & { m?: string }>(text, distanceCursor);
  const cursor = { d: decoded.d, i: decoded.i };
  const trusted = decoded.m ? cursorSigned(geo, scope, cursor, decoded.m) : readsFirstDisk(cursor.d);
  if (!trusted) throw invalidCursor();
  return cursor;
}

/** The shape of a filter (see DistancePageQuery.shape): the names of the fields that are set. */
export function filterShape(filter: object): string {
  return Object.entries(filter)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k]) => k)
    .join(',');
}
