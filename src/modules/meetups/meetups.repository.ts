import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';
import { idList, sourceSql, type KeySortSource } from '../../infra/geo-sorted';
import type { GeoPoint } from '../../infra/geo';
import type { HotReads } from '../../infra/hot-reads';
import { TAG_VOCABULARY, type PetSize } from './meetups.schemas';

export type MeetupStatus = 'scheduled' | 'cancelled';

/** The meetups row itself. */
export interface MeetupBase {
  id: number;
  hostId: number;
  title: string;
  description: string;
  lat: number;
  lng: number;
  address: string;
  startsAt: Date;
  endsAt: Date;
  capacity: number;
  participantCount: number;
  tags: string[];
  petSmall: boolean;
  petMedium: boolean;
  petLarge: boolean;
  status: MeetupStatus;
  cancelledAt: Date | null;
  chatRoomId: number | null;
  geoIndexed: boolean;
  geoVersion: number;
  reminderSentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A meetup as shown: with its host's account and rating summary. */
export interface MeetupRow extends MeetupBase {
  /** The host's account (read-only join; null fields when the account was deleted). */
  hostNickname: string | null;
  hostBio: string | null;
  hostAvatarUrl: string | null;
  hostIsSitter: boolean | null;
  hostDeletedAt: Date | null;
  /** The host's rating summary (LEFT JOIN; null while never rated). */
  hostRatingAvg: number | null;
  hostRatingCount: number | null;
}

/**
 * What the driver returns for these rows: BOOLEAN columns are TINYINT (0/1), DECIMAL a string, and the
 * tags a JSON text. The repository maps them once; nothing past it sees a column's storage type.
 */
type BaseRecord = Omit<MeetupBase, 'tags' | 'petSmall' | 'petMedium' | 'petLarge' | 'geoIndexed'> & {
  tagsJson: string;
  petSmall: number;
  petMedium: number;
  petLarge: number;
  geoIndexed: number;
};
type RowRecord = BaseRecord &
  Omit<MeetupRow, keyof MeetupBase | 'hostIsSitter' | 'hostRatingAvg'> & {
    hostIsSitter: number | null;
    hostRatingAvg: string | null;
  };

function parseTags(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

const decimal = (v: string | null): number | null => (v === null ? null : Number(v));

// Field by field rather than by spreads: a search maps a few dozen rows per request, and each spread
// of a 30-column record was a full copy (the compiler checks that every field is given).
function toBase(r: BaseRecord): MeetupBase {
  return {
    id: r.id,
    hostId: r.hostId,
    title: r.title,
    description: r.description,
    lat: r.lat,
    lng: r.lng,
    address: r.address,
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    capacity: r.capacity,
    participantCount: r.participantCount,
    tags: parseTags(r.tagsJson),
    petSmall: r.petSmall === 1,
    petMedium: r.petMedium === 1,
    petLarge: r.petLarge === 1,
    status: r.status,
    cancelledAt: r.cancelledAt,
    chatRoomId: r.chatRoomId,
    geoIndexed: r.geoIndexed === 1,
    geoVersion: r.geoVersion,
    reminderSentAt: r.reminderSentAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function toRow(r: RowRecord): MeetupRow {
  const host: Omit<MeetupRow, keyof MeetupBase> = {
    hostNickname: r.hostNickname,
    hostBio: r.hostBio,
    hostAvatarUrl: r.hostAvatarUrl,
    hostIsSitter: r.hostIsSitter === null ? null : r.hostIsSitter === 1,
    hostDeletedAt: r.hostDeletedAt,
    hostRatingAvg: decimal(r.hostRatingAvg),
    hostRatingCount: r.hostRatingCount,
  };
  return Object.assign(toBase(r), host);
}

/** What a create or edit writes: the row's own fields, with pet sizes as a list (the row has flags). */
export interface MeetupWrite extends Pick<
  MeetupBase,
  'title' | 'description' | 'lat' | 'lng' | 'address' | 'startsAt' | 'endsAt' | 'capacity' | 'tags'
> {
  petSizes: PetSize[];
}

export interface ParticipantRow {
  meetupId: number;
  userId: number;
  joinedAt: Date;
  attendedAt: Date | null;
}

/** What GET /meetups/nearby keeps, beyond being in the circle (compiled to SQL here only). */
export interface NearbyFilter {
  /** Meetups that started by now never appear. */
  now: Date;
  /** Earliest start (already at least `now`), and latest. */
  from: Date;
  to?: Date;
  tag?: string;
  petSize?: PetSize;
  hasFreePlaces?: boolean;
  /**
   * The safety module's "no block either way with the searcher" condition on `m.hostId`
   * (`blocks.notBlockedSql`): a correlated NOT EXISTS, so no id list however many blocks there are.
   */
  notBlocked?: { sql: string; replacements: unknown[] };
}

/** Conditions on `m` (meetups) and `u` (host account), ANDed. */
interface SqlFilter {
  where: string[];
  replacements: unknown[];
}

/** Scheduled, not started, host account alive, then the caller's filters. */
function nearbySql(f: NearbyFilter): SqlFilter {
  const where = ["m.status = 'scheduled'", 'u.deletedAt IS NULL', 'm.startsAt > ?', 'm.startsAt >= ?'];
  const replacements: unknown[] = [f.now, f.from];
  if (f.to) {
    where.push('m.startsAt <= ?');
    replacements.push(f.to);
  }
  if (f.tag) {
    where.push('EXISTS (SELECT 1 FROM meetup_tags t WHERE t.meetupId = m.id AND t.tag = ?)');
    replacements.push(f.tag);
  }
  if (f.petSize) where.push(`m.${SIZE_COLUMN[f.petSize]} = 1`);
  if (f.hasFreePlaces) where.push('m.participantCount < m.capacity');
  if (f.notBlocked) {
    where.push(f.notBlocked.sql);
    replacements.push(...f.notBlocked.replacements);
  }
  return { where, replacements };
}

export const SIZE_COLUMN = {
  small: 'petSmall',
  medium: 'petMedium',
  large: 'petLarge',
} as const satisfies Record<PetSize, string>;

const BASE_COLS = `m.id, m.hostId, m.title, m.description, m.lat, m.lng, m.address, m.startsAt, m.endsAt, m.capacity,
  m.participantCount, m.tagsJson, m.petSmall, m.petMedium, m.petLarge, m.status, m.cancelledAt, m.chatRoomId,
  m.geoIndexed, m.geoVersion, m.reminderSentAt, m.createdAt, m.updatedAt`;
const COLS = `${BASE_COLS},
  u.nickname AS hostNickname, u.bio AS hostBio, u.avatarUrl AS hostAvatarUrl, u.isSitter AS hostIsSitter,
  u.deletedAt AS hostDeletedAt, hs.ratingAvg AS hostRatingAvg, hs.ratingCount AS hostRatingCount`;
// Every meetup is shown with its host and the host's rating: read-only joins keep each read to one
// query (the users module still owns that table).
const JOINS = 'JOIN users u ON u.id = m.hostId LEFT JOIN meetup_host_stats hs ON hs.userId = m.hostId';
const FROM = `FROM meetups m ${JOINS}`;
/** The start-time walk names the index it reads (migration 20261202000100). */
const FROM_BY_START = `FROM meetups m FORCE INDEX (meetups_by_start) ${JOINS}`;

/** The only code that knows the meetups and meetup_* tables. */
export class MeetupsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  /** Meetups shown with their host (COLS): every such read goes through here, see RowRecord. */
  private async rows(sql: string, replacements: unknown[], t?: Transaction): Promise<MeetupRow[]> {
    return (await this.select<RowRecord>(sql, replacements, t)).map(toRow);
  }

  private exec(sql: string, replacements: unknown[], t?: Transaction): Promise<number> {
    return execAffected(this.sequelize, sql, replacements, t);
  }

  async findById(id: number, t?: Transaction): Promise<MeetupRow | null> {
    const rows = await this.rows(`SELECT ${COLS} ${FROM} WHERE m.id = ?`, [id], t);
    return rows[0] ?? null;
  }

  /**
   * The meetup row alone, locked: the serialization point of joins, leaves and edits. A locking read
   * returns the latest committed row whatever the transaction's snapshot (and locks no user row).
   */
  async lockRow(id: number, t: Transaction): Promise<MeetupBase | null> {
    const rows = await this.select<BaseRecord>(`SELECT ${BASE_COLS} FROM meetups m WHERE m.id = ? FOR UPDATE`, [id], t);
    return rows.length ? toBase(rows[0]) : null;
  }

  async insert(hostId: number, data: MeetupWrite, now: Date, t: Transaction): Promise<number> {
    const written = writeColumns(data);
    const [id] = await this.sequelize.query(
      `INSERT INTO meetups (hostId, ${written.map(([c]) => c).join(', ')}, participantCount, status, geoIndexed,
         geoVersion, createdAt, updatedAt)
       VALUES (?, ${written.map(() => '?').join(', ')}, 1, 'scheduled', 1, 1, ?, ?)`,
      { replacements: [hostId, ...written.map(([, v]) => v), now, now], transaction: t, type: QueryTypes.INSERT },
    );
    return Number(id);
  }

  async countOpenHosted(hostId: number, now: Date, t: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      "SELECT COUNT(*) AS n FROM meetups WHERE hostId = ? AND status = 'scheduled' AND endsAt > ?",
      [hostId, now],
      t,
    );
    return Number(row.n);
  }

  /** The host's meetups that have not started yet and are still scheduled (account deletion cancels them). */
  async upcomingHostedIds(hostId: number, now: Date, t: Transaction): Promise<number[]> {
    const rows = await this.select<{ id: number }>(
      "SELECT id FROM meetups WHERE hostId = ? AND status = 'scheduled' AND startsAt > ? FOR UPDATE",
      [hostId, now],
      t,
    );
    return rows.map((r) => r.id);
  }

  /** Upcoming scheduled meetups of others that the user has joined, locked in id order. */
  async upcomingJoinedIds(userId: number, now: Date, t: Transaction): Promise<number[]> {
    const rows = await this.select<{ id: number }>(
      `SELECT m.id FROM meetups m JOIN meetup_participants p ON p.meetupId = m.id
        WHERE p.userId = ? AND m.hostId <> ? AND m.status = 'scheduled' AND m.startsAt > ?
        ORDER BY m.id FOR UPDATE`,
      [userId, userId, now],
      t,
    );
    return rows.map((r) => r.id);
  }

  async setChatRoom(id: number, roomId: number, t: Transaction): Promise<void> {
    await this.exec('UPDATE meetups SET chatRoomId = ? WHERE id = ?', [roomId, id], t);
  }

  /** Writes the changed columns; a moved start re-arms the reminder, a moved point bumps the geo version. */
  async update(
    id: number,
    data: MeetupWrite,
    flags: { moved: boolean; rescheduled: boolean },
    now: Date,
    t: Transaction,
  ): Promise<void> {
    const written = writeColumns(data);
    await this.exec(
      `UPDATE meetups SET ${written.map(([c]) => `${c} = ?`).join(', ')}, updatedAt = ?
         ${flags.moved ? ', geoVersion = geoVersion + 1' : ''}
         ${flags.rescheduled ? ', reminderSentAt = NULL' : ''}
       WHERE id = ?`,
      [...written.map(([, v]) => v), now, id],
      t,
    );
  }

  async replaceTags(id: number, tags: string[], t: Transaction): Promise<void> {
    await this.exec('DELETE FROM meetup_tags WHERE meetupId = ?', [id], t);
    if (!tags.length) return;
    await this.exec(
      `INSERT INTO meetup_tags (meetupId, tag) VALUES ${tags.map(() => '(?, ?)').join(', ')}`,
      tags.flatMap((tag) => [id, tag]),
      t,
    );
  }

  async cancel(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      "UPDATE meetups SET status = 'cancelled', cancelledAt = ?, geoIndexed = 0, geoVersion = geoVersion + 1, updatedAt = ? WHERE id = ?",
      [now, now, id],
      t,
    );
  }

  /**
   * The capacity guard: takes a place only while the meetup is scheduled, not started and not full.
   * The row lock this UPDATE takes serializes concurrent joins, so the count can never pass capacity.
   */
  async takePlace(id: number, now: Date, t: Transaction): Promise<boolean> {
    return (
      (await this.exec(
        `UPDATE meetups SET participantCount = participantCount + 1, updatedAt = ?
          WHERE id = ? AND status = 'scheduled' AND startsAt > ? AND participantCount < capacity`,
        [now, id, now],
        t,
      )) === 1
    );
  }

  async releasePlace(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE meetups SET participantCount = participantCount - 1, updatedAt = ? WHERE id = ? AND participantCount > 0',
      [now, id],
      t,
    );
  }

