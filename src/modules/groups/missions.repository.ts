import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from '../../infra/db';
import { idList } from '../../infra/geo-sorted';

export interface MissionRow {
  id: number;
  groupId: number;
  title: string;
  dueDate: string | null;
  forEveryone: boolean;
  status: 'open' | 'done';
  createdById: number;
  createdAt: Date;
}

/** A user attached to a mission (an assignee, or one who completed it). */
export interface MissionUserRow {
  missionId: number;
  userId: number;
  nickname: string;
  avatarUrl: string | null;
}

const COLS = 'id, groupId, title, dueDate, forEveryone, status, createdById, createdAt';
const toRow = (r: MissionRow & { forEveryone: unknown }): MissionRow => ({ ...r, forEveryone: Boolean(r.forEveryone) });

/** The only code that knows the group_mission* tables. */
export class MissionsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  async insert(
    data: { groupId: number; title: string; dueDate: string | null; createdById: number; assigneeIds: number[] },
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO group_missions (groupId, title, dueDate, forEveryone, status, createdById, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, 'open', ?, ?, ?)`,
      {
        replacements: [
          data.groupId,
          data.title,
          data.dueDate,
          data.assigneeIds.length === 0,
          data.createdById,
          now,
          now,
        ],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
    const missionId = Number(id);
    if (data.assigneeIds.length)
      await execAffected(
        this.sequelize,
        `INSERT INTO group_mission_assignees (missionId, userId) VALUES ${data.assigneeIds.map(() => '(?, ?)').join(', ')}`,
        data.assigneeIds.flatMap((u) => [missionId, u]),
        t,
      );
    return missionId;
  }

  async find(groupId: number, missionId: number, t?: Transaction, lock = false): Promise<MissionRow | null> {
    const rows = await this.select<MissionRow>(
      `SELECT ${COLS} FROM group_missions WHERE id = ? AND groupId = ?${lock ? ' FOR UPDATE' : ''}`,
      [missionId, groupId],
      t,
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  async list(
    groupId: number,
    status: 'open' | 'done' | undefined,
    beforeId: number | null,
    limit: number,
  ): Promise<MissionRow[]> {
    const where = ['groupId = ?'];
    const values: unknown[] = [groupId];
    if (status) {
      where.push('status = ?');
      values.push(status);
    }
    if (beforeId) {
      where.push('id < ?');
      values.push(beforeId);
    }
    const rows = await this.select<MissionRow>(
      `SELECT ${COLS} FROM group_missions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${Math.trunc(limit)}`,
      values,
    );
    return rows.map(toRow);
  }

  /** The group's open missions, locked (a member left: some may wait for nobody now). */
  async lockOpen(groupId: number, t: Transaction): Promise<MissionRow[]> {
    const rows = await this.select<MissionRow>(
      `SELECT ${COLS} FROM group_missions WHERE groupId = ? AND status = 'open' ORDER BY id FOR UPDATE`,
      [groupId],
      t,
    );
    return rows.map(toRow);
  }

  async isAssignee(missionId: number, userId: number, t: Transaction): Promise<boolean> {
    const rows = await this.select(
      'SELECT 1 AS x FROM group_mission_assignees WHERE missionId = ? AND userId = ?',
      [missionId, userId],
      t,
    );
    return rows.length > 0;
  }

  async hasCompletions(missionId: number, t: Transaction): Promise<boolean> {
    const rows = await this.select(
      'SELECT 1 AS x FROM group_mission_completions WHERE missionId = ? LIMIT 1',
      [missionId],
      t,
    );
    return rows.length > 0;
  }

  /** Stores one completion; false when this user had already completed it (PRIMARY KEY). */
  async complete(missionId: number, userId: number, now: Date, t: Transaction): Promise<boolean> {
    return (
      (await execAffected(
        this.sequelize,
        'INSERT IGNORE INTO group_mission_completions (missionId, userId, completedAt) VALUES (?, ?, ?)',
        [missionId, userId, now],
        t,
      )) === 1
    );
  }

  /**
   * Who still has to complete it: the assignees who are still members (or, for everyone, every
   * member) without a completion. Read under the mission's row lock, so it is exact.
   */
  async remaining(m: MissionRow, t: Transaction): Promise<number> {
    const sql = m.forEveryone
      ? `SELECT COUNT(*) AS n FROM group_members gm
          WHERE gm.groupId = ? AND NOT EXISTS
            (SELECT 1 FROM group_mission_completions c WHERE c.missionId = ? AND c.userId = gm.userId)`
      : `SELECT COUNT(*) AS n FROM group_mission_assignees a
           JOIN group_members gm ON gm.groupId = ? AND gm.userId = a.userId
          WHERE a.missionId = ? AND NOT EXISTS
            (SELECT 1 FROM group_mission_completions c WHERE c.missionId = a.missionId AND c.userId = a.userId)`;
    const [row] = await this.select<{ n: number }>(sql, [m.groupId, m.id], t);
    return Number(row.n);
  }

  /** open → done; false when it was already done. */
  async markDone(missionId: number, now: Date, t: Transaction): Promise<boolean> {
    return (
      (await execAffected(
        this.sequelize,
        "UPDATE group_missions SET status = 'done', doneAt = ?, updatedAt = ? WHERE id = ? AND status = 'open'",
        [now, now, missionId],
        t,
      )) === 1
    );
  }

  assigneesOf(missionIds: number[]): Promise<MissionUserRow[]> {
    return this.usersOf('group_mission_assignees', 'a.userId', missionIds);
  }

  completionsOf(missionIds: number[]): Promise<MissionUserRow[]> {
    return this.usersOf('group_mission_completions', 'a.completedAt', missionIds);
  }

  private usersOf(table: string, order: string, missionIds: number[]): Promise<MissionUserRow[]> {
    const list = idList(missionIds);
    if (!list) return Promise.resolve([]);
    return this.select<MissionUserRow>(
      `SELECT a.missionId, a.userId, u.nickname, u.avatarUrl FROM ${table} a JOIN users u ON u.id = a.userId
        WHERE a.missionId IN (${list}) ORDER BY ${order}, a.userId`,
      [],
    );
  }
}
