import Joi from 'joi';
import type { Transaction } from 'sequelize';
import { CLAIM_TX, inTransaction } from '../../infra/db';
import { zonedInstant } from '../../infra/zoned-time';
import { localTime } from '../../infra/time-text';
import { cursorDate, cursorId, decodeCursor, encodeCursor } from '../../http/cursor';
import { Forbidden, InvalidFields, NotFound, fieldError } from '../../errors';
import type { NotifyInput } from '../notifications/notifications.service';
import { addDays, daysBetween } from '../sitters/sitters.days';
import type { GroupsDeps } from './groups.deps';
import type { GroupsService } from './groups.service';
import type { CalendarRepository, EventRow, EventWrite } from './calendar.repository';
import { iso } from './groups.presenter';

/** API.md: `to − from` ≤ 92 days. */
export const MAX_RANGE_DAYS = 92;
/** The longest event (an all-day span or a timed one). */
export const MAX_EVENT_DAYS = 366;
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
/** All-day events are announced at this local time the day before. */
const ALL_DAY_REMINDER_HOUR = 9;
const SWEEP_BATCH = 200;

export interface GroupEvent {
  id: number;
  title: string;
  description: string;
  startsAt: string;
  endsAt: string;
  allDay: boolean;
  startDate: string | null;
  endDate: string | null;
  location: string | null;
  createdBy: number;
  createdAt: string;
}

/** What a client sends (POST whole, PATCH any part); the service resolves it to instants. */
export interface EventInput {
  title?: string;
  description?: string;
  location?: string | null;
  allDay?: boolean;
  startsAt?: Date;
  endsAt?: Date;
  startDate?: string;
  endDate?: string;
}

const eventCursor = Joi.object({ at: cursorDate.required(), id: cursorId.required() });

/**
 * The group calendar. All-day events are calendar days in SERVICE_TZ: `startsAt` is the first
 * instant of `startDate` there and `endsAt` the last instant of `endDate` (the next midnight minus
 * 1 ms), so a client in another zone still sees the family's days. Reminders: one per member an
 * hour before a timed event, at 09:00 (SERVICE_TZ) the day before an all-day one; `remindAt` is
 * stored with the event and the sweep claims due rows with SKIP LOCKED, so each goes out once
 * whatever the number of instances and sweeps. Moving an event re-arms its reminder.
 */
export class CalendarService {
  constructor(
    private readonly d: GroupsDeps,
    private readonly groups: GroupsService,
    private readonly repo: CalendarRepository,
  ) {}

  async create(userId: number, groupId: number, input: EventInput): Promise<GroupEvent> {
    const write = this.resolve(input, null);
    const id = await inTransaction(this.d.sequelize, async (t) => {
      await this.groups.requireMember(groupId, userId, t);
      return this.repo.insert(groupId, userId, write, this.d.clock.now(), t);
    });
    return this.get(userId, groupId, id);
  }

  async get(userId: number, groupId: number, id: number): Promise<GroupEvent> {
    await this.groups.requireMember(groupId, userId);
    const e = await this.repo.find(groupId, id);
    if (!e) throw NotFound('Event');
    return toEvent(e);
  }

  /** Its creator, the owner and admins edit (other members 403). */
  async update(userId: number, groupId: number, id: number, input: EventInput): Promise<GroupEvent> {
    await inTransaction(this.d.sequelize, async (t) => {
      const e = await this.editable(userId, groupId, id, t);
      const write = this.resolve(input, e);
      const rearm = write.remindAt.getTime() !== new Date(e.remindAt).getTime();
      await this.repo.update(id, write, rearm, this.d.clock.now(), t);
    });
    return this.get(userId, groupId, id);
  }

