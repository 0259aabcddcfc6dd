import type { Transaction } from 'sequelize';
import { SqlRepository } from '../../infra/sql-repository';

export type TargetType = 'post' | 'comment' | 'listing' | 'user' | 'message' | 'photo';
export type CaseStatus = 'open' | 'kept' | 'removed';

export interface CaseRow {
  id: number;
  targetType: TargetType;
  targetId: number;
  reporterCount: number;
  status: CaseStatus;
  hiddenAt: Date | null;
  resolvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface BlockRow {
  blockedId: number;
  createdAt: Date;
}

/** The only code that knows user_blocks, report_cases and reports. */
export class SafetyRepository extends SqlRepository {
  // --- blocks ------------------------------------------------------------------------------------

  async block(blockerId: number, blockedId: number, now: Date, t?: Transaction): Promise<boolean> {
    return (
      (await this.exec(
        'INSERT IGNORE INTO user_blocks (blockerId, blockedId, createdAt) VALUES (?, ?, ?)',
        [blockerId, blockedId, now],
        t,
      )) === 1
    );
  }

  async unblock(blockerId: number, blockedId: number): Promise<void> {
    await this.exec('DELETE FROM user_blocks WHERE blockerId = ? AND blockedId = ?', [blockerId, blockedId]);
  }

  async countBlocks(blockerId: number, t?: Transaction): Promise<number> {
    const [row] = await this.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM user_blocks WHERE blockerId = ?',
      [blockerId],
      t,
    );
    return Number(row.n);
  }

  listBlocks(blockerId: number): Promise<BlockRow[]> {
    return this.select<BlockRow>(
      'SELECT blockedId, createdAt FROM user_blocks WHERE blockerId = ? ORDER BY createdAt DESC, blockedId DESC',
      [blockerId],
    );
  }

  /**
   * A WHERE fragment true when the user in `column` and `viewerId` have no block either way. It stays
   * a correlated subquery (two primary/mirror index probes per row) so that an account blocked by
   * thousands never carries their ids in its queries. `column` is code, never input: checked here.
   */
  notBlockedEitherWaySql(column: string, viewerId: number): { sql: string; replacements: unknown[] } {
    checkColumn(column);
    return {
      sql: `(NOT EXISTS (SELECT 1 FROM user_blocks ub WHERE ub.blockerId = ? AND ub.blockedId = ${column})
        AND NOT EXISTS (SELECT 1 FROM user_blocks ub WHERE ub.blockedId = ? AND ub.blockerId = ${column}))`,
      replacements: [viewerId, viewerId],
    };
  }

  /** A condition true when the users in columns `a` and `b` have a block either way (primary and mirror key probes). */
  blockedBetweenSql(a: string, b: string): string {
    checkColumn(a);
    checkColumn(b);
    return `(EXISTS (SELECT 1 FROM user_blocks ub WHERE ub.blockerId = ${a} AND ub.blockedId = ${b})
      OR EXISTS (SELECT 1 FROM user_blocks ub WHERE ub.blockerId = ${b} AND ub.blockedId = ${a}))`;
  }

  async usersBlockedWith(userId: number): Promise<Set<number>> {
    const rows = await this.select<{ id: number }>(
      `SELECT blockedId AS id FROM user_blocks WHERE blockerId = ?
        UNION SELECT blockerId AS id FROM user_blocks WHERE blockedId = ?`,
      [userId, userId],
    );
    return new Set(rows.map((r) => Number(r.id)));
  }

  async isBlockedEitherWay(a: number, b: number, t?: Transaction): Promise<boolean> {
    const rows = await this.select<{ one: number }>(
      `SELECT 1 AS one FROM user_blocks WHERE (blockerId = ? AND blockedId = ?) OR (blockerId = ? AND blockedId = ?) LIMIT 1`,
      [a, b, b, a],
      t,
    );
    return rows.length > 0;
  }

