import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { MeetupsService } from './meetups.service';
import * as s from './meetups.schemas';

const tag = 'Meetups';

/**
 * API.md "Meetups". `/meetups/nearby` and `/meetups/mine` come before `/meetups/:id`, whose id
 * validation would otherwise answer them with a 400. Every route needs a login.
 */
export function meetupsRoutes(meetups: MeetupsService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/meetups/nearby',
      operationId: 'searchMeetupsNearby',
      tag,
      auth: true,
      query: s.nearbyQuery,
      summary:
        'Upcoming scheduled meetups within radiusKm (≤ 50, default 5) starting in from..to (default: from now on; started or cancelled ones never appear); sort=distance (nearest first) or startsAt (soonest first), ties by id',
      responses: { 200: { description: 'One page of meetups with distanceKm', schema: s.nearbyResultSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await meetups.nearby(query, user.id) }),
    }),
    defineRoute({
      method: 'get',
      path: '/meetups/mine',
      operationId: 'listMyMeetups',
      tag,
      auth: true,
      query: s.mineQuery,
      summary:
        'Meetups I host (role=host), joined as a guest (role=participant) or both; when=upcoming (not ended, soonest first) or past (ended, latest first); cancelled ones included',
      responses: { 200: { description: 'One page of meetups', schema: s.meetupListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await meetups.mine(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/meetups',
      operationId: 'createMeetup',
      tag,
      auth: true,
      body: s.createBody,
      summary:
        'Create a meetup (startsAt in the future, within a year; endsAt ≤ 12 h later, default +3 h); I am its host and first participant, with its meetup chat room. 409 past 20 hosted meetups that have not ended',
      responses: {
        409: { description: 'Already 20 hosted meetups that have not ended' },
        201: { description: 'The meetup with its participants', schema: s.meetupSchema },
      },
      handler: async ({ user, body }) => ({ status: 201, body: await meetups.create(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/meetups/:id',
      operationId: 'getMeetup',
      tag,
      auth: true,
      params: idParams,
      summary:
        'A meetup with its participants and the host’s rating (cancelled ones stay readable, with status cancelled)',
      responses: { 200: { description: 'Meetup', schema: s.meetupSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await meetups.get(params.id, user.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/meetups/:id',
      operationId: 'updateMeetup',
      tag,
      auth: true,
      params: idParams,
      body: s.updateBody,
      summary:
        'Edit my meetup (host; other participants 403, anyone else 404). 409 once started or cancelled, or for a capacity below the participant count. A new start keeps the length unless endsAt is given; a new time notifies the participants (meetup.reminder with data.reason "rescheduled")',
      responses: {
        403: { description: 'Only the host edits' },
        409: { description: 'Started or cancelled, or capacity below the participant count' },
        200: { description: 'The updated meetup', schema: s.meetupSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await meetups.update(user.id, params.id, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/meetups/:id',
      operationId: 'cancelMeetup',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Cancel my meetup (host, before the start; 409 when already cancelled or started): participants get meetup.cancelled and it leaves search at once',
      responses: {
        403: { description: 'Only the host cancels' },
        409: { description: 'Already cancelled or started' },
        204: { description: 'Cancelled' },
      },
      handler: async ({ user, params }) => {
        await meetups.cancel(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/meetups/:id/participants',
      operationId: 'joinMeetup',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Join (201, I also join its chat room; the host gets meetup.joined). 409 when already joined (not idempotent), full, cancelled or started',
      responses: {
        409: { description: 'Already joined, full, cancelled or started' },
        201: { description: 'The meetup with its participants', schema: s.meetupSchema },
      },
      handler: async ({ user, params }) => ({ status: 201, body: await meetups.join(user.id, params.id) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/meetups/:id/participants/me',
      operationId: 'leaveMeetup',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Leave before the start (I also leave its chat room); 404 when not a participant, 409 for the host (cancel instead) or once started',
      responses: { 409: { description: 'The host cannot leave, or it has started' }, 204: { description: 'Left' } },
      handler: async ({ user, params }) => {
        await meetups.leave(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/meetups/:id/attendance',
      operationId: 'markMeetupAttendance',
      tag,
      auth: true,
      params: idParams,
      body: s.attendanceBody,
      summary:
        'Mark who attended (host; from the start until 7 days later). Every id must be a participant (400 naming it); ids already marked are accepted and keep their first mark',
      responses: {
        403: { description: 'Only the host marks attendance' },
        409: { description: 'Outside the start … 7 days after' },
        200: { description: 'Who was marked now, and everyone marked so far', schema: s.attendanceSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await meetups.markAttendance(user.id, params.id, body.userIds),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/meetups/:id/host-rating',
      operationId: 'rateMeetupHost',
      tag,
      auth: true,
      params: idParams,
      body: s.ratingBody,
      summary:
        'Rate the host 1–5 (participants marked as attended, once, from the start until 7 days later; 403 for the host and non-attendees, 409 for a second rating or outside that time)',
      responses: {
        403: { description: 'The host, or a participant not marked as attended' },
        409: { description: 'Already rated, or outside the time' },
        201: { description: 'Stored, with the host’s new summary', schema: s.ratingResultSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await meetups.rateHost(user.id, params.id, body.rating),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/host-rating',
      operationId: 'getHostRating',
      tag,
      params: idParams,
      summary: 'A user’s rating as a meetup host: { average (null until rated), count }',
      responses: { 200: { description: 'Rating summary', schema: s.hostRatingSchema } },
      handler: async ({ params }) => ({ status: 200, body: await meetups.hostRating(params.id) }),
    }),
  ];
}
