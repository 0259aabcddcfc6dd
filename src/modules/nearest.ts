import Joi from 'joi';
import { cursorId, decodeCursor, encodeCursor, type Page } from '../http/cursor';
import type { GeoIndex } from '../infra/geo';
import { pageByDistance, type DistanceCursor } from '../infra/geo-paging';

/**
 * The distance cursor of the radius searches (sitters, meetups, posts, listings): `{ s: 'distance', d, i }`,
 * the last item's distance (km) and id. Accepted, never issued: `n`, which came with cursors issued before
 * the disk-growing search (unused), and `{ k: 'd', d, i }`, the form GET /posts/nearby issued before it
 * shared this pager, so a client paging across the change keeps its place.
 */
const distanceCursor = Joi.alternatives(
  Joi.object({
    s: Joi.valid('distance').required(),
    d: Joi.number().min(0).required(),
    i: cursorId.required(),
    n: Joi.number().integer().min(0).max(10_000_000).optional(),
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
  const cursor = q.cursor ? decodeCursor<DistanceCursor>(q.cursor, distanceCursor) : null;
  const { page, next } = await pageByDistance<R>({ ...q, cursor: cursor && { d: cursor.d, i: cursor.i } });
  return {
    items: q.toItems ? await q.toItems(page) : page.map(({ row, distanceKm }) => q.toItem(row, distanceKm)),
    nextCursor: next ? encodeCursor({ s: 'distance', d: next.d, i: next.i }) : null,
  };
}

/** The shape of a filter (see DistancePageQuery.shape): the names of the fields that are set. */
export function filterShape(filter: object): string {
  return Object.entries(filter)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k]) => k)
    .join(',');
}
