import type { FeatureModule, ModuleContext, Services } from '../module';
import { ImagePipeline } from '../../infra/images/pipeline';
import { redisLimiter } from '../../http/rate-limit';
import { imageUpload } from '../../http/upload';
import { MediaService } from './media.service';
import { mediaRoutes } from './media.router';

/**
 * The upload policy every image route shares (published as `services.media`, so it is built before
 * the modules that take pictures) and avatars (PUT /users/me/avatar). One per app instance, so the
 * image-processing and buffering bounds hold per instance, not per module.
 */
export function createMediaModule(ctx: ModuleContext, services: Services): FeatureModule<'media'> {
  const service = new MediaService({
    sequelize: ctx.sequelize,
    users: services.users,
    pipeline: new ImagePipeline(),
    storage: ctx.storage,
    limits: {
      limiter: redisLimiter(ctx.redis, `${ctx.config.redisPrefix}rl:uploads`, ctx.config.uploadsPerHour, 3600),
      maxInFlight: ctx.config.uploadsInFlight,
    },
    outbox: ctx.outbox,
    logger: ctx.logger,
  });
  ctx.metrics.gauge(
    'pawmate_images_processing',
    'Uploaded images being decoded and re-encoded now',
    () => service.processing,
  );
  ctx.metrics.gauge(
    'pawmate_uploads_buffering',
    'Image uploads admitted on this instance and not yet answered (bounded by UPLOADS_IN_FLIGHT)',
    () => service.buffering,
  );
  return {
    name: 'media',
    service,
    // Without storage the avatar route still parses (and bounds) the upload, then answers 503.
    routes: mediaRoutes(service, imageUpload(service)),
    outboxHandlers: service.outboxHandlers,
    // A deleted account's avatar object goes too, once the deletion commits.
    events: { 'account.deleted': ({ avatarUrl }, t) => service.deleteAfterCommit(t, [avatarUrl]) },
  };
}
