import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { GeoPoint } from '../../infra/geo';
import { idList, sourceSql, type KeySortSource } from '../../infra/geo-sorted';
import type { PetSize, Service } from './sitters.schemas';

/** Fixed by the contract, so safe to interpolate as column names. */
export const PRICE_COLUMN = {
  boarding: 'boardingPrice',
  daycare: 'daycarePrice',
  walking: 'walkingPrice',
  drop_in: 'dropInPrice',
} as const satisfies Record<Service, string>;
export const SIZE_COLUMN = {
  small: 'acceptsSmall',
  medium: 'acceptsMedium',
  large: 'acceptsLarge',
} as const satisfies Record<PetSize, string>;

export interface SitterRow {
  id: number;
  userId: number;
  headline: string;
  bio: string;
  boardingPrice: number | null;
  daycarePrice: number | null;
  walkingPrice: number | null;
  dropInPrice: number | null;
  minPrice: number;
  acceptsSmall: boolean;
  acceptsMedium: boolean;
  acceptsLarge: boolean;
  maxPets: number;
  lat: number;
  lng: number;
  address: string;
  /** Average of the reviews, two decimals; null while there is none. */
  rating: number | null;
  reviewCount: number;
  active: boolean;
  deactivatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** From the owner's account (read-only join). */
  nickname: string;
  avatarUrl: string | null;
}

export type SitterWrite = Pick<
  SitterRow,
  | 'headline'
  | 'bio'
  | 'boardingPrice'
  | 'daycarePrice'
  | 'walkingPrice'
  | 'dropInPrice'
  | 'minPrice'
  | 'acceptsSmall'
  | 'acceptsMedium'
  | 'acceptsLarge'
  | 'maxPets'
  | 'lat'
  | 'lng'
  | 'address'
>;

/** What the driver returns for a SitterRow: BOOLEAN columns are TINYINT (0/1), DECIMAL is a string. */
type SitterRecord = Omit<SitterRow, 'acceptsSmall' | 'acceptsMedium' | 'acceptsLarge' | 'rating' | 'active'> & {
  acceptsSmall: number;
  acceptsMedium: number;
  acceptsLarge: number;
  rating: string | null;
  active: number;
};

const toSitterRow = (r: SitterRecord): SitterRow => ({
  ...r,
  acceptsSmall: r.acceptsSmall === 1,
  acceptsMedium: r.acceptsMedium === 1,
  acceptsLarge: r.acceptsLarge === 1,
  rating: r.rating === null ? null : Number(r.rating),
  active: r.active === 1,
});

/** Booleans as the TINYINT values the columns hold, in the order of `data`'s keys. */
const columnValues = (data: SitterWrite) => Object.values(data).map((v) => (typeof v === 'boolean' ? Number(v) : v));

export interface PhotoRow {
  id: number;
  sitterId: number;
  url: string;
  thumbnailUrl: string;
  createdAt: Date;
}

export interface ReviewRow {
  id: number;
  sitterId: number;
  authorId: number;
  reservationId: number;
  rating: number;
  comment: string | null;
  createdAt: Date;
}

/** Conditions on `s` (sitters) and `u` (users), ANDed. */
export interface SqlFilter {
  where: string[];
  replacements: unknown[];
}

/** What a sitter search keeps, beyond being in the circle (compiled to SQL here only). */
export interface SitterFilter {
  service?: Service;
  petSize?: PetSize;
  minPrice?: number;
  maxPrice?: number;
  minRating?: number;
  /** Free on every day of the range: not marked unavailable, and no day booked up (`fullDays`). */
  range?: { from: string; to: string };
  /**
   * The reservations module's "some day of the range is booked up" condition on `s`, from its
   * repository (it owns the bookings table); applied with `range` so pages stay exact.
   */
  fullDays?: SqlFilter;
  /**
   * The safety module's "no block either way with the searcher" condition on `s.userId`
   * (`blocks.notBlockedSql`): a correlated NOT EXISTS, so no id list however many blocks there are.
   */
  notBlocked?: { sql: string; replacements: unknown[] };
}

/** The viewport (longitudes may wrap: minLng > maxLng crosses the antimeridian) and its grid cell. */
export interface MapGrid {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
  cellLat: number;
  cellLng: number;
}

