import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';

export type ReservationStatus = 'requested' | 'accepted' | 'rejected' | 'cancelled' | 'completed';
export type Party = 'owner' | 'sitter' | 'system';

export interface ReservationRow {
  id: number;
  ownerId: number;
  sitterId: number;
  sitterUserId: number;
  service: 'boarding' | 'daycare' | 'walking' | 'drop_in';
  startDate: string;
  endDate: string;
  petCount: number;
  petsJson: string;
  unitPrice: number;
  totalPrice: number;
  note: string | null;
  status: ReservationStatus;
  chatRoomId: number | null;
  cancelledBy: Party | null;
  cancelReason: string | null;
  expiresAt: Date;
  reminderSentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewReservation = Omit<
  ReservationRow,
  'id' | 'chatRoomId' | 'cancelledBy' | 'cancelReason' | 'reminderSentAt' | 'createdAt' | 'updatedAt' | 'status'
>;

export interface IdempotencyRow {
  id: number;
  requestHash: string;
  responseStatus: number | null;
  responseBody: string | null;
  createdAt: Date;
}

const COLS = `id, ownerId, sitterId, sitterUserId, service, startDate, endDate, petCount, petsJson, unitPrice, totalPrice,
  note, status, chatRoomId, cancelledBy, cancelReason, expiresAt, reminderSentAt, createdAt, updatedAt`;

/** Reservations, the sitters' booked load per day, and idempotency keys. */
export class ReservationsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  private exec(sql: string, replacements: unknown[], t: Transaction): Promise<number> {
    return execAffected(this.sequelize, sql, replacements, t);
  }

