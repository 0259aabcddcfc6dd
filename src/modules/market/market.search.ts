import Joi from 'joi';
import { cursorDate, cursorId, decodeCursor, decodeIdCursor, encodeCursor, paginate } from '../../http/cursor';
import { pageByKey } from '../../infra/geo-sorted';
import { InvalidFields, fieldError } from '../../errors';
import { nearestPage } from '../nearest';
import { requiredBooleanQuery } from '../search-text';
import type { MarketDeps } from './market.deps';
import type { ListingsService } from './market.listings';
import type { ListingRow, ListingSort, SqlFilter } from './market.repository';
import type { Listing } from './market.presenter';
import { MAX_PRICE, type MineQuery, type NearbyQuery } from './market.schemas';

const recentCursor = Joi.object({
  s: Joi.valid('recent').required(),
  t: cursorDate.required(),
  i: cursorId.required(),
});
const priceCursor = Joi.object({
  s: Joi.valid('price').required(),
  p: Joi.number().integer().min(0).max(MAX_PRICE).required(),
  i: cursorId.required(),
});

type NearbyItem = Listing & { distanceKm: number };

/**
 * GET /market/listings/nearby (exact like sitter search: Redis GEO for the circle, one MySQL query
 * per round for the filters) and GET /market/listings/mine.
 */
export class MarketSearch {
  /** How many members make a circle dense (src/infra/geo-sorted.ts); tests set it to exercise both plans. */
  denseAt: number | null = null;
  walkBudget: number | null = null;

  constructor(
    private readonly d: MarketDeps,
    private readonly listings: ListingsService,
  ) {}

  async nearby(viewerId: number, q: NearbyQuery): Promise<{ items: NearbyItem[]; nextCursor: string | null }> {
    const filter = this.compile(viewerId, q);
    const center = { lat: q.lat, lng: q.lng };
    const selective = Boolean(q.category || q.q || q.minPrice !== undefined || q.maxPrice !== undefined);
    if (q.sort === 'distance') {
      const page = await nearestPage<ListingRow, { row: ListingRow; distanceKm: number }>({
        geo: this.d.geo,
        center,
        radiusKm: q.radiusKm,
        limit: q.limit,
        cursor: q.cursor,
        selective,
        filterIds: (ids) => this.d.repo.filterIds(ids, filter),
        toItem: (row, distanceKm) => ({ row, distanceKm }),
      });
      return { items: await this.present(viewerId, page.items), nextCursor: page.nextCursor };
    }
    let sort: ListingSort;
    if (q.sort === 'recent') {
      const c = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, recentCursor) : null;
      sort = { by: 'recent', after: c ? { at: c.t, id: c.i } : null };
    } else {
      const c = q.cursor ? decodeCursor<{ p: number; i: number }>(q.cursor, priceCursor) : null;
      sort = { by: 'price', after: c ? { price: c.p, id: c.i } : null };
    }
    const { page, more } = await pageByKey<ListingRow>({
      geo: this.d.geo,
      center,
      radiusKm: q.radiusKm,
      limit: q.limit,
      selective,
      alias: 'l',
      denseAt: this.denseAt,
      walkBudget: this.walkBudget,
      fetch: (source, want) => this.d.repo.pageCandidates(source, filter, sort, want),
    });
    let nextCursor: string | null = null;
    if (more) {
      const last = page[page.length - 1].row;
      nextCursor =
        sort.by === 'recent'
          ? encodeCursor({ s: 'recent', t: new Date(last.createdAt).toISOString(), i: last.id })
          : encodeCursor({ s: 'price', p: last.price, i: last.id });
    }
    return { items: await this.present(viewerId, page), nextCursor };
  }

  /** My listings (every status unless one is asked for), newest first; deleted ones are gone. */
  async mine(userId: number, q: MineQuery): Promise<{ items: Listing[]; nextCursor: string | null }> {
    const rows = await this.d.repo.mine(userId, q.status, decodeIdCursor(q.cursor), q.limit + 1);
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({ id: last.id }));
    return { items: await this.listings.present(userId, items), nextCursor };
  }

  private async present(viewerId: number, page: Array<{ row: ListingRow; distanceKm: number }>): Promise<NearbyItem[]> {
    const items = await this.listings.present(
      viewerId,
      page.map((p) => p.row),
    );
    return items.map((item, i) => ({ ...item, distanceKm: page[i].distanceKm }));
  }

  /**
   * The filters as SQL on `l`: listed (not deleted, not report-hidden), the status, category, price
   * range and words, and no seller on either side of a block with the viewer.
   */
  private compile(viewerId: number, q: NearbyQuery): SqlFilter {
    if (q.minPrice !== undefined && q.maxPrice !== undefined && q.maxPrice < q.minPrice)
      throw InvalidFields([fieldError('query.maxPrice', 'must be greater than or equal to minPrice')]);
    const where = ['l.listed = 1', 'l.status = ?'];
    const replacements: unknown[] = [q.status];
    if (q.category) {
      where.push('l.category = ?');
      replacements.push(q.category);
    }
    if (q.minPrice !== undefined) {
      where.push('l.price >= ?');
      replacements.push(q.minPrice);
    }
    if (q.maxPrice !== undefined) {
      where.push('l.price <= ?');
      replacements.push(q.maxPrice);
    }
    if (q.q !== undefined) {
      where.push('MATCH (l.searchText) AGAINST (? IN BOOLEAN MODE)');
      replacements.push(requiredBooleanQuery(q.q));
    }
    const notBlocked = this.d.blocks.notBlockedSql('l.sellerId', viewerId);
    where.push(notBlocked.sql);
    replacements.push(...notBlocked.replacements);
    return { where, replacements, fulltext: q.q !== undefined };
  }
}