/** A sitter as the map sees it: its point, and its services and pet sizes as bit sets. */
export interface MapPoint {
  id: number;
  userId: number;
  lat: number;
  lng: number;
  services: number;
  sizes: number;
}

/** One cell of the map's grid: how many sitters, their mean point, and the lowest id (the sitter when alone). */
export interface MapCell {
  count: number;
  lat: number;
  lng: number;
  firstId: number;
}

/** Key-sorted orders and where a page resumes (the last item's key and id). */
export type SitterSort =
  | { by: 'rating'; after: { rating: string | null; id: number } | null }
  | { by: 'price'; after: { price: number; id: number } | null };

/** The SQL price of a sitter for this search: the service's price, else the lowest one. */
const priceExpr = (f: SitterFilter) => (f.service ? `s.${PRICE_COLUMN[f.service]}` : 's.minPrice');

/** Active sitters of live accounts, then the caller's filters. */
function filterSql(f: SitterFilter): SqlFilter {
  const where = ['s.active = 1', 'u.deletedAt IS NULL'];
  const replacements: unknown[] = [];
  const price = priceExpr(f);
  if (f.service) where.push(`${price} IS NOT NULL`);
  if (f.petSize) where.push(`s.${SIZE_COLUMN[f.petSize]} = 1`);
  if (f.minPrice !== undefined) {
    where.push(`${price} >= ?`);
    replacements.push(f.minPrice);
  }
  if (f.maxPrice !== undefined) {
    where.push(`${price} <= ?`);
    replacements.push(f.maxPrice);
  }
  if (f.minRating !== undefined) {
    where.push('s.rating >= ?');
    replacements.push(f.minRating);
  }
  if (f.range) {
    where.push(
      'NOT EXISTS (SELECT 1 FROM sitter_unavailable_dates d WHERE d.sitterId = s.id AND d.day BETWEEN ? AND ?)',
    );
    replacements.push(f.range.from, f.range.to);
    if (f.fullDays) {
      where.push(...f.fullDays.where.map((w) => `(${w})`));
      replacements.push(...f.fullDays.replacements);
    }
  }
  if (f.notBlocked) {
    where.push(f.notBlocked.sql);
    replacements.push(...f.notBlocked.replacements);
  }
  return { where, replacements };
}

/** The page's resume condition and order; `walk` when reading an index in its own order. */
function sortSql(f: SitterFilter, sort: SitterSort, walk: boolean): SqlFilter & { orderBy: string } {
  if (sort.by === 'rating') {
    const c = sort.after;
    // MariaDB sorts NULL below every value, so `rating DESC` already puts unrated sitters last, which
    // is the order the index holds; the explicit `IS NULL` key is for the IN list, where it is free.
    const orderBy = walk ? 's.rating DESC, s.id' : 's.rating IS NULL, s.rating DESC, s.id';
    if (!c) return { where: [], replacements: [], orderBy };
    return c.rating === null
      ? { where: ['(s.rating IS NULL AND s.id > ?)'], replacements: [c.id], orderBy }
      : {
          where: ['(s.rating < ? OR (s.rating = ? AND s.id > ?) OR s.rating IS NULL)'],
          replacements: [c.rating, c.rating, c.id],
          orderBy,
        };
  }
  const price = priceExpr(f);
  const orderBy = `${price}, s.id`;
  const c = sort.after;
  if (!c) return { where: [], replacements: [], orderBy };
  return { where: [`(${price} > ? OR (${price} = ? AND s.id > ?))`], replacements: [c.price, c.price, c.id], orderBy };
}

const COLS = `s.id, s.userId, s.headline, s.bio, s.boardingPrice, s.daycarePrice, s.walkingPrice, s.dropInPrice,
  s.minPrice, s.acceptsSmall, s.acceptsMedium, s.acceptsLarge, s.maxPets, s.lat, s.lng, s.address, s.rating,
  s.reviewCount, s.active, s.deactivatedAt, s.createdAt, s.updatedAt, u.nickname, u.avatarUrl`;
// The owner's nickname and avatar are shown with every sitter, and a deleted account is never listed:
// a read-only join on users keeps search to one query (the users module still owns that table).
const FROM = 'FROM sitters s JOIN users u ON u.id = s.userId';

