import { GeoIndex } from '../../infra/geo';
import { healGeoIndex, healInBackground } from '../../infra/geo-heal';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { MeetupNearbyReads, MeetupsRepository } from './meetups.repository';
import { MeetupTagIndexes } from './meetups.tag-index';
import { MeetupsService, TOPIC_GEO_MEETUP, type GeoMeetupChange } from './meetups.service';
import { LiveLocations } from './meetups.live';
import { registerLiveLocation } from './meetups.socket';
import { meetupsRoutes } from './meetups.router';

/** The geo index of meetups, as every instance and the reindex CLI address it. */
export const meetupsGeoIndex = (ctx: Pick<ModuleContext, 'redis' | 'config'>) =>
  new GeoIndex(ctx.redis, ctx.config.redisPrefix, 'meetups', { cursorSecret: ctx.config.jwtSecret });

/**
 * Meetups (issue 8): CRUD, nearby search, join/leave, reminders, live location, attendance and host
 * ratings. Uses chat (a room per meetup, the socket server) and notifications. Publishes
 * `services.meetups`.
 */
export function createMeetupsModule(ctx: ModuleContext, services: Services): FeatureModule<'meetups'> {
  const repo = new MeetupsRepository(ctx.sequelize);
  const tagIndexes = new MeetupTagIndexes(ctx.redis, ctx.config.redisPrefix, repo);
  const chat = services.chat;
  const live = new LiveLocations(
    ctx.redis,
    ctx.config.redisPrefix,
    repo,
    ctx.clock,
    (ids, event, payload) => chat.emitToUsers(ids, event, payload),
    services.safety.blocks,
  );
  const service = new MeetupsService({
    sequelize: ctx.sequelize,
    repo,
    nearbyReads: new MeetupNearbyReads(ctx.hotReads),
    users: services.users,
    chat,
    notifications: services.notifications,
    blocks: services.safety.blocks,
    geo: meetupsGeoIndex(ctx),
    tagIndexes,
    outbox: ctx.outbox,
    clock: ctx.clock,
    serviceTz: ctx.config.serviceTz,
    logger: ctx.logger,
    live,
    events: ctx.events,
  });
  registerLiveLocation(chat, live);
  const healing = healInBackground(ctx.redis, service.healable(), ctx.logger);
  // The tags' indexes are rebuilt whenever they are not marked complete (first start, lost keys).
  const healingTags = healInBackground(ctx.redis, tagIndexes.healable(), ctx.logger);
  return {
    name: 'meetups',
    service,
    // A missing index is rebuilt at start and whenever Redis comes back (possibly empty), like sitters'.
    start: () => {
      healing.start();
      healingTags.start();
    },
    stop: async () => {
      await Promise.all([healing.stop(), healingTags.stop()]);
    },
    geoIndexes: [service.healable().geo, ...tagIndexes.all()],
    routes: meetupsRoutes(service),
    outboxHandlers: { [TOPIC_GEO_MEETUP]: (payload: GeoMeetupChange) => service.applyGeo(payload) },
    sweep: async () => {
      await healGeoIndex(service.healable(), ctx.logger);
      await healGeoIndex(tagIndexes.healable(), ctx.logger);
      return service.sweep();
    },
    events: {
      'account.deleted': async ({ userId }, t) => {
        await service.cancelHostedForDeletedAccount(userId, t);
        await service.releaseJoinedForDeletedAccount(userId, t);
      },
    },
  };
}
