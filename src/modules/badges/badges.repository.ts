import type { Sequelize, Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';

/** The only code that knows user_badges, badge_tallies and badge_days. */
export class BadgesRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Adds one to a tally and answers its new value. The upsert takes the row's lock until the
   * transaction ends, so two events of one user are counted one after the other, and the locking
   * read returns the value this transaction wrote.
   */
  async increment(userId: number, metric: string, scope: number, t: Transaction): Promise<number> {
    await execAffected(
      this.sequelize,
      `INSERT INTO badge_tallies (userId, metric, scope, count) VALUES (?, ?, ?, 1)
       ON DUPLICATE KEY UPDATE count = count + 1`,
      [userId, metric, scope],
      t,
    );
    const [row] = await selectRows<{ count: number }>(
      this.sequelize,
      'SELECT count FROM badge_tallies WHERE userId = ? AND metric = ? AND scope = ? FOR UPDATE',
      [userId, metric, scope],
      t,
    );
    return Number(row?.count ?? 0);
  }

  async addDay(userId: number, metric: string, day: string, t: Transaction): Promise<void> {
    await execAffected(
      this.sequelize,
      'INSERT IGNORE INTO badge_days (userId, metric, day) VALUES (?, ?, ?)',
      [userId, metric, day],
      t,
    );
  }

  /** Days with activity in [from, to], oldest first; a locking read, so it sees what others committed. */
  async days(userId: number, metric: string, from: string, to: string, t: Transaction): Promise<string[]> {
    const rows = await selectRows<{ day: string }>(
      this.sequelize,
      `SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day FROM badge_days
        WHERE userId = ? AND metric = ? AND day BETWEEN ? AND ? ORDER BY day FOR UPDATE`,
      [userId, metric, from, to],
      t,
    );
    return rows.map((r) => r.day);
  }

  /** True when this call earned it; false when the user already had it (UNIQUE(userId, code)). */
  async award(userId: number, code: string, now: Date, t: Transaction): Promise<boolean> {
    // `id = id` changes nothing: a duplicate reports 0 affected rows, a new row 1.
    const affected = await execAffected(
      this.sequelize,
      'INSERT INTO user_badges (userId, code, earnedAt) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE id = id',
      [userId, code, now],
      t,
    );
    return affected === 1;
  }

  async earnedBy(userId: number): Promise<Array<{ code: string; earnedAt: Date }>> {
    const rows = await selectRows<{ code: string; earnedAt: Date }>(
      this.sequelize,
      'SELECT code, earnedAt FROM user_badges WHERE userId = ? ORDER BY earnedAt, id',
      [userId],
    );
    return rows.map((r) => ({ code: r.code, earnedAt: new Date(r.earnedAt) }));
  }

  /** A deleted account keeps no badges and no progress. */
  async forget(userId: number, t: Transaction): Promise<void> {
    for (const table of ['user_badges', 'badge_tallies', 'badge_days']) {
      await execAffected(this.sequelize, `DELETE FROM ${table} WHERE userId = ?`, [userId], t);
    }
  }
}
