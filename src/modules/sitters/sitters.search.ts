import Joi from 'joi';
import { cursorId, decodeCursor, encodeCursor, invalidCursor } from '../../http/cursor';
import type { GeoIndex } from '../../infra/geo';
import { filterShape, nearestPage } from '../nearest';
import { pageByKey } from '../../infra/geo-sorted';
import { InvalidFields, fieldError, type FieldError } from '../../errors';
import {
  type SitterFilter,
  type SitterRow,
  type SitterSort,
  type SittersRepository,
  type SqlFilter,
} from './sitters.repository';
import { priceOf, toSearchItem, type SearchItem } from './sitters.presenter';
import { MAX_PRICE, MAX_RANGE_DAYS, SERVICES, type PetSize, type SearchSort, type Service } from './sitters.schemas';
import { daysBetween } from './sitters.days';

export interface SearchQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  service?: Service;
  petSize?: PetSize;
  minPrice?: number;
  maxPrice?: number;
  minRating?: number;
  from?: string;
  to?: string;
  sort: SearchSort;
  limit: number;
  cursor?: string;
}

export interface SearchPage {
  items: SearchItem[];
  nextCursor: string | null;
}

/**
 * The seam through which the reservations module removes sitters whose days in the range are already
 * full: a condition on the alias `s` (sitters) that keeps a sitter only when it has room on every day
 * of `from..to`. It becomes part of the one filtering query, so pages stay exact.
 */
export type FullDayFilter = (range: { from: string; to: string }) => SqlFilter;

// Cursors: base64url JSON of the last item's sort key and id.
const ratingCursor = Joi.object({
  s: Joi.valid('rating').required(),
  r: Joi.string()
    .pattern(/^\d(\.\d{1,2})?$/)
    .allow(null)
    .required(),
  i: cursorId.required(),
});
const priceCursor = Joi.object({
  s: Joi.valid('price').required(),
  v: Joi.valid(...SERVICES, null).required(),
  p: Joi.number().integer().min(0).max(MAX_PRICE).required(),
  i: cursorId.required(),
});

export class SitterSearch {
  /** How many members make a circle dense (see src/infra/geo-sorted.ts); tests set it to exercise both plans. */
  denseAt: number | null = null;
  /** Rows a dense-circle walk may examine before the IN list takes over (tests set it small). */
  walkBudget: number | null = null;

  constructor(
    private readonly geo: GeoIndex,
    private readonly repo: SittersRepository,
    private readonly today: () => string,
    private readonly fullDays: FullDayFilter,
  ) {}

  /** `notBlocked`: the condition on `s.userId` that leaves out sitters on either side of a block with the searcher. */
  async search(q: SearchQuery, notBlocked?: SitterFilter['notBlocked']): Promise<SearchPage> {
    const filter = this.compile(q, notBlocked);
    return q.sort === 'distance' ? this.byDistance(q, filter) : this.byKey(q, filter);
  }

  /** Checks that need more than one field, each error naming the field to fix. */
  private checkRanges(q: SearchQuery): void {
    const errors: FieldError[] = [];
    if (q.minPrice !== undefined && q.maxPrice !== undefined && q.maxPrice < q.minPrice) {
      errors.push(fieldError('query.maxPrice', 'must be greater than or equal to minPrice'));
    }
    if (q.to && !q.from) errors.push(fieldError('query.from', 'is required with to'));
    if (q.from) {
      const to = q.to ?? q.from;
      if (q.from < this.today()) errors.push(fieldError('query.from', 'must not be in the past'));
      if (to < q.from) errors.push(fieldError('query.to', 'must not be before from'));
      else if (daysBetween(q.from, to) + 1 > MAX_RANGE_DAYS)
        errors.push(fieldError('query.to', `may be at most ${MAX_RANGE_DAYS} days after from`));
    }
    if (errors.length) throw InvalidFields(errors);
  }

  private compile(q: SearchQuery, notBlocked: SitterFilter['notBlocked']): SitterFilter {
    this.checkRanges(q);
    const range = q.from ? { from: q.from, to: q.to ?? q.from } : undefined;
    return {
      service: q.service,
      petSize: q.petSize,
      minPrice: q.minPrice,
      maxPrice: q.maxPrice,
      minRating: q.minRating,
      range,
      fullDays: range ? this.fullDays(range) : undefined,
      notBlocked,
    };
  }

  /** Did the caller filter beyond the circle (then few candidates may pass: see the paging helpers)? */
  private static selective(f: SitterFilter): boolean {
    return Boolean(
      f.service ||
      f.petSize ||
      f.range ||
      f.minPrice !== undefined ||
      f.maxPrice !== undefined ||
      f.minRating !== undefined,
    );
  }

  /** Nearest first (see pageByDistance). */
  private byDistance(q: SearchQuery, filter: SitterFilter): Promise<SearchPage> {
    return nearestPage<SitterRow, SearchItem>({
      geo: this.geo,
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radiusKm,
      limit: q.limit,
      cursor: q.cursor,
      selective: SitterSearch.selective(filter),
      shape: filterShape(filter),
      filterIds: (ids) => this.repo.filterIds(ids, filter),
      toItem: toSearchItem,
    });
  }

  /**
   * Highest rating or lowest price first: not the geo order, so MySQL sorts (ties by id) and cuts the
   * page, over the circle's ids or by walking the sort's index when the circle is dense (src/infra/geo-sorted.ts).
   */
  private async byKey(q: SearchQuery, filter: SitterFilter): Promise<SearchPage> {
    let sort: SitterSort;
    if (q.sort === 'rating') {
      const c = q.cursor ? decodeCursor<{ r: string | null; i: number }>(q.cursor, ratingCursor) : null;
      sort = { by: 'rating', after: c ? { rating: c.r, id: c.i } : null };
    } else {
      const c = q.cursor ? decodeCursor<{ v: Service | null; p: number; i: number }>(q.cursor, priceCursor) : null;
      if (c && c.v !== (q.service ?? null)) throw invalidCursor();
      sort = { by: 'price', after: c ? { price: c.p, id: c.i } : null };
    }
    const { page, more } = await pageByKey<SitterRow>({
      geo: this.geo,
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radiusKm,
      limit: q.limit,
      selective: SitterSearch.selective(filter),
      alias: 's',
      denseAt: this.denseAt,
      walkBudget: this.walkBudget,
      fetch: (source, want) => this.repo.pageCandidates(source, filter, sort, want),
    });
    const items = page.map(({ row, distanceKm }) => toSearchItem(row, distanceKm));
    let nextCursor: string | null = null;
    if (more) {
      const last = page[page.length - 1].row;
      nextCursor =
        q.sort === 'rating'
          ? // Two decimals, as the DECIMAL(3,2) column compares exactly (a float could miss the tie).
            encodeCursor({ s: 'rating', r: last.rating === null ? null : last.rating.toFixed(2), i: last.id })
          : encodeCursor({
              s: 'price',
              v: q.service ?? null,
              p: q.service ? priceOf(last, q.service) : last.minPrice,
              i: last.id,
            });
    }
    return { items, nextCursor };
  }
}
