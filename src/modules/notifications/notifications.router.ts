import type { RequestHandler } from 'express';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { bearerToken, MAX_ACCESS_TOKEN_CHARS, type VerifyAccessToken } from '../../http/auth';
import { RateLimited, Unauthenticated, ValidationFailed } from '../../errors';
import { idParams } from '../../http/schemas';
import type { NotificationsService } from './notifications.service';
import type { NotificationStreams } from './notifications.stream';
import * as s from './notifications.schemas';

const tag = 'Notifications';

/**
 * The stream takes its token from the header or, for browsers' EventSource (which cannot set
 * headers), from `?access_token=`; the access log scrubs it from URLs (infra/logger scrubUrl).
 */
function streamAuth(verify: VerifyAccessToken): RequestHandler {
  return async (req, res, next) => {
    const fromQuery = typeof req.query.access_token === 'string' ? req.query.access_token : null;
    const token = bearerToken(req.get('authorization')) ?? fromQuery;
    // This runs before the query's validation (the token decides who asks): its length limit is applied here.
    if (!token || token.length > MAX_ACCESS_TOKEN_CHARS) throw Unauthenticated();
    res.locals.user = await verify(token);
    res.locals.streamToken = token;
    next();
  };
}

/** Connections per user (across instances): a client stuck in a reconnect loop must not hammer MySQL. */
function connectLimit(limiter: RateLimiterRedis): RequestHandler {
  return async (_req, res, next) => {
    try {
      await limiter.consume(String(res.locals.user.id));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
      throw err; // Redis unreachable → 503
    }
    next();
  };
}

/** The header wins over the query: EventSource keeps the URL and sends the latest id as a header. */
function lastEventId(header: string | undefined, query: number | undefined): number | null {
  if (header !== undefined && header.trim() !== '') {
    const v = header.trim();
    if (!/^\d{1,10}$/.test(v) || Number(v) > 4294967295) {
      throw ValidationFailed('Invalid Last-Event-ID', [
        { path: 'headers.last-event-id', message: 'must be a notification id' },
      ]);
    }
    return Number(v);
  }
  return query ?? null;
}

/** API.md "Notifications". */
export function notificationsRoutes(
  service: NotificationsService,
  streams: NotificationStreams,
  verify: VerifyAccessToken,
  connectLimiter: RateLimiterRedis,
): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/notifications',
      operationId: 'listNotifications',
      tag,
      auth: true,
      query: s.listQuery,
      summary: 'My notifications, newest first (`unread=true` for unread only)',
      responses: { 200: { description: 'A page', schema: s.notificationListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await service.list(user.id, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/notifications/unread-count',
      operationId: 'getUnreadNotificationCount',
      tag,
      auth: true,
      summary: 'How many of my notifications are unread',
      responses: { 200: { description: 'Count', schema: s.countSchema } },
      handler: async ({ user }) => ({ status: 200, body: { count: await service.unreadCount(user.id) } }),
    }),
    defineRoute({
      method: 'get',
      path: '/notifications/stream',
      operationId: 'streamNotifications',
      tag,
      query: s.streamQuery,
      before: [streamAuth(verify), connectLimit(connectLimiter)],
      summary:
        'Server-Sent Events (text/event-stream). Auth: Bearer header or ?access_token=. Sends `unread-count` first, then ' +
        '`notification` events whose `id:` is the notification id, and a fresh `unread-count` after reads; `: ping` every 15 s. ' +
        'With a Last-Event-ID header (or ?lastEventId=) it first replays every notification after that id (up to 500 per connection, then ' +
        'it ends with `retry: 0` and the client continues). 429 past 10 open streams per user per instance or 60 connections per user per minute.',
      responses: {
        200: { description: 'An event stream (never JSON)' },
        401: { description: 'Missing, invalid, expired or revoked token' },
        429: { description: 'Too many open streams or connections for this user' },
      },
      handler: async ({ user, query, req, res }) => {
        const from = lastEventId(req.get('last-event-id'), query.lastEventId);
        const token = res.locals.streamToken as string;
        // Held for the stream's life otherwise: the token is needed only while the stream opens.
        res.locals.streamToken = undefined;
        await streams.open(user, res, from, async () => {
          await verify(token);
        });
        // Open (or over): the stream keeps its user's id and login; the rest of the token's claims can go.
        res.locals.user = undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/notifications/read-all',
      operationId: 'markAllNotificationsRead',
      tag,
      auth: true,
      summary: 'Mark all my notifications read',
      responses: { 204: { description: 'Done' } },
      handler: async ({ user }) => {
        await service.markAllRead(user.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/notifications/:id/read',
      operationId: 'markNotificationRead',
      tag,
      auth: true,
      params: idParams,
      summary: 'Mark one of my notifications read (idempotent)',
      responses: { 204: { description: 'Done' } },
      handler: async ({ user, params }) => {
        await service.markRead(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/notifications/preferences',
      operationId: 'getNotificationPreferences',
      tag,
      auth: true,
      summary: 'In-app and e-mail switches per notification type',
      responses: { 200: { description: 'Preferences', schema: s.preferencesSchema } },
      handler: async ({ user }) => ({ status: 200, body: await service.preferences(user.id) }),
    }),
    defineRoute({
      method: 'put',
      path: '/notifications/preferences',
      operationId: 'updateNotificationPreferences',
      tag,
      auth: true,
      body: s.preferencesUpdateBody,
      summary:
        'Change some switches; omitted types and flags keep their value. Chat e-mails are digested (one per room per 15 min)',
      responses: { 200: { description: 'All preferences after the change', schema: s.preferencesSchema } },
      handler: async ({ user, body }) => ({
        status: 200,
        body: await service.updatePreferences(user.id, body.preferences),
      }),
    }),
  ];
}