/** The indexes a key-sorted walk follows (migration 20261202000100): sort column, id, then lat/lng. */
const SORT_INDEX = {
  rating: 'sitters_by_rating',
  minPrice: 'sitters_by_min_price',
  boarding: 'sitters_by_boarding_price',
  daycare: 'sitters_by_daycare_price',
  walking: 'sitters_by_walking_price',
  drop_in: 'sitters_by_drop_in_price',
} as const;

/** The only code that knows the sitters, sitter_* and reviews tables. */
export class SittersRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return this.sequelize.query<T>(sql, { replacements, transaction: t, type: QueryTypes.SELECT });
  }

  /** Sitter rows with domain values (see SitterRecord): every read of the sitters columns goes through here. */
  private async sitters(sql: string, replacements: unknown[], t?: Transaction): Promise<SitterRow[]> {
    return (await this.select<SitterRecord>(sql, replacements, t)).map(toSitterRow);
  }

  async findByUserId(userId: number, t?: Transaction, lock = false): Promise<SitterRow | null> {
    const rows = await this.sitters(
      `SELECT ${COLS} ${FROM} WHERE s.userId = ? ${lock && t ? 'FOR UPDATE' : ''}`,
      [userId],
      t,
    );
    return rows[0] ?? null;
  }

  /** A sitter anyone may see: active, with a live account. */
  async findPublic(id: number, t?: Transaction, lock = false): Promise<SitterRow | null> {
    const rows = await this.sitters(
      `SELECT ${COLS} ${FROM} WHERE s.id = ? AND s.active = 1 AND u.deletedAt IS NULL ${lock && t ? 'FOR UPDATE' : ''}`,
      [id],
      t,
    );
    return rows[0] ?? null;
  }

  /** Any sitter row, active or not (bookings of a deactivated sitter can still be cancelled). */
  async findAny(id: number, t?: Transaction, lock = false): Promise<SitterRow | null> {
    const rows = await this.sitters(`SELECT ${COLS} ${FROM} WHERE s.id = ? ${lock && t ? 'FOR UPDATE' : ''}`, [id], t);
    return rows[0] ?? null;
  }

  async insert(userId: number, data: SitterWrite, now: Date, t: Transaction): Promise<number> {
    const cols = Object.keys(data);
    const [id] = await this.sequelize.query(
      `INSERT INTO sitters (userId, ${cols.join(', ')}, active, geoVersion, createdAt, updatedAt) VALUES (?, ${cols.map(() => '?').join(', ')}, 1, 1, ?, ?)`,
      { replacements: [userId, ...columnValues(data), now, now], transaction: t, type: QueryTypes.INSERT },
    );
    return Number(id);
  }

  /** Replaces the profile and re-activates it. */
  async replace(id: number, data: SitterWrite, now: Date, t: Transaction): Promise<void> {
    const cols = Object.keys(data);
    await this.sequelize.query(
      `UPDATE sitters SET ${cols.map((c) => `${c} = ?`).join(', ')}, active = 1, deactivatedAt = NULL, geoVersion = geoVersion + 1, updatedAt = ? WHERE id = ?`,
      { replacements: [...columnValues(data), now, id], transaction: t },
    );
  }

  async deactivate(id: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      'UPDATE sitters SET active = 0, deactivatedAt = COALESCE(deactivatedAt, ?), geoVersion = geoVersion + 1, updatedAt = ? WHERE id = ?',
      {
        replacements: [now, now, id],
        transaction: t,
      },
    );
  }

  /** What the geo index must reflect of a row, read inside the writing transaction (its own write). */
  async geoState(
    id: number,
    t: Transaction,
  ): Promise<{ id: number; lat: number; lng: number; active: boolean; version: number }> {
    const [row] = await this.select<{ id: number; lat: number; lng: number; active: number; geoVersion: number }>(
      'SELECT id, lat, lng, active, geoVersion FROM sitters WHERE id = ?',
      [id],
      t,
    );
    return { id: row.id, lat: row.lat, lng: row.lng, active: row.active === 1, version: row.geoVersion };
  }

  /**
   * One reindex batch of active sitters with their versions (a plain read: the versions make a stale
   * batch harmless, see GeoIndex). The index holds every active profile; a deleted account's profile
   * is filtered out by the search query.
   */
  async activeGeoBatch(afterId: number, limit: number): Promise<GeoPoint[]> {
    const rows = await this.select<{ id: number; lat: number; lng: number; geoVersion: number }>(
      'SELECT id, lat, lng, geoVersion FROM sitters WHERE active = 1 AND id > ? ORDER BY id LIMIT ?',
      [afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, lat: r.lat, lng: r.lng, version: r.geoVersion }));
  }

  async countActive(): Promise<number> {
    const [row] = await this.select<{ n: number }>('SELECT COUNT(*) AS n FROM sitters WHERE active = 1', []);
    return Number(row.n);
  }

  // --- unavailable dates -------------------------------------------------------------------------

  async listUnavailable(sitterId: number, fromDay: string, t?: Transaction): Promise<string[]> {
    const rows = await this.select<{ day: string }>(
      "SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day FROM sitter_unavailable_dates WHERE sitterId = ? AND day >= ? ORDER BY day",
      [sitterId, fromDay],
      t,
    );
    return rows.map((r) => r.day);
  }

  /** Replaces the days from `fromDay` on; days already past are history and stay. */
  async replaceUnavailable(
    sitterId: number,
    fromDay: string,
    days: string[],
    now: Date,
    t: Transaction,
  ): Promise<void> {
    await this.sequelize.query('DELETE FROM sitter_unavailable_dates WHERE sitterId = ? AND day >= ?', {
      replacements: [sitterId, fromDay],
      transaction: t,
    });
    if (!days.length) return;
    await this.sequelize.query(
      `INSERT INTO sitter_unavailable_dates (sitterId, day, createdAt) VALUES ${days.map(() => '(?, ?, ?)').join(', ')}`,
      {
        replacements: days.flatMap((d) => [sitterId, d, now]),
        transaction: t,
      },
    );
  }

  // --- photos ------------------------------------------------------------------------------------

  listPhotos(sitterId: number, t?: Transaction): Promise<PhotoRow[]> {
    return this.select<PhotoRow>(
      'SELECT id, sitterId, url, thumbnailUrl, createdAt FROM sitter_photos WHERE sitterId = ? ORDER BY id',
      [sitterId],
      t,
    );
  }

  async countPhotos(sitterId: number, t?: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM sitter_photos WHERE sitterId = ?',
      [sitterId],
      t,
    );
    return Number(row.n);
  }

  async insertPhoto(sitterId: number, url: string, thumbnailUrl: string, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      'INSERT INTO sitter_photos (sitterId, url, thumbnailUrl, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)',
      {
        replacements: [sitterId, url, thumbnailUrl, now, now],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  async findPhoto(sitterId: number, photoId: number, t: Transaction): Promise<PhotoRow | null> {
    const rows = await this.select<PhotoRow>(
      'SELECT id, sitterId, url, thumbnailUrl, createdAt FROM sitter_photos WHERE id = ? AND sitterId = ? FOR UPDATE',
      [photoId, sitterId],
      t,
    );
    return rows[0] ?? null;
  }

  async deletePhoto(photoId: number, t: Transaction): Promise<void> {
    await this.sequelize.query('DELETE FROM sitter_photos WHERE id = ?', { replacements: [photoId], transaction: t });
  }

  // --- reviews -----------------------------------------------------------------------------------

  /** Newest first; `beforeId` continues a previous page. */
  listReviews(sitterId: number, beforeId: number | null, limit: number): Promise<ReviewRow[]> {
    return this.select<ReviewRow>(
      `SELECT id, sitterId, authorId, reservationId, rating, comment, createdAt FROM reviews
        WHERE sitterId = ? ${beforeId ? 'AND id < ?' : ''} ORDER BY id DESC LIMIT ?`,
      beforeId ? [sitterId, beforeId, limit] : [sitterId, limit],
    );
  }

  async ratingDistribution(sitterId: number): Promise<Map<number, number>> {
    const rows = await this.select<{ rating: number; n: number }>(
      'SELECT rating, COUNT(*) AS n FROM reviews WHERE sitterId = ? GROUP BY rating',
      [sitterId],
    );
    return new Map(rows.map((r) => [Number(r.rating), Number(r.n)]));
  }

  /** Locks a sitter row (active or not) in `t`; false when there is no such sitter. */
  async lockSitter(id: number, t: Transaction): Promise<boolean> {
    return (await this.select('SELECT id FROM sitters WHERE id = ? FOR UPDATE', [id], t)).length > 0;
  }

  async insertReview(r: Omit<ReviewRow, 'id' | 'createdAt'>, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      'INSERT INTO reviews (reservationId, sitterId, authorId, rating, comment, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?)',
      {
        replacements: [r.reservationId, r.sitterId, r.authorId, r.rating, r.comment, now, now],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  /** Recomputes the stored average and count from the reviews themselves (no drift from increments). */
  async refreshRating(sitterId: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      `UPDATE sitters SET
         rating = (SELECT ROUND(AVG(r.rating), 2) FROM reviews r WHERE r.sitterId = ?),
         reviewCount = (SELECT COUNT(*) FROM reviews r WHERE r.sitterId = ?),
         updatedAt = ?
       WHERE id = ?`,
      { replacements: [sitterId, sitterId, now, sitterId], transaction: t },
    );
  }

  // --- search ------------------------------------------------------------------------------------

  /** The rows among `ids` that pass `search` (order unspecified: the caller sorts by distance). */
  filterIds(ids: number[], search: SitterFilter): Promise<SitterRow[]> {
    const list = idList(ids);
    if (!list) return Promise.resolve([]);
    const filter = filterSql(search);
    return this.sitters(
      `SELECT ${COLS} ${FROM} WHERE s.id IN (${list}) AND ${filter.where.join(' AND ')}`,
      filter.replacements,
    );
  }

  /**
   * The map's points changed since `since` (all of them when null): `visible` is false for a sitter
   * that left (inactive, or its account deleted).
   * Bits: boarding 1, daycare 2, walking 4, drop_in 8 (priced); small 1, medium 2, large 4.
   */
  async mapPoints(since: Date | null): Promise<Array<{ point: MapPoint; visible: boolean }>> {
    const rows = await this.sequelize.query<{
      id: number;
      userId: number;
      lat: number;
      lng: number;
      services: number | string;
      sizes: number | string;
      visible: number | string;
    }>(
      `SELECT s.id, s.userId, s.lat, s.lng,
              (s.boardingPrice IS NOT NULL) + 2 * (s.daycarePrice IS NOT NULL) + 4 * (s.walkingPrice IS NOT NULL)
                + 8 * (s.dropInPrice IS NOT NULL) AS services,
              s.acceptsSmall + 2 * s.acceptsMedium + 4 * s.acceptsLarge AS sizes,
              (s.active = 1 AND u.deletedAt IS NULL) AS visible
         FROM sitters s JOIN users u ON u.id = s.userId${since ? ' WHERE s.updatedAt >= ?' : ''}`,
      { replacements: since ? [since] : [], type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({
      point: {
        id: Number(r.id),
        userId: Number(r.userId),
        lat: Number(r.lat),
        lng: Number(r.lng),
        services: Number(r.services),
        sizes: Number(r.sizes),
      },
      visible: Number(r.visible) === 1,
    }));
  }

  /**
   * One page of the candidates that pass `search`, in `sort` order after its cursor: candidates are
   * either the circle's ids (from Redis) or the rows an index walk finds inside an SQL circle (see
   * src/infra/geo-sorted.ts); the walk names the sort's index to read (should the optimizer sort
   * anyway, the walk's cap ends it).
   */
  pageCandidates(from: KeySortSource, search: SitterFilter, sort: SitterSort, limit: number): Promise<SitterRow[]> {
    const walk = !('ids' in from);
    const source = sourceSql('s', from);
    const filter = filterSql(search);
    const after = sortSql(search, sort, walk);
    const index =
      sort.by === 'rating' ? SORT_INDEX.rating : search.service ? SORT_INDEX[search.service] : SORT_INDEX.minPrice;
    const hint = walk ? ` FORCE INDEX (${index})` : '';
    const where = [...source.where, ...filter.where, ...after.where];
    return this.sitters(
      `SELECT ${COLS} FROM sitters s${hint} JOIN users u ON u.id = s.userId WHERE ${where.join(' AND ')} ORDER BY ${after.orderBy} LIMIT ${Math.trunc(limit)}${source.cap}`,
      [...source.replacements, ...filter.replacements, ...after.replacements],
    );
  }
}