  async delete(userId: number, groupId: number, id: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.editable(userId, groupId, id, t);
      await this.repo.delete(id, t);
    });
  }

  /** Events overlapping [from, to), oldest first; the range is at most 92 days (400 on query.to). */
  async list(userId: number, groupId: number, q: { from: Date; to: Date; limit: number; cursor?: string }) {
    if (q.to.getTime() <= q.from.getTime()) throw InvalidFields([fieldError('query.to', 'must be after query.from')]);
    if (q.to.getTime() - q.from.getTime() > MAX_RANGE_DAYS * DAY)
      throw InvalidFields([fieldError('query.to', `must be at most ${MAX_RANGE_DAYS} days after query.from`)]);
    await this.groups.requireMember(groupId, userId);
    const after = q.cursor ? decodeCursor<{ at: Date; id: number }>(q.cursor, eventCursor) : null;
    const rows = await this.repo.overlapping(groupId, q.from, q.to, after, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toEvent),
      nextCursor:
        rows.length > q.limit ? encodeCursor({ at: new Date(last.startsAt).toISOString(), id: last.id }) : null,
    };
  }

  /** One sweep: due reminders go to every member once. Safe on any number of instances at once. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await inTransaction(this.d.sequelize, (t) => this.remindBatch(t), 4, CLAIM_TX);
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  private async remindBatch(t: Transaction): Promise<number> {
    const now = this.d.clock.now();
    const due = await this.repo.claimDue(now, SWEEP_BATCH, t);
    const inputs: NotifyInput[] = [];
    for (const e of due) {
      await this.repo.markReminded(e.id, now, t);
      const when = e.allDay
        ? e.startDate === e.endDate
          ? `All day on ${e.startDate}`
          : `All day, ${e.startDate} to ${e.endDate}`
        : localTime(e.startsAt, this.d.serviceTz);
      for (const recipientId of await this.groups.memberIds(e.groupId, t))
        inputs.push({
          recipientId,
          type: 'group.event_reminder',
          title: `Coming up: ${e.title}`,
          body: e.location ? `${when}, ${e.location}` : when,
          data: { groupId: e.groupId, eventId: e.id, startsAt: iso(e.startsAt) },
          // Belt and braces next to the claim: one reminder per member and reminder time, ever.
          dedupeKey: `group-event:${e.id}:reminder:${new Date(e.remindAt).getTime()}`,
        });
    }
    // One call for the batch: recipients are locked in one global order (no deadlock between sweeps).
    if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
    return due.length;
  }

  // --- internals ---------------------------------------------------------------------------------

  private async editable(userId: number, groupId: number, id: number, t: Transaction): Promise<EventRow> {
    const g = await this.groups.requireMember(groupId, userId, t);
    const e = await this.repo.find(groupId, id, t, true);
    if (!e) throw NotFound('Event');
    if (e.createdById !== userId && g.role === 'member')
      throw Forbidden('Only its creator, the owner or an admin can change this event');
    return e;
  }

  /**
   * The event's columns from a request, over the current event for PATCH. Whether it is all day
   * comes from the request's `allDay`, else from the event; the other kind's fields are refused.
   */
  private resolve(input: EventInput, current: EventRow | null): EventWrite {
    const allDay = input.allDay ?? current?.allDay ?? false;
    const base = {
      title: input.title ?? current?.title ?? '',
      description: input.description ?? current?.description ?? '',
      location: input.location !== undefined ? input.location : (current?.location ?? null),
    };
    if (allDay) {
      if (input.startsAt || input.endsAt)
        throw InvalidFields([
          fieldError(input.startsAt ? 'body.startsAt' : 'body.endsAt', 'is not allowed for an all-day event'),
        ]);
      const startDate = input.startDate ?? (current?.allDay ? current.startDate : null);
      const endDate = input.endDate ?? (current?.allDay ? current.endDate : null) ?? startDate;
      if (!startDate) throw InvalidFields([fieldError('body.startDate', 'is required for an all-day event')]);
      if (!endDate || endDate < startDate)
        throw InvalidFields([fieldError('body.endDate', 'must not be before body.startDate')]);
      if (daysBetween(startDate, endDate) >= MAX_EVENT_DAYS)
        throw InvalidFields([fieldError('body.endDate', `must be within ${MAX_EVENT_DAYS} days of body.startDate`)]);
      const tz = this.d.serviceTz;
      const startsAt = zonedInstant(startDate, 0, 0, tz);
      return {
        ...base,
        allDay,
        startDate,
        endDate,
        startsAt,
        endsAt: new Date(zonedInstant(addDays(endDate, 1), 0, 0, tz).getTime() - 1),
        remindAt: zonedInstant(addDays(startDate, -1), ALL_DAY_REMINDER_HOUR, 0, tz),
      };
    }
    if (input.startDate || input.endDate)
      throw InvalidFields([
        fieldError(input.startDate ? 'body.startDate' : 'body.endDate', 'is only for all-day events (allDay: true)'),
      ]);
    const startsAt = input.startsAt ?? (current && !current.allDay ? new Date(current.startsAt) : null);
    const endsAt = input.endsAt ?? (current && !current.allDay ? new Date(current.endsAt) : null);
    if (!startsAt) throw InvalidFields([fieldError('body.startsAt', 'is required')]);
    if (!endsAt) throw InvalidFields([fieldError('body.endsAt', 'is required')]);
    if (endsAt < startsAt) throw InvalidFields([fieldError('body.endsAt', 'must not be before body.startsAt')]);
    if (endsAt.getTime() - startsAt.getTime() > MAX_EVENT_DAYS * DAY)
      throw InvalidFields([fieldError('body.endsAt', `must be within ${MAX_EVENT_DAYS} days of body.startsAt`)]);
    return {
      ...base,
      allDay: false,
      startDate: null,
      endDate: null,
      startsAt,
      endsAt,
      remindAt: new Date(startsAt.getTime() - HOUR),
    };
  }
}

export const toEvent = (e: EventRow): GroupEvent => ({
  id: e.id,
  title: e.title,
  description: e.description,
  startsAt: iso(e.startsAt),
  endsAt: iso(e.endsAt),
  allDay: e.allDay,
  startDate: e.allDay ? e.startDate : null,
  endDate: e.allDay ? e.endDate : null,
  location: e.location,
  createdBy: e.createdById,
  createdAt: iso(e.createdAt),
});
