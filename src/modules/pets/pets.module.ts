import type { FeatureModule, ModuleContext, Services } from '../module';
import { imageUpload } from '../../http/upload';
import { PetsRepository } from './pets.repository';
import { PetsService } from './pets.service';
import { petsRoutes } from './pets.router';

/** Pets CRUD and photos; publishes `PetsService` as `services.pets` (reservations use `findOwnedPets`). */
export function createPetsModule(ctx: ModuleContext, services: Services): FeatureModule<'pets'> {
  const media = services.media;
  const service = new PetsService(
    ctx.sequelize,
    new PetsRepository(ctx.sequelize),
    services.users,
    ctx.clock,
    ctx.config.serviceTz,
    media,
  );
  return {
    name: 'pets',
    service,
    // Without storage the photo route still parses (and bounds) the upload, then answers 503.
    routes: petsRoutes(service, imageUpload(media)),
    // Registered before reservations: the owner's pets are locked before their reservations are read.
    events: { 'account.deleted': ({ userId }, t) => service.removeAllForDeletedAccount(userId, t) },
  };
}
