import { GeoIndex } from '../../infra/geo';
import { healInBackground } from '../../infra/geo-heal';
import { imageUpload } from '../../http/upload';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { identifyIfPresent } from '../../http/auth';
import { PublicLocations } from './sitters.location';
import { SittersRepository } from './sitters.repository';
import { SittersService, TOPIC_GEO_SITTER, type GeoSitterChange } from './sitters.service';
import { sittersRoutes } from './sitters.router';

/** The geo index of sitters, as every instance and the reindex CLI address it. */
export const sittersGeoIndex = (ctx: Pick<ModuleContext, 'redis' | 'config'>) =>
  new GeoIndex(ctx.redis, ctx.config.redisPrefix, 'sitters', { cursorSecret: ctx.config.jwtSecret });

/** Sitter profiles, availability, photos, reviews list and radius search. Publishes `services.sitters`. */
export function createSittersModule(ctx: ModuleContext, services: Services): FeatureModule<'sitters'> {
  const media = services.media;
  const service = new SittersService(
    ctx.sequelize,
    new SittersRepository(ctx.sequelize),
    services.users,
    sittersGeoIndex(ctx),
    ctx.outbox,
    ctx.clock,
    ctx.config.serviceTz,
    ctx.logger,
    media,
    // Reservations is built after sitters (it takes this service), so it is read when a search runs.
    (range) => services.reservations.fullDayFilter(range),
    new PublicLocations(ctx.config.jwtSecret),
    (ownerId, sitterIds) => services.reservations.acceptedSittersOf(ownerId, sitterIds),
    ctx.replicas,
  );
  service.setBlocks(services.safety.blocks);
  const healing = healInBackground(ctx.redis, service.healable(), ctx.logger);
  return {
    name: 'sitters',
    service,
    // A missing index is rebuilt at start and whenever Redis comes back (possibly empty).
    start: () => healing.start(),
    stop: () => healing.stop(),
    geoIndexes: [service.healable().geo],
    // Belt and braces: the periodic sweep checks too.
    sweep: () => service.healGeoIndex(),
    // Photo routes only where images can be stored.
    routes: sittersRoutes(
      service,
      media.storesImages ? imageUpload(media) : null,
      identifyIfPresent(ctx.verifyAccessToken),
    ),
    events: { 'account.deleted': ({ userId }, t) => service.deactivateForDeletedAccount(userId, t) },
    outboxHandlers: {
      [TOPIC_GEO_SITTER]: (payload: GeoSitterChange) => service.applyGeo(payload),
    },
  };
}