  async geoState(
    id: number,
    t: Transaction,
  ): Promise<{ lat: number; lng: number; indexed: boolean; version: number; tags: string[] }> {
    const [row] = await this.select<{ lat: number; lng: number; geoIndexed: number; geoVersion: number }>(
      'SELECT lat, lng, geoIndexed, geoVersion FROM meetups WHERE id = ?',
      [id],
      t,
    );
    return {
      lat: row.lat,
      lng: row.lng,
      indexed: row.geoIndexed === 1,
      version: row.geoVersion,
      tags: await this.vocabularyTagsOf(id, t),
    };
  }

  /**
   * The vocabulary tags a search by tag finds this meetup under: compared by MySQL, in the column's
   * collation (case- and accent-insensitive), as the search's own filter compares, so a tag's geo
   * index holds every meetup that filter can pass (a free tag written another way included).
   */
  async vocabularyTagsOf(id: number, t?: Transaction): Promise<string[]> {
    // The search's own comparison (`t.tag = ?`) once per vocabulary tag, in one statement.
    const tests = TAG_VOCABULARY.map(
      (_, k) => `EXISTS (SELECT 1 FROM meetup_tags t WHERE t.meetupId = ? AND t.tag = ?) AS t${k}`,
    );
    const [row] = await this.select<Record<string, number>>(
      `SELECT ${tests.join(', ')}`,
      TAG_VOCABULARY.flatMap((tag) => [id, tag]),
      t,
    );
    return TAG_VOCABULARY.filter((_, k) => Number(row[`t${k}`]) === 1);
  }

