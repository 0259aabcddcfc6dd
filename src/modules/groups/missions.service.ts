import type { Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import { decodeIdCursor, encodeCursor } from '../../http/cursor';
import { Conflict, Forbidden, InvalidFields, NotFound, fieldError } from '../../errors';
import type { NotifyInput } from '../notifications/notifications.service';
import type { GroupsDeps } from './groups.deps';
import type { GroupsService } from './groups.service';
import type { MissionRow, MissionsRepository, MissionUserRow } from './missions.repository';
import { iso, type PublicUserRef } from './groups.presenter';

export interface Mission {
  id: number;
  title: string;
  dueDate: string | null;
  assignees: PublicUserRef[];
  completedBy: PublicUserRef[];
  status: 'open' | 'done';
  createdBy: number;
  createdAt: string;
}

export interface CreateMissionInput {
  title: string;
  dueDate?: string | null;
  assigneeIds?: number[];
}

/**
 * Missions: a task for some members (assignees) or for everyone (no assignees: every member).
 * Completing locks the mission's row, so completions of one mission are serialized: a completion is
 * a row keyed by (mission, user) (a second one is 409), and whoever completes the last missing part
 * moves the mission to `done` and notifies the other members, exactly once under any concurrency.
 * `mission.completed` is emitted in that transaction for the badges module.
 */
export class MissionsService {
  constructor(
    private readonly d: GroupsDeps,
    private readonly groups: GroupsService,
    private readonly repo: MissionsRepository,
  ) {}

  /** Any member creates a mission; assignees must be members (400 naming body.assigneeIds). */
  async create(userId: number, groupId: number, input: CreateMissionInput): Promise<Mission> {
    const id = await inTransaction(this.d.sequelize, async (t) => {
      // The group's row lock: assignees cannot leave between the check and the insert.
      await this.groups.lockAs(groupId, userId, 'any', t);
      const assigneeIds = [...new Set(input.assigneeIds ?? [])];
      const members = new Set(await this.groups.memberIds(groupId, t));
      const outsiders = assigneeIds.filter((a) => !members.has(a));
      if (outsiders.length)
        throw InvalidFields([
          fieldError('body.assigneeIds', `must be members of the group (not ${outsiders.join(', ')})`),
        ]);
      return this.repo.insert(
        { groupId, title: input.title, dueDate: input.dueDate ?? null, createdById: userId, assigneeIds },
        this.d.clock.now(),
        t,
      );
    });
    return this.view(groupId, id);
  }

  async list(userId: number, groupId: number, q: { status?: 'open' | 'done'; limit: number; cursor?: string }) {
    await this.groups.requireMember(groupId, userId);
    const rows = await this.repo.list(groupId, q.status, decodeIdCursor(q.cursor) ?? null, q.limit + 1);
    const page = rows.slice(0, q.limit);
    return {
      items: await this.present(page),
      nextCursor: rows.length > q.limit ? encodeCursor({ id: page[page.length - 1].id }) : null,
    };
  }

  /** 404 for non-members and other groups' missions; 403 for a member who is not an assignee; 409 twice. */
  async complete(userId: number, groupId: number, missionId: number): Promise<Mission> {
    await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.groups.requireMember(groupId, userId, t);
      const m = await this.repo.find(groupId, missionId, t, true);
      if (!m) throw NotFound('Mission');
      if (!m.forEveryone && !(await this.repo.isAssignee(missionId, userId, t)))
        throw Forbidden('Only an assignee can complete this mission');
      const now = this.d.clock.now();
      if (!(await this.repo.complete(missionId, userId, now, t)))
        throw Conflict('You have already completed this mission');
      if (m.status === 'done') throw Conflict('This mission is already done');
      const members = await this.groups.memberIds(groupId, t);
      await this.d.events.emit(t, 'mission.completed', {
        groupId,
        missionId,
        userId,
        completedAt: now,
        memberCount: members.length,
      });
      if ((await this.repo.remaining(m, t)) > 0 || !(await this.repo.markDone(missionId, now, t))) return;
      const others = members.filter((id) => id !== userId);
      const inputs: NotifyInput[] = others.map((recipientId) => ({
        recipientId,
        type: 'group.mission_done',
        title: `Mission done in ${g.name}: ${m.title}`,
        data: { groupId, missionId },
        dedupeKey: `mission:${missionId}:done`,
      }));
      if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
    });
    return this.view(groupId, missionId);
  }

  /**
   * A member left (in that transaction, the group's row locked): an open mission that waited only
   * for them is done now, and every remaining member hears of it once. A mission that nobody
   * completed (its assignees all left) stays open.
   */
  async settleAfterLeave(groupId: number, t: Transaction): Promise<void> {
    const now = this.d.clock.now();
    for (const m of await this.repo.lockOpen(groupId, t)) {
      if (!(await this.repo.hasCompletions(m.id, t)) || (await this.repo.remaining(m, t)) > 0) continue;
      if (!(await this.repo.markDone(m.id, now, t))) continue;
      const inputs: NotifyInput[] = (await this.groups.memberIds(groupId, t)).map((recipientId) => ({
        recipientId,
        type: 'group.mission_done',
        title: `Mission done: ${m.title}`,
        data: { groupId, missionId: m.id },
        dedupeKey: `mission:${m.id}:done`,
      }));
      if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
    }
  }

  private async view(groupId: number, missionId: number): Promise<Mission> {
    const m = await this.repo.find(groupId, missionId);
    if (!m) throw NotFound('Mission');
    return (await this.present([m]))[0];
  }

  private async present(rows: MissionRow[]): Promise<Mission[]> {
    const ids = rows.map((r) => r.id);
    const [assignees, completions] = await Promise.all([this.repo.assigneesOf(ids), this.repo.completionsOf(ids)]);
    const byMission = (list: MissionUserRow[], id: number) =>
      list
        .filter((u) => u.missionId === id)
        .map((u) => ({ id: u.userId, nickname: u.nickname, avatarUrl: u.avatarUrl }));
    return rows.map((m) => ({
      id: m.id,
      title: m.title,
      dueDate: m.dueDate,
      assignees: byMission(assignees, m.id),
      completedBy: byMission(completions, m.id),
      status: m.status,
      createdBy: m.createdById,
      createdAt: iso(m.createdAt),
    }));
  }
}
