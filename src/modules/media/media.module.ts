import type { FeatureModule, ModuleContext, Services } from '../module';
import { imagesFor } from '../../infra/images/images';
import { imageUpload } from '../../http/upload';
import { MediaService } from './media.service';
import { mediaRoutes } from './media.router';

/** Avatars (PUT /users/me/avatar), on the shared image pipeline and storage. */
export function createMediaModule(ctx: ModuleContext, services: Services): FeatureModule {
  const images = imagesFor(ctx);
  const service = new MediaService(ctx.sequelize, services.users, images);
  // A deleted account's avatar object goes too, once the deletion commits.
  if (images) services.users.onAccountDeleted.push((user, t) => images.deleteAfterCommit(t, [user.avatarUrl]));
  return {
    name: 'media',
    service,
    routes: mediaRoutes(service, images?.upload ?? imageUpload()),
    outboxHandlers: { ...images?.outboxHandlers },
  };
}
