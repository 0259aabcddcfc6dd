import { GeoIndex } from '../../infra/geo';
import { imagesFor } from '../../infra/images/images';
import { imageUpload } from '../../http/upload';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { SittersRepository } from './sitters.repository';
import { SittersService, TOPIC_GEO_SITTER, type GeoSitterChange } from './sitters.service';
import { sittersRoutes } from './sitters.router';

/** The geo index of sitters, as every instance and the reindex CLI address it. */
export const sittersGeoIndex = (ctx: Pick<ModuleContext, 'redis' | 'config'>) =>
  new GeoIndex(ctx.redis, ctx.config.redisPrefix, 'sitters');

/** Sitter profiles, availability, photos, reviews list and radius search. Publishes `services.sitters`. */
export function createSittersModule(ctx: ModuleContext, services: Services): FeatureModule {
  const images = imagesFor(ctx);
  const service = new SittersService(
    ctx.sequelize,
    new SittersRepository(ctx.sequelize),
    services.users,
    sittersGeoIndex(ctx),
    ctx.outbox,
    ctx.clock,
    ctx.config.serviceTz,
    ctx.logger,
    images,
  );
  let healing: Promise<unknown> = Promise.resolve();
  const heal = () => {
    healing = service
      .healGeoIndex()
      .catch((err) => ctx.logger.error({ err: (err as Error).message }, 'could not rebuild the sitters geo index'));
  };
  services.users.onAccountDeleted.push((user, t) => service.deactivateForDeletedAccount(user.id, t));
  return {
    name: 'sitters',
    service,
    start() {
      // In the background: a start must not wait for (or fail on) a rebuild. A Redis that comes back
      // empty (restarted without persistence) is healed as soon as the connection is ready again.
      heal();
      ctx.redis.on('ready', heal);
    },
    async stop() {
      ctx.redis.off('ready', heal);
      await healing;
    },
    // Belt and braces: the periodic sweep checks too.
    sweep: () => service.healGeoIndex(),
    routes: sittersRoutes(service, images ? imageUpload() : null),
    outboxHandlers: {
      [TOPIC_GEO_SITTER]: (payload: GeoSitterChange) => service.applyGeo(payload),
      // The storage deletions scheduled by photo deletions (shared with the other image modules).
      ...images?.outboxHandlers,
    },
  };
}