  /**
   * Which of these pairs have a block either way, in one query (a batch of chat messages checks all its
   * direct rooms at once). Each found pair is keyed `low:high`.
   */
  async blockedPairs(pairs: Array<[number, number]>, t?: Transaction): Promise<Set<string>> {
    const key = (a: number, b: number) => `${Math.min(a, b)}:${Math.max(a, b)}`;
    const wanted = new Set(pairs.filter(([a, b]) => a !== b).map(([a, b]) => key(a, b)));
    if (!wanted.size) return new Set();
    const ids = [...new Set(pairs.flat())];
    // A superset (every block among these users), narrowed to the pairs asked for below.
    const rows = await this.select<{ blockerId: number; blockedId: number }>(
      'SELECT blockerId, blockedId FROM user_blocks WHERE blockerId IN (?) AND blockedId IN (?)',
      [ids, ids],
      t,
    );
    return new Set(rows.map((r) => key(r.blockerId, r.blockedId)).filter((k) => wanted.has(k)));
  }

  // --- reports -----------------------------------------------------------------------------------

  /** The case of a target, created if needed and locked: reports of one target are serialized on it. */
  async lockCase(targetType: TargetType, targetId: number, now: Date, t: Transaction): Promise<CaseRow> {
    await this.exec(
      `INSERT IGNORE INTO report_cases (targetType, targetId, reporterCount, status, createdAt, updatedAt)
       VALUES (?, ?, 0, 'open', ?, ?)`,
      [targetType, targetId, now, now],
      t,
    );
    const [row] = await this.select<CaseRow>(
      'SELECT * FROM report_cases WHERE targetType = ? AND targetId = ? FOR UPDATE',
      [targetType, targetId],
      t,
    );
    return row;
  }

  async lockCaseById(id: number, t: Transaction): Promise<CaseRow | null> {
    const rows = await this.select<CaseRow>('SELECT * FROM report_cases WHERE id = ? FOR UPDATE', [id], t);
    return rows[0] ?? null;
  }

  /** One report per reporter and case; true when this one is new (and then the case counts it). */
  async addReport(
    caseId: number,
    r: { reporterId: number; reason: string; detail: string },
    now: Date,
    t: Transaction,
  ): Promise<boolean> {
    const added =
      (await this.exec(
        'INSERT IGNORE INTO reports (caseId, reporterId, reason, detail, createdAt) VALUES (?, ?, ?, ?, ?)',
        [caseId, r.reporterId, r.reason, r.detail, now],
        t,
      )) === 1;
    if (added)
      await this.exec(
        'UPDATE report_cases SET reporterCount = reporterCount + 1, updatedAt = ? WHERE id = ?',
        [now, caseId],
        t,
      );
    return added;
  }

  async markHidden(caseId: number, now: Date, t: Transaction): Promise<void> {
    await this.exec('UPDATE report_cases SET hiddenAt = ?, updatedAt = ? WHERE id = ?', [now, now, caseId], t);
  }

  async resolve(caseId: number, status: 'kept' | 'removed', now: Date, t: Transaction): Promise<void> {
    await this.exec(
      'UPDATE report_cases SET status = ?, resolvedAt = ?, hiddenAt = NULL, updatedAt = ? WHERE id = ?',
      [status, now, now, caseId],
      t,
    );
  }

  /** Cases for the operator: open ones by default (most reporters first). */
  listCases(q: { status: CaseStatus | 'all'; limit: number; minReporters: number }): Promise<CaseRow[]> {
    const where = ['reporterCount >= ?'];
    const replacements: unknown[] = [q.minReporters];
    if (q.status !== 'all') {
      where.push('status = ?');
      replacements.push(q.status);
    }
    return this.select<CaseRow>(
      `SELECT * FROM report_cases WHERE ${where.join(' AND ')} ORDER BY reporterCount DESC, id LIMIT ${Math.trunc(q.limit)}`,
      replacements,
    );
  }

  reasonsOf(caseId: number): Promise<{ reason: string; n: number }[]> {
    return this.select('SELECT reason, COUNT(*) AS n FROM reports WHERE caseId = ? GROUP BY reason ORDER BY n DESC', [
      caseId,
    ]);
  }
}

/** Columns go into SQL text: they are code, never input, and are checked to be `alias.column`. */
function checkColumn(column: string): void {
  if (!/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/.test(column)) throw new Error(`not a column reference: ${column}`);
}
