import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';
import type { GeoPoint } from '../../infra/geo';
import { idList, sourceSql, type KeySortSource } from '../../infra/geo-sorted';
import type { Category, ListingStatus } from './market.schemas';

/** A listing as stored, with its seller's public fields (a read-only join). */
export interface ListingRow {
  id: number;
  sellerId: number;
  title: string;
  description: string;
  category: Category;
  price: number;
  status: ListingStatus;
  buyerId: number | null;
  lat: number;
  lng: number;
  address: string;
  favoriteCount: number;
  offerCount: number;
  photoCount: number;
  listed: boolean;
  geoVersion: number;
  hiddenAt: Date | null;
  deletedAt: Date | null;
  soldAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  sellerNickname: string | null;
  sellerAvatarUrl: string | null;
  sellerDeletedAt: Date | null;
}

export interface ListingWrite {
  title: string;
  description: string;
  category: Category;
  price: number;
  lat: number;
  lng: number;
  address: string;
  searchText: string;
}

export interface PhotoRow {
  id: number;
  listingId: number;
  url: string;
  thumbnailUrl: string;
}

export interface OfferRow {
  id: number;
  listingId: number;
  buyerId: number;
  price: number | null;
  message: string | null;
  chatRoomId: number;
  createdAt: Date;
  buyerNickname: string | null;
  buyerAvatarUrl: string | null;
  buyerDeletedAt: Date | null;
}

export interface ReviewRow {
  id: number;
  listingId: number;
  authorId: number;
  subjectId: number;
  rating: number;
  comment: string | null;
  createdAt: Date;
}

export interface PriceDropRow {
  id: number;
  listingId: number;
  oldPrice: number;
  newPrice: number;
  afterUserId: number;
  notified: number;
  doneAt: Date | null;
}

/** Conditions on `l` (market_listings), ANDed; compiled by the search. */
export interface SqlFilter {
  where: string[];
  replacements: unknown[];
  /** A MATCH … AGAINST among the conditions: an index hint would hide the FULLTEXT index it needs. */
  fulltext?: boolean;
}

/** A key-sorted search: its order and, after the first page, where the last one ended. */
export type ListingSort =
  | { by: 'recent'; after: { at: Date; id: number } | null }
  | { by: 'price'; after: { price: number; id: number } | null };

const SORT_INDEX = { recent: 'market_listings_recent', price: 'market_listings_price' } as const;

const COLS = `l.id, l.sellerId, l.title, l.description, l.category, l.price, l.status, l.buyerId, l.lat, l.lng,
  l.address, l.favoriteCount, l.offerCount, l.photoCount, l.listed, l.geoVersion, l.hiddenAt, l.deletedAt, l.soldAt,
  l.createdAt, l.updatedAt, u.nickname AS sellerNickname, u.avatarUrl AS sellerAvatarUrl, u.deletedAt AS sellerDeletedAt`;
const FROM = 'FROM market_listings l JOIN users u ON u.id = l.sellerId';

type RawListing = Omit<ListingRow, 'lat' | 'lng' | 'listed'> & {
  lat: string | number;
  lng: string | number;
  listed: number;
};

/** DECIMAL columns come back as strings and TINYINT as 0/1: mapped once, here. */
const toListing = (r: RawListing): ListingRow => ({
  ...r,
  price: Number(r.price),
  lat: Number(r.lat),
  lng: Number(r.lng),
  listed: Number(r.listed) === 1,
  favoriteCount: Number(r.favoriteCount),
  offerCount: Number(r.offerCount),
  photoCount: Number(r.photoCount),
  geoVersion: Number(r.geoVersion),
  buyerId: r.buyerId === null ? null : Number(r.buyerId),
});