  async insert(r: NewReservation, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO reservations (ownerId, sitterId, sitterUserId, service, startDate, endDate, petCount, petsJson, unitPrice,
         totalPrice, note, status, expiresAt, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?)`,
      {
        replacements: [
          r.ownerId,
          r.sitterId,
          r.sitterUserId,
          r.service,
          r.startDate,
          r.endDate,
          r.petCount,
          r.petsJson,
          r.unitPrice,
          r.totalPrice,
          r.note,
          r.expiresAt,
          now,
          now,
        ],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  /** Which of these sitter profiles the owner has an accepted reservation with (they may see its exact home). */
  async acceptedSittersOf(ownerId: number, sitterIds: number[]): Promise<Set<number>> {
    if (!sitterIds.length) return new Set();
    const rows = await this.sequelize.query<{ sitterId: number }>(
      `SELECT DISTINCT sitterId FROM reservations WHERE ownerId = ? AND status = 'accepted' AND sitterId IN (${sitterIds.map(() => '?').join(', ')})`,
      { replacements: [ownerId, ...sitterIds], type: QueryTypes.SELECT },
    );
    return new Set(rows.map((r) => r.sitterId));
  }

  async setChatRoom(id: number, roomId: number, t: Transaction): Promise<void> {
    await this.exec('UPDATE reservations SET chatRoomId = ? WHERE id = ?', [roomId, id], t);
  }

  async findById(id: number, t?: Transaction, lock = false): Promise<ReservationRow | null> {
    const rows = await this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations WHERE id = ? ${lock && t ? 'FOR UPDATE' : ''}`,
      [id],
      t,
    );
    return rows[0] ?? null;
  }

  /** Newest first; `role` narrows to one side; `beforeId` is the cursor. */
  list(
    userId: number,
    q: { role?: 'owner' | 'sitter'; status?: ReservationStatus; beforeId?: number; limit: number },
  ): Promise<ReservationRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.role === 'owner') where.push('ownerId = ?');
    else if (q.role === 'sitter') where.push('sitterUserId = ?');
    else where.push('(ownerId = ? OR sitterUserId = ?)');
    params.push(userId);
    if (!q.role) params.push(userId);
    if (q.status) {
      where.push('status = ?');
      params.push(q.status);
    }
    if (q.beforeId) {
      where.push('id < ?');
      params.push(q.beforeId);
    }
    return this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${q.limit}`,
      params,
    );
  }

  /**
   * The condition sitter search adds for `from`/`to`: no day of the range is booked up to the
   * sitter's `maxPets`. Written against the search query's `s` (sitter_profiles) alias.
   */
  fullDayFilter(range: { from: string; to: string }): { where: string[]; replacements: unknown[] } {
    return {
      where: [
        'NOT EXISTS (SELECT 1 FROM sitter_booked_days b WHERE b.sitterId = s.id AND b.day BETWEEN ? AND ? AND b.pets >= s.maxPets)',
      ],
      replacements: [range.from, range.to],
    };
  }

  /** Booked pets per day in the range (days without bookings are absent). */
  async bookedLoad(sitterId: number, start: string, end: string, t: Transaction): Promise<Map<string, number>> {
    const rows = await this.select<{ day: string; pets: number }>(
      'SELECT day, pets FROM sitter_booked_days WHERE sitterId = ? AND day BETWEEN ? AND ? FOR UPDATE',
      [sitterId, start, end],
      t,
    );
    return new Map(rows.map((r) => [String(r.day), Number(r.pets)]));
  }

  async addLoad(sitterId: number, days: string[], pets: number, t: Transaction): Promise<void> {
    if (!days.length) return;
    await this.exec(
      `INSERT INTO sitter_booked_days (sitterId, day, pets) VALUES ${days.map(() => '(?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE pets = pets + VALUES(pets)`,
      days.flatMap((d) => [sitterId, d, pets]),
      t,
    );
  }

  async removeLoad(sitterId: number, start: string, end: string, pets: number, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE sitter_booked_days SET pets = GREATEST(pets, ?) - ? WHERE sitterId = ? AND day BETWEEN ? AND ?',
      [pets, pets, sitterId, start, end],
      t,
    );
    await this.exec(
      'DELETE FROM sitter_booked_days WHERE sitterId = ? AND day BETWEEN ? AND ? AND pets = 0',
      [sitterId, start, end],
      t,
    );
  }

  /**
   * Open reservations of one account on either side (requested or accepted, not ended by `today`),
   * locked: a locking read sees bookings committed while the caller waited, which a snapshot would miss.
   */
  lockOpenOf(userId: number, today: string, t: Transaction): Promise<ReservationRow[]> {
    return this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations
        WHERE (ownerId = ? OR sitterUserId = ?) AND status IN ('requested', 'accepted') AND endDate >= ?
        ORDER BY id FOR UPDATE`,
      [userId, userId, today],
      t,
    );
  }

  /** Guarded transition: only from one of `from`; returns false when the row was not in such a state. */
  async transition(
    id: number,
    from: ReservationStatus[],
    to: ReservationStatus,
    now: Date,
    t: Transaction,
    cancel?: { by: Party; reason: string | null },
  ): Promise<boolean> {
    const affected = await this.exec(
      `UPDATE reservations SET status = ?, cancelledBy = ?, cancelReason = ?, updatedAt = ?
        WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})`,
      [to, cancel?.by ?? null, cancel?.reason ?? null, now, id, ...from],
      t,
    );
    return affected === 1;
  }

  // --- sweeper queries: rows are claimed with SKIP LOCKED so several instances share the work ------

  claimExpired(now: Date, today: string, limit: number, t: Transaction): Promise<ReservationRow[]> {
    return this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations WHERE status = 'requested' AND (expiresAt <= ? OR startDate < ?)
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      [now, today],
      t,
    );
  }

  claimDueReminders(tomorrow: string, limit: number, t: Transaction): Promise<ReservationRow[]> {
    return this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations WHERE status = 'accepted' AND reminderSentAt IS NULL AND startDate = ?
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      [tomorrow],
      t,
    );
  }

  async markReminded(id: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('UPDATE reservations SET reminderSentAt = ? WHERE id = ?', [now, id], t);
  }

  claimAutoComplete(lastEndDay: string, limit: number, t: Transaction): Promise<ReservationRow[]> {
    return this.select<ReservationRow>(
      `SELECT ${COLS} FROM reservations WHERE status = 'accepted' AND endDate <= ?
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      [lastEndDay],
      t,
    );
  }

  // --- idempotency keys ----------------------------------------------------------------------------

  async insertKey(
    userId: number,
    scope: string,
    key: string,
    requestHash: string,
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const [id] = await this.sequelize.query(
      'INSERT INTO idempotency_keys (userId, scope, idemKey, requestHash, createdAt) VALUES (?, ?, ?, ?, ?)',
      { replacements: [userId, scope, key, requestHash, now], transaction: t, type: QueryTypes.INSERT },
    );
    return Number(id);
  }

  async saveKeyResponse(id: number, status: number, body: unknown, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE idempotency_keys SET responseStatus = ?, responseBody = ? WHERE id = ?',
      [status, JSON.stringify(body), id],
      t,
    );
  }

  async findKey(userId: number, scope: string, key: string): Promise<IdempotencyRow | null> {
    const rows = await this.select<IdempotencyRow>(
      'SELECT id, requestHash, responseStatus, responseBody, createdAt FROM idempotency_keys WHERE userId = ? AND scope = ? AND idemKey = ?',
      [userId, scope, key],
    );
    return rows[0] ?? null;
  }

  async deleteKeyIfOlder(id: number, before: Date): Promise<void> {
    await this.sequelize.query('DELETE FROM idempotency_keys WHERE id = ? AND createdAt < ?', {
      replacements: [id, before],
    });
  }
}