  // --- participants ------------------------------------------------------------------------------

  async insertParticipant(meetupId: number, userId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'INSERT INTO meetup_participants (meetupId, userId, joinedAt) VALUES (?, ?, ?)',
      [meetupId, userId, now],
      t,
    );
  }

  async deleteParticipant(meetupId: number, userId: number, t: Transaction): Promise<boolean> {
    return (
      (await this.exec('DELETE FROM meetup_participants WHERE meetupId = ? AND userId = ?', [meetupId, userId], t)) ===
      1
    );
  }

  async findParticipant(meetupId: number, userId: number, t?: Transaction): Promise<ParticipantRow | null> {
    const rows = await this.select<ParticipantRow>(
      'SELECT meetupId, userId, joinedAt, attendedAt FROM meetup_participants WHERE meetupId = ? AND userId = ?',
      [meetupId, userId],
      t,
    );
    return rows[0] ?? null;
  }

  /** In join order (the host first). */
  listParticipants(meetupId: number, t?: Transaction): Promise<ParticipantRow[]> {
    return this.select<ParticipantRow>(
      'SELECT meetupId, userId, joinedAt, attendedAt FROM meetup_participants WHERE meetupId = ? ORDER BY id',
      [meetupId],
      t,
    );
  }

  /** Marks those of `userIds` not marked yet; returns nothing (the caller re-reads under its lock). */
  async markAttended(meetupId: number, userIds: number[], now: Date, t: Transaction): Promise<void> {
    if (!userIds.length) return;
    await this.exec(
      `UPDATE meetup_participants SET attendedAt = ? WHERE meetupId = ? AND attendedAt IS NULL AND userId IN (${userIds.map(() => '?').join(', ')})`,
      [now, meetupId, ...userIds],
      t,
    );
  }

  // --- host ratings ------------------------------------------------------------------------------

  /** Creates (if needed) and locks the host's summary row: ratings of one host are serialized on it. */
  async lockHostStats(hostId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'INSERT IGNORE INTO meetup_host_stats (userId, ratingCount, ratingAvg, createdAt, updatedAt) VALUES (?, 0, NULL, ?, ?)',
      [hostId, now, now],
      t,
    );
    await this.select('SELECT userId FROM meetup_host_stats WHERE userId = ? FOR UPDATE', [hostId], t);
  }

  async insertRating(
    r: { meetupId: number; hostId: number; raterId: number; rating: number },
    now: Date,
    t: Transaction,
  ): Promise<void> {
    await this.exec(
      'INSERT INTO meetup_host_ratings (meetupId, hostId, raterId, rating, createdAt) VALUES (?, ?, ?, ?, ?)',
      [r.meetupId, r.hostId, r.raterId, r.rating, now],
      t,
    );
  }

  /** Recomputes the summary from the ratings themselves (no drift from increments). */
  async refreshHostStats(hostId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec(
      `UPDATE meetup_host_stats SET
         ratingAvg = (SELECT ROUND(AVG(r.rating), 2) FROM meetup_host_ratings r WHERE r.hostId = ?),
         ratingCount = (SELECT COUNT(*) FROM meetup_host_ratings r WHERE r.hostId = ?),
         updatedAt = ?
       WHERE userId = ?`,
      [hostId, hostId, now, hostId],
      t,
    );
  }

  async hostStats(hostId: number, t?: Transaction): Promise<{ ratingAvg: number | null; ratingCount: number } | null> {
    const rows = await this.select<{ ratingAvg: string | null; ratingCount: number }>(
      'SELECT ratingAvg, ratingCount FROM meetup_host_stats WHERE userId = ?',
      [hostId],
      t,
    );
    return rows.length ? { ratingAvg: decimal(rows[0].ratingAvg), ratingCount: rows[0].ratingCount } : null;
  }

  // --- lists -------------------------------------------------------------------------------------

  /**
   * My meetups, as host and/or guest. Upcoming: not ended at `now`, soonest first; past: ended, latest
   * first; ties by id. `after` continues a page (the last item's startsAt and id).
   */
  listMine(
    userId: number,
    q: {
      role?: 'host' | 'participant';
      when: 'upcoming' | 'past';
      now: Date;
      after: { at: Date; id: number } | null;
      limit: number;
    },
  ): Promise<MeetupRow[]> {
    const where = ['EXISTS (SELECT 1 FROM meetup_participants p WHERE p.meetupId = m.id AND p.userId = ?)'];
    const replacements: unknown[] = [userId];
    if (q.role === 'host') {
      where.push('m.hostId = ?');
      replacements.push(userId);
    } else if (q.role === 'participant') {
      where.push('m.hostId <> ?');
      replacements.push(userId);
    }
    const upcoming = q.when === 'upcoming';
    where.push(upcoming ? 'm.endsAt > ?' : 'm.endsAt <= ?');
    replacements.push(q.now);
    if (q.after) {
      where.push(
        upcoming
          ? '(m.startsAt > ? OR (m.startsAt = ? AND m.id > ?))'
          : '(m.startsAt < ? OR (m.startsAt = ? AND m.id < ?))',
      );
      replacements.push(q.after.at, q.after.at, q.after.id);
    }
    const order = upcoming ? 'm.startsAt, m.id' : 'm.startsAt DESC, m.id DESC';
    return this.rows(
      `SELECT ${COLS} ${FROM} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${Math.trunc(q.limit)}`,
      replacements,
    );
  }

  // --- search ------------------------------------------------------------------------------------

  /**
   * One page of the candidates that pass `nearby`, by start time then id, after `after`: the circle's
   * ids from Redis, or a walk of the (status, startsAt, id, lat, lng) index inside an SQL circle.
   */
  pageByStart(
    from: KeySortSource,
    nearby: NearbyFilter,
    after: { at: Date; id: number } | null,
    limit: number,
  ): Promise<MeetupRow[]> {
    const source = sourceSql('m', from);
    const filter = nearbySql(nearby);
    const where = [...source.where, ...filter.where];
    const replacements = [...source.replacements, ...filter.replacements];
    if (after) {
      where.push('(m.startsAt > ? OR (m.startsAt = ? AND m.id > ?))');
      replacements.push(after.at, after.at, after.id);
    }
    return this.rows(
      `SELECT ${COLS} ${'ids' in from ? FROM : FROM_BY_START} WHERE ${where.join(' AND ')} ORDER BY m.startsAt, m.id LIMIT ${Math.trunc(limit)}${source.cap}`,
      replacements,
    );
  }

  // --- sweeps ------------------------------------------------------------------------------------

  /** Meetups starting within the hour whose reminder has not gone out (claimed, skipping locked ones). */
  claimDueReminders(
    now: Date,
    horizon: Date,
    limit: number,
    t: Transaction,
  ): Promise<{ id: number; title: string; startsAt: Date; address: string; chatRoomId: number | null }[]> {
    return this.select(
      `SELECT id, title, startsAt, address, chatRoomId FROM meetups
        WHERE status = 'scheduled' AND reminderSentAt IS NULL AND startsAt > ? AND startsAt <= ?
        ORDER BY id LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
      [now, horizon],
      t,
    );
  }

  async markReminded(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('UPDATE meetups SET reminderSentAt = ? WHERE id = ? AND reminderSentAt IS NULL', [now, id], t);
  }

  /** Started meetups still in the geo index (search never shows them; the index lets them go). */
  claimStartedIndexed(now: Date, limit: number, t: Transaction): Promise<{ id: number }[]> {
    return this.select(
      `SELECT id FROM meetups WHERE geoIndexed = 1 AND startsAt <= ? ORDER BY id LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
      [now],
      t,
    );
  }

  async unindex(id: number, t: Transaction): Promise<void> {
    await this.exec('UPDATE meetups SET geoIndexed = 0, geoVersion = geoVersion + 1 WHERE id = ?', [id], t);
  }

  // --- reindex -----------------------------------------------------------------------------------

  /** One reindex batch (a plain read: versions make a stale batch harmless, see GeoIndex). */
  async indexedGeoBatch(afterId: number, limit: number): Promise<GeoPoint[]> {
    const rows = await this.select<{ id: number; lat: number; lng: number; geoVersion: number }>(
      'SELECT id, lat, lng, geoVersion FROM meetups WHERE geoIndexed = 1 AND id > ? ORDER BY id LIMIT ?',
      [afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, lat: Number(r.lat), lng: Number(r.lng), version: Number(r.geoVersion) }));
  }

  /** One rebuild batch of a tag's geo index (see MeetupTagIndexes). */
  async indexedGeoBatchWithTag(tag: string, afterId: number, limit: number): Promise<GeoPoint[]> {
    const rows = await this.select<{ id: number; lat: number; lng: number; geoVersion: number }>(
      `SELECT m.id, m.lat, m.lng, m.geoVersion FROM meetup_tags t JOIN meetups m ON m.id = t.meetupId
        WHERE t.tag = ? AND t.meetupId > ? AND m.geoIndexed = 1 ORDER BY t.meetupId LIMIT ?`,
      [tag, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, lat: Number(r.lat), lng: Number(r.lng), version: Number(r.geoVersion) }));
  }

  async countIndexedWithTag(tag: string): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM meetup_tags t JOIN meetups m ON m.id = t.meetupId WHERE t.tag = ? AND m.geoIndexed = 1',
      [tag],
    );
    return Number(row.n);
  }

  async countIndexed(): Promise<number> {
    const [row] = await this.select<{ n: number }>('SELECT COUNT(*) AS n FROM meetups WHERE geoIndexed = 1', []);
    return Number(row.n);
  }
}

