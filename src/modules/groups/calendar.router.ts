import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { CalendarService } from './calendar.service';
import { MAX_EVENT_DAYS, MAX_RANGE_DAYS } from './calendar.service';
import * as s from './groups.schemas';
import { tag } from './groups.router';

/** API.md v1.1 "Groups": the calendar. */
export function calendarRoutes(calendar: CalendarService): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/groups/:id/events',
      operationId: 'createGroupEvent',
      tag,
      auth: true,
      params: idParams,
      body: s.createEventBody,
      summary: `Add an event (any member): { title, description?, startsAt, endsAt, location? } or, all day, { title, allDay: true, startDate, endDate } (calendar days in SERVICE_TZ, inclusive). At most ${MAX_EVENT_DAYS} days long. Every member gets group.event_reminder once: an hour before, or at 09:00 (SERVICE_TZ) the day before an all-day event`,
      responses: { 201: { description: 'The event', schema: s.eventSchema } },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await calendar.create(user.id, params.id, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/events',
      operationId: 'listGroupEvents',
      tag,
      auth: true,
      params: idParams,
      query: s.eventListQuery,
      summary: `Events overlapping [from, to) (ISO instants; to − from ≤ ${MAX_RANGE_DAYS} days, else 400), oldest first`,
      responses: { 200: { description: 'One page of events', schema: s.listSchema(s.eventSchema) } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await calendar.list(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/events/:eventId',
      operationId: 'getGroupEvent',
      tag,
      auth: true,
      params: s.eventParams,
      summary: 'One event',
      responses: { 200: { description: 'The event', schema: s.eventSchema } },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await calendar.get(user.id, params.id, params.eventId),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/groups/:id/events/:eventId',
      operationId: 'updateGroupEvent',
      tag,
      auth: true,
      params: s.eventParams,
      body: s.updateEventBody,
      summary:
        'Edit an event (its creator, the owner and admins; other members 403). Moving it arms its reminder again',
      responses: { 200: { description: 'The event', schema: s.eventSchema } },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await calendar.update(user.id, params.id, params.eventId, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/events/:eventId',
      operationId: 'deleteGroupEvent',
      tag,
      auth: true,
      params: s.eventParams,
      summary: 'Delete an event (its creator, the owner and admins; other members 403)',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await calendar.delete(user.id, params.id, params.eventId);
        return { status: 204 };
      },
    }),
  ];
}
