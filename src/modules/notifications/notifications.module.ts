import { redisLimiter } from '../../http/rate-limit';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { NotificationsRepository } from './notifications.repository';
import { ScriptedNotificationBatch } from './notifications.batch';
import {
  NotificationsService,
  TOPIC_NOTIFICATION_CREATED,
  TOPIC_NOTIFICATIONS_CREATED,
  TOPIC_UNREAD_CHANGED,
} from './notifications.service';
import { CHANNEL_USER, NotificationStreams, userMessages } from './notifications.stream';
import { notificationsRoutes } from './notifications.router';

export type NotificationsModule = FeatureModule<'notifications'> & {
  service: NotificationsService;
  streams: NotificationStreams;
};

/** Notifications: stored, streamed over SSE (with replay) and mailed. Published as `services.notifications`. */
export function createNotificationsModule(ctx: ModuleContext, services: Services): NotificationsModule {
  const repo = new NotificationsRepository(ctx.sequelize);
  const scripted = new ScriptedNotificationBatch(ctx.scripts, repo, services.users, ctx.outbox, ctx.clock);
  const service = new NotificationsService(
    ctx.sequelize,
    repo,
    services.users,
    ctx.outbox,
    ctx.clock,
    ctx.logger,
    { appUrl: ctx.config.appUrl },
    scripted,
  );
  const streams = new NotificationStreams(repo, ctx.bus, ctx.logger, ctx.metrics.registry, (ids) =>
    services.auth.revokedAmong(ids),
  );
  return {
    name: 'notifications',
    service,
    streams,
    routes: notificationsRoutes(
      service,
      streams,
      ctx.verifyAccessToken,
      redisLimiter(ctx.redis, `${ctx.config.redisPrefix}rl:sse-connect`, 60, 60),
    ),
    outboxHandlers: {
      // Publishing twice (a retried row) is harmless: streams skip sequence numbers they have sent.
      // One message per recipient on the recipient's own channel, the whole row as one pipeline.
      [TOPIC_NOTIFICATIONS_CREATED]: {
        pipelined: true,
        handler: async (rows) => void (await ctx.bus.publishKeyed(CHANNEL_USER, userMessages(rows))),
      },
      [TOPIC_NOTIFICATION_CREATED]: {
        pipelined: true,
        handler: async (row) => void (await ctx.bus.publishKeyed(CHANNEL_USER, userMessages([row]))),
      },
      [TOPIC_UNREAD_CHANGED]: {
        pipelined: true,
        handler: async ({ userId }) => void (await ctx.bus.publishKeyed(CHANNEL_USER, [[userId, { unread: true }]])),
      },
    },
    start: () => streams.start(),
    stop: async () => streams.stop(),
  };
}