function sizeFlags(sizes: PetSize[]): number[] {
  return [sizes.includes('small') ? 1 : 0, sizes.includes('medium') ? 1 : 0, sizes.includes('large') ? 1 : 0];
}

/** The columns a create and an edit both write, each with its value: one list, so the two cannot drift. */
function writeColumns(data: MeetupWrite): [column: string, value: unknown][] {
  const [petSmall, petMedium, petLarge] = sizeFlags(data.petSizes);
  return [
    ['title', data.title],
    ['description', data.description],
    ['lat', data.lat],
    ['lng', data.lng],
    ['address', data.address],
    ['startsAt', data.startsAt],
    ['endsAt', data.endsAt],
    ['capacity', data.capacity],
    ['tagsJson', JSON.stringify(data.tags)],
    ['petSmall', petSmall],
    ['petMedium', petMedium],
    ['petLarge', petLarge],
  ];
}

/**
 * The filter query of the nearby distance search, on the plain mysql2 pool (infra/hot-reads.ts): one
 * autocommit SELECT per page round, where Sequelize's query layer (replacement parsing of a long IN
 * list, date parsing, result post-processing) cost about as much as MySQL answering it.
 */
export class MeetupNearbyReads {
  constructor(private readonly db: HotReads) {}

  /** The rows among `ids` that pass `nearby` (order unspecified: the caller sorts by distance). */
  async filterIds(ids: number[], nearby: NearbyFilter): Promise<MeetupRow[]> {
    const list = idList(ids);
    if (!list) return [];
    const filter = nearbySql(nearby);
    const rows = await this.db.rows<RowRecord>(
      `SELECT ${COLS} ${FROM} WHERE m.id IN (${list}) AND ${filter.where.join(' AND ')}`,
      filter.replacements,
    );
    return rows.map(toRow);
  }
}
