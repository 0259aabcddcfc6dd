import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';

/** The columns an event is written from (times already resolved, reminder time computed). */
export interface EventWrite {
  title: string;
  description: string;
  startsAt: Date;
  endsAt: Date;
  allDay: boolean;
  startDate: string | null;
  endDate: string | null;
  location: string | null;
  remindAt: Date;
}

export interface EventRow extends EventWrite {
  id: number;
  groupId: number;
  createdById: number;
  reminderSentAt: Date | null;
  createdAt: Date;
}

const COLS = `id, groupId, title, description, startsAt, endsAt, allDay, startDate, endDate, location, createdById,
  remindAt, reminderSentAt, createdAt`;
const toRow = (r: EventRow): EventRow => ({ ...r, allDay: Boolean(r.allDay) });

/** The only code that knows the group_events table. */
export class CalendarRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private async select(sql: string, replacements: unknown[], t?: Transaction): Promise<EventRow[]> {
    return (await selectRows<EventRow>(this.sequelize, sql, replacements, t)).map(toRow);
  }

  async insert(groupId: number, createdById: number, e: EventWrite, now: Date, t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO group_events (groupId, title, description, startsAt, endsAt, allDay, startDate, endDate, location,
         createdById, remindAt, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [
          groupId,
          e.title,
          e.description,
          e.startsAt,
          e.endsAt,
          e.allDay,
          e.startDate,
          e.endDate,
          e.location,
          createdById,
          e.remindAt,
          now,
          now,
        ],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  /** Writes every editable column; a moved reminder time is armed again (the old one may have gone out). */
  async update(id: number, e: EventWrite, rearm: boolean, now: Date, t: Transaction): Promise<void> {
    await execAffected(
      this.sequelize,
      `UPDATE group_events SET title = ?, description = ?, startsAt = ?, endsAt = ?, allDay = ?, startDate = ?,
         endDate = ?, location = ?, remindAt = ?, updatedAt = ?${rearm ? ', reminderSentAt = NULL' : ''} WHERE id = ?`,
      [e.title, e.description, e.startsAt, e.endsAt, e.allDay, e.startDate, e.endDate, e.location, e.remindAt, now, id],
      t,
    );
  }

  async delete(id: number, t: Transaction): Promise<void> {
    await execAffected(this.sequelize, 'DELETE FROM group_events WHERE id = ?', [id], t);
  }

  async find(groupId: number, id: number, t?: Transaction, lock = false): Promise<EventRow | null> {
    const rows = await this.select(
      `SELECT ${COLS} FROM group_events WHERE id = ? AND groupId = ?${lock ? ' FOR UPDATE' : ''}`,
      [id, groupId],
      t,
    );
    return rows[0] ?? null;
  }

  /**
   * Events overlapping [from, to), by (startsAt, id) after `after`. The walk is bounded by the
   * (groupId, startsAt) index: startsAt < to, and the caller keeps to − from within 92 days.
   */
  overlapping(
    groupId: number,
    from: Date,
    to: Date,
    after: { at: Date; id: number } | null,
    limit: number,
  ): Promise<EventRow[]> {
    const where = ['groupId = ?', 'startsAt < ?', '(endsAt > ? OR startsAt >= ?)'];
    const values: unknown[] = [groupId, to, from, from];
    if (after) {
      where.push('(startsAt > ? OR (startsAt = ? AND id > ?))');
      values.push(after.at, after.at, after.id);
    }
    return this.select(
      `SELECT ${COLS} FROM group_events WHERE ${where.join(' AND ')} ORDER BY startsAt, id LIMIT ${Math.trunc(limit)}`,
      values,
    );
  }

  /** Events whose reminder is due and not sent, not yet started; claimed for this sweep only. */
  claimDue(now: Date, limit: number, t: Transaction): Promise<EventRow[]> {
    return this.select(
      `SELECT ${COLS} FROM group_events
        WHERE reminderSentAt IS NULL AND remindAt <= ? AND startsAt > ?
        ORDER BY id LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
      [now, now],
      t,
    );
  }

  async markReminded(id: number, now: Date, t: Transaction): Promise<void> {
    await execAffected(
      this.sequelize,
      'UPDATE group_events SET reminderSentAt = ? WHERE id = ? AND reminderSentAt IS NULL',
      [now, id],
      t,
    );
  }
}
