import Joi from 'joi';
import { cursorId, decodeCursor, encodeCursor, type Page } from '../http/cursor';
import type { GeoIndex } from '../infra/geo';
import { pageByDistance, type DistanceCursor } from '../infra/geo-paging';

/**
 * The distance cursor of the radius searches (sitters, meetups): `{ s: 'distance', d, i }`, the last
 * item's distance (km) and id. `n` came with cursors issued before the disk-growing search; accepted, unused.
 */
const distanceCursor = Joi.object({
  s: Joi.valid('distance').required(),
  d: Joi.number().min(0).required(),
  i: cursorId.required(),
  n: Joi.number().integer().min(0).max(10_000_000).optional(),
});

/**
 * One page of a nearest-first search (see pageByDistance): decodes the client's cursor, pages, and
 * turns each row into what the list answers.
 */
export async function nearestPage<R extends { id: number }, I>(q: {
  geo: GeoIndex;
  center: { lat: number; lng: number };
  radiusKm: number;
  limit: number;
  cursor?: string;
  selective: boolean;
  filterIds: (ids: number[]) => Promise<R[]>;
  toItem: (row: R, distanceKm: number) => I;
}): Promise<Page<I>> {
  const cursor = q.cursor ? decodeCursor<DistanceCursor>(q.cursor, distanceCursor) : null;
  const { page, next } = await pageByDistance<R>({ ...q, cursor });
  return {
    items: page.map(({ row, distanceKm }) => q.toItem(row, distanceKm)),
    nextCursor: next ? encodeCursor({ s: 'distance', d: next.d, i: next.i }) : null,
  };
}