/** The only code that knows the market_* tables. */
export class MarketRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  /** A raw INSERT; answers the new row's id. */
  private async insert(sql: string, replacements: unknown[], t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(sql, { replacements, transaction: t, type: QueryTypes.INSERT });
    return Number(id);
  }

  private exec(sql: string, replacements: unknown[], t?: Transaction): Promise<number> {
    return execAffected(this.sequelize, sql, replacements, t);
  }

  private async listings(sql: string, replacements: unknown[], t?: Transaction): Promise<ListingRow[]> {
    return (await this.select<RawListing>(sql, replacements, t)).map(toListing);
  }

  // --- listings ----------------------------------------------------------------------------------

  /** The seller's lock row: creating and reopening listings of one seller take turns on it. */
  async lockSeller(userId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('INSERT IGNORE INTO market_sellers (userId, createdAt) VALUES (?, ?)', [userId, now], t);
    await this.select('SELECT userId FROM market_sellers WHERE userId = ? FOR UPDATE', [userId], t);
  }

  async countOnSale(sellerId: number, t: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      "SELECT COUNT(*) AS n FROM market_listings WHERE sellerId = ? AND status = 'on_sale' AND deletedAt IS NULL",
      [sellerId],
      t,
    );
    return Number(row.n);
  }

  async insertListing(sellerId: number, d: ListingWrite, now: Date, t: Transaction): Promise<number> {
    const id = await this.insert(
      `INSERT INTO market_listings (sellerId, title, description, category, price, lat, lng, address, searchText,
         createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [sellerId, d.title, d.description, d.category, d.price, d.lat, d.lng, d.address, d.searchText, now, now],
      t,
    );
    return id;
  }

  async findListing(id: number, t?: Transaction, lock = false): Promise<ListingRow | null> {
    const rows = await this.listings(`SELECT ${COLS} ${FROM} WHERE l.id = ?${lock ? ' FOR UPDATE' : ''}`, [id], t);
    return rows[0] ?? null;
  }

  lockListing(id: number, t: Transaction): Promise<ListingRow | null> {
    return this.findListing(id, t, true);
  }

  async updateListing(id: number, d: ListingWrite, moved: boolean, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE market_listings SET title = ?, description = ?, category = ?, price = ?, lat = ?, lng = ?, address = ?,
         searchText = ?, updatedAt = ?${moved ? ', geoVersion = geoVersion + 1' : ''} WHERE id = ?`,
      [d.title, d.description, d.category, d.price, d.lat, d.lng, d.address, d.searchText, now, id],
      t,
    );
  }

  async setStatus(id: number, status: ListingStatus, buyerId: number | null, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE market_listings SET status = ?, buyerId = ?, soldAt = ${status === 'sold' ? '?' : 'NULL'}, updatedAt = ?
        WHERE id = ?`,
      status === 'sold' ? [status, buyerId, now, now, id] : [status, buyerId, now, id],
      t,
    );
  }

  async softDelete(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE market_listings SET listed = 0, deletedAt = ?, updatedAt = ?, geoVersion = geoVersion + 1 WHERE id = ?',
      [now, now, id],
      t,
    );
  }

  async setHidden(id: number, hidden: boolean, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE market_listings SET hiddenAt = ?, listed = IF(? AND deletedAt IS NULL, 1, 0), geoVersion = geoVersion + 1
        WHERE id = ? AND deletedAt IS NULL`,
      [hidden ? now : null, hidden ? 0 : 1, id],
      t,
    );
  }

  /** The seller's listings that are not sold and not deleted (account deletion ends them). */
  async unsoldOf(sellerId: number, t: Transaction): Promise<number[]> {
    const rows = await this.select<{ id: number }>(
      "SELECT id FROM market_listings WHERE sellerId = ? AND deletedAt IS NULL AND status <> 'sold' FOR UPDATE",
      [sellerId],
      t,
    );
    return rows.map((r) => r.id);
  }

  /** Listings reserved for this buyer go back on sale (the buyer's account is being deleted). */
  async releaseReservationsOf(buyerId: number, now: Date, t: Transaction): Promise<number> {
    return this.exec(
      "UPDATE market_listings SET status = 'on_sale', buyerId = NULL, updatedAt = ? WHERE buyerId = ? AND status = 'reserved'",
      [now, buyerId],
      t,
    );
  }

  // --- photos ------------------------------------------------------------------------------------

  async photosOf(listingIds: number[]): Promise<PhotoRow[]> {
    const list = idList(listingIds);
    if (!list) return [];
    return this.select<PhotoRow>(
      `SELECT id, listingId, url, thumbnailUrl FROM market_listing_photos WHERE listingId IN (${list}) ORDER BY id`,
      [],
    );
  }

  async insertPhoto(listingId: number, url: string, thumbnailUrl: string, now: Date, t: Transaction): Promise<number> {
    const id = await this.insert(
      'INSERT INTO market_listing_photos (listingId, url, thumbnailUrl, createdAt) VALUES (?, ?, ?, ?)',
      [listingId, url, thumbnailUrl, now],
      t,
    );
    await this.exec('UPDATE market_listings SET photoCount = photoCount + 1 WHERE id = ?', [listingId], t);
    return id;
  }

  async findPhoto(listingId: number, photoId: number, t: Transaction): Promise<PhotoRow | null> {
    const rows = await this.select<PhotoRow>(
      'SELECT id, listingId, url, thumbnailUrl FROM market_listing_photos WHERE id = ? AND listingId = ?',
      [photoId, listingId],
      t,
    );
    return rows[0] ?? null;
  }

  async deletePhoto(listingId: number, photoId: number, t: Transaction): Promise<void> {
    if (await this.exec('DELETE FROM market_listing_photos WHERE id = ? AND listingId = ?', [photoId, listingId], t))
      await this.exec('UPDATE market_listings SET photoCount = photoCount - 1 WHERE id = ?', [listingId], t);
  }

  async deleteAllPhotos(listingId: number, t: Transaction): Promise<PhotoRow[]> {
    const rows = await this.select<PhotoRow>(
      'SELECT id, listingId, url, thumbnailUrl FROM market_listing_photos WHERE listingId = ?',
      [listingId],
      t,
    );
    await this.exec('DELETE FROM market_listing_photos WHERE listingId = ?', [listingId], t);
    await this.exec('UPDATE market_listings SET photoCount = 0 WHERE id = ?', [listingId], t);
    return rows;
  }

  // --- favourites --------------------------------------------------------------------------------

  /** True when this call added it; the count moves in the same transaction. */
  async addFavorite(listingId: number, userId: number, now: Date, t: Transaction): Promise<boolean> {
    const added = await this.exec(
      'INSERT IGNORE INTO market_favorites (listingId, userId, createdAt) VALUES (?, ?, ?)',
      [listingId, userId, now],
      t,
    );
    if (added)
      await this.exec('UPDATE market_listings SET favoriteCount = favoriteCount + 1 WHERE id = ?', [listingId], t);
    return added === 1;
  }

  async removeFavorite(listingId: number, userId: number, t: Transaction): Promise<boolean> {
    const removed = await this.exec(
      'DELETE FROM market_favorites WHERE listingId = ? AND userId = ?',
      [listingId, userId],
      t,
    );
    if (removed)
      await this.exec('UPDATE market_listings SET favoriteCount = favoriteCount - 1 WHERE id = ?', [listingId], t);
    return removed === 1;
  }

  /** Every favourite of a user goes, each listing's count with it (account deletion). */
  async removeFavoritesOf(userId: number, t: Transaction): Promise<void> {
    const rows = await this.select<{ listingId: number }>(
      'SELECT listingId FROM market_favorites WHERE userId = ? ORDER BY listingId FOR UPDATE',
      [userId],
      t,
    );
    for (const { listingId } of rows) await this.removeFavorite(listingId, userId, t);
  }

  async favoriteCount(listingId: number, t?: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT favoriteCount AS n FROM market_listings WHERE id = ?',
      [listingId],
      t,
    );
    return Number(row?.n ?? 0);
  }

  async favoritedBy(userId: number, listingIds: number[]): Promise<Set<number>> {
    const list = idList(listingIds);
    if (!list) return new Set();
    const rows = await this.select<{ listingId: number }>(
      `SELECT listingId FROM market_favorites WHERE userId = ? AND listingId IN (${list})`,
      [userId],
    );
    return new Set(rows.map((r) => Number(r.listingId)));
  }

  /** A user's favourites, most recently favourited first, leaving out what they may not see. */
  async favoritesPage(
    userId: number,
    filter: SqlFilter,
    after: { at: Date; id: number } | null,
    limit: number,
  ): Promise<Array<ListingRow & { favoritedAt: Date }>> {
    const where = ['f.userId = ?', 'l.deletedAt IS NULL', ...filter.where];
    const replacements: unknown[] = [userId, ...filter.replacements];
    if (after) {
      where.push('(f.createdAt < ? OR (f.createdAt = ? AND f.listingId < ?))');
      replacements.push(after.at, after.at, after.id);
    }
    const rows = await this.select<RawListing & { favoritedAt: Date }>(
      `SELECT ${COLS}, f.createdAt AS favoritedAt FROM market_favorites f JOIN market_listings l ON l.id = f.listingId
         JOIN users u ON u.id = l.sellerId
        WHERE ${where.join(' AND ')} ORDER BY f.createdAt DESC, f.listingId DESC LIMIT ${Math.trunc(limit)}`,
      replacements,
    );
    return rows.map((r) => ({ ...toListing(r), favoritedAt: r.favoritedAt }));
  }

  // --- search ------------------------------------------------------------------------------------

  /** The rows among `ids` that pass the filter (one query per round of the nearest-first search). */
  async filterIds(ids: number[], filter: SqlFilter): Promise<ListingRow[]> {
    const list = idList(ids);
    if (!list) return [];
    return this.listings(`SELECT ${COLS} ${FROM} WHERE l.id IN (${list}) AND ${filter.where.join(' AND ')}`, [
      ...filter.replacements,
    ]);
  }

  /** One key-sorted page over the circle's ids or a capped walk of the sort's index (geo-sorted.ts). */
  async pageCandidates(
    from: KeySortSource,
    filter: SqlFilter,
    sort: ListingSort,
    limit: number,
  ): Promise<ListingRow[]> {
    const walk = !('ids' in from);
    const source = sourceSql('l', from);
    const where = [...source.where, ...filter.where];
    const replacements = [...source.replacements, ...filter.replacements];
    let orderBy: string;
    if (sort.by === 'recent') {
      orderBy = 'l.createdAt DESC, l.id DESC';
      if (sort.after) {
        where.push('(l.createdAt < ? OR (l.createdAt = ? AND l.id < ?))');
        replacements.push(sort.after.at, sort.after.at, sort.after.id);
      }
    } else {
      orderBy = 'l.price, l.id';
      if (sort.after) {
        where.push('(l.price > ? OR (l.price = ? AND l.id > ?))');
        replacements.push(sort.after.price, sort.after.price, sort.after.id);
      }
    }
    const hint = walk && !filter.fulltext ? ` FORCE INDEX (${SORT_INDEX[sort.by]})` : '';
    return this.listings(
      `SELECT ${COLS} FROM market_listings l${hint} JOIN users u ON u.id = l.sellerId
        WHERE ${where.join(' AND ')} ORDER BY ${orderBy} LIMIT ${Math.trunc(limit)}${source.cap}`,
      replacements,
    );
  }

  /** My listings (not deleted), newest first, optionally of one status. */
  mine(sellerId: number, status: ListingStatus | undefined, beforeId: number | undefined, limit: number) {
    const where = ['l.sellerId = ?', 'l.deletedAt IS NULL'];
    const replacements: unknown[] = [sellerId];
    if (status) {
      where.push('l.status = ?');
      replacements.push(status);
    }
    if (beforeId) {
      where.push('l.id < ?');
      replacements.push(beforeId);
    }
    return this.listings(
      `SELECT ${COLS} ${FROM} WHERE ${where.join(' AND ')} ORDER BY l.id DESC LIMIT ${Math.trunc(limit)}`,
      replacements,
    );
  }

  // --- geo index ---------------------------------------------------------------------------------

  async countIndexed(): Promise<number> {
    const [row] = await this.select<{ n: number }>('SELECT COUNT(*) AS n FROM market_listings WHERE listed = 1', []);
    return Number(row.n);
  }

  async indexedGeoBatch(afterId: number, size: number): Promise<GeoPoint[]> {
    const rows = await this.select<{ id: number; lat: string; lng: string; geoVersion: number }>(
      `SELECT id, lat, lng, geoVersion FROM market_listings WHERE listed = 1 AND id > ? ORDER BY id LIMIT ${Math.trunc(size)}`,
      [afterId],
    );
    return rows.map((r) => ({ id: r.id, lat: Number(r.lat), lng: Number(r.lng), version: Number(r.geoVersion) }));
  }

  // --- offers ------------------------------------------------------------------------------------

  async insertOffer(
    o: { listingId: number; buyerId: number; price: number | null; message: string | null; chatRoomId: number },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const id = await this.insert(
      'INSERT INTO market_offers (listingId, buyerId, price, message, chatRoomId, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
      [o.listingId, o.buyerId, o.price, o.message, o.chatRoomId, now],
      t,
    );
    await this.exec('UPDATE market_listings SET offerCount = offerCount + 1 WHERE id = ?', [o.listingId], t);
    return id;
  }

  async findOffer(id: number): Promise<OfferRow | null> {
    const rows = await this.offers('o.id = ?', [id], 1);
    return rows[0] ?? null;
  }

  /** A listing's offers, oldest first. */
  offersOf(listingId: number, afterId: number | undefined, limit: number): Promise<OfferRow[]> {
    return this.offers(
      `o.listingId = ?${afterId ? ' AND o.id > ?' : ''}`,
      afterId ? [listingId, afterId] : [listingId],
      limit,
    );
  }

  private async offers(where: string, replacements: unknown[], limit: number): Promise<OfferRow[]> {
    const rows = await this.select<OfferRow>(
      `SELECT o.id, o.listingId, o.buyerId, o.price, o.message, o.chatRoomId, o.createdAt,
              u.nickname AS buyerNickname, u.avatarUrl AS buyerAvatarUrl, u.deletedAt AS buyerDeletedAt
         FROM market_offers o JOIN users u ON u.id = o.buyerId WHERE ${where} ORDER BY o.id LIMIT ${Math.trunc(limit)}`,
      replacements,
    );
    return rows.map((r) => ({ ...r, price: r.price === null ? null : Number(r.price) }));
  }

  async hasOffer(listingId: number, buyerId: number, t: Transaction): Promise<boolean> {
    const rows = await this.select(
      'SELECT id FROM market_offers WHERE listingId = ? AND buyerId = ? LIMIT 1',
      [listingId, buyerId],
      t,
    );
    return rows.length > 0;
  }

  // --- reviews -----------------------------------------------------------------------------------

  /** False when the author already reviewed this trade (the UNIQUE key decides under concurrency). */
  async insertReview(r: Omit<ReviewRow, 'id'>, t: Transaction): Promise<number | null> {
    try {
      const id = await this.insert(
        'INSERT INTO market_reviews (listingId, authorId, subjectId, rating, comment, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
        [r.listingId, r.authorId, r.subjectId, r.rating, r.comment, r.createdAt],
        t,
      );
      return id;
    } catch (err) {
      if (err instanceof UniqueConstraintError) return null;
      throw err;
    }
  }

  async reviewsOf(listingId: number): Promise<ReviewRow[]> {
    return this.select<ReviewRow>(
      'SELECT id, listingId, authorId, subjectId, rating, comment, createdAt FROM market_reviews WHERE listingId = ? ORDER BY id',
      [listingId],
    );
  }

  /** Takes the subject's rating row lock; reviews of one user then take turns. */
  async lockRating(userId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('INSERT IGNORE INTO market_trade_ratings (userId, updatedAt) VALUES (?, ?)', [userId, now], t);
    await this.select('SELECT userId FROM market_trade_ratings WHERE userId = ? FOR UPDATE', [userId], t);
  }

  /** Recomputed from the reviews themselves, under the rating lock: exact, never drifting. */
  async recomputeRating(userId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE market_trade_ratings r
          JOIN (SELECT COALESCE(SUM(rating), 0) AS s, COUNT(*) AS n FROM market_reviews WHERE subjectId = ?) x
         SET r.ratingSum = x.s, r.ratingCount = x.n, r.updatedAt = ? WHERE r.userId = ?`,
      [userId, now, userId],
      t,
    );
  }

  async tradeRating(userId: number): Promise<{ sum: number; count: number }> {
    const [row] = await this.select<{ ratingSum: number; ratingCount: number }>(
      'SELECT ratingSum, ratingCount FROM market_trade_ratings WHERE userId = ?',
      [userId],
    );
    return { sum: Number(row?.ratingSum ?? 0), count: Number(row?.ratingCount ?? 0) };
  }

  // --- price drops -------------------------------------------------------------------------------

  async insertPriceDrop(listingId: number, oldPrice: number, newPrice: number, now: Date, t: Transaction) {
    const id = await this.insert(
      'INSERT INTO market_price_drops (listingId, oldPrice, newPrice, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)',
      [listingId, oldPrice, newPrice, now, now],
      t,
    );
    return id;
  }

  async lockPriceDrop(id: number, t: Transaction): Promise<PriceDropRow | null> {
    const rows = await this.select<PriceDropRow>(
      'SELECT id, listingId, oldPrice, newPrice, afterUserId, notified, doneAt FROM market_price_drops WHERE id = ? FOR UPDATE',
      [id],
      t,
    );
    return rows[0] ?? null;
  }

  /** The next users (by id) who favourited the listing, past `afterUserId`, leaving out `filter`'s. */
  async favoritersAfter(listingId: number, afterUserId: number, filter: SqlFilter, limit: number, t: Transaction) {
    const rows = await this.select<{ userId: number }>(
      `SELECT f.userId FROM market_favorites f WHERE f.listingId = ? AND f.userId > ? AND ${filter.where.join(' AND ') || '1'}
        ORDER BY f.userId LIMIT ${Math.trunc(limit)}`,
      [listingId, afterUserId, ...filter.replacements],
      t,
    );
    return rows.map((r) => Number(r.userId));
  }

  async advancePriceDrop(id: number, afterUserId: number, notified: number, done: boolean, now: Date, t: Transaction) {
    await this.exec(
      `UPDATE market_price_drops SET afterUserId = ?, notified = notified + ?, doneAt = ${done ? '?' : 'NULL'}, updatedAt = ?
        WHERE id = ?`,
      done ? [afterUserId, notified, now, now, id] : [afterUserId, notified, now, id],
      t,
    );
  }
}
