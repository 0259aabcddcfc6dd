import type { FeatureModule, ModuleContext, Services } from '../module';
import { ReservationsRepository } from './reservations.repository';
import { ReservationsService } from './reservations.service';
import { reservationsRoutes } from './reservations.router';

/**
 * Reservations and reviews. Needs pets, sitters, chat (a room per reservation) and notifications.
 * Sitter search asks it (`fullDayFilter`) which sitters have a full day in the asked range.
 */
export function createReservationsModule(ctx: ModuleContext, services: Services): FeatureModule<'reservations'> {
  const service = new ReservationsService({
    sequelize: ctx.sequelize,
    repo: new ReservationsRepository(ctx.sequelize),
    users: services.users,
    pets: services.pets,
    sitters: services.sitters,
    chat: services.chat,
    notifications: services.notifications,
    blocks: services.safety.blocks,
    outbox: ctx.outbox,
    clock: ctx.clock,
    serviceTz: ctx.config.serviceTz,
    logger: ctx.logger,
    events: ctx.events,
  });
  return {
    name: 'reservations',
    service,
    routes: reservationsRoutes(service),
    sweep: () => service.sweep(),
    // The other party of each open reservation is told, and an accepted one's days are released.
    events: { 'account.deleted': ({ userId }, t) => service.cancelOpenForDeletedAccount(userId, t) },
  };
}
