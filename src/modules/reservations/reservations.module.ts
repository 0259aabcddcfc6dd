import type { FeatureModule, ModuleContext, Services } from '../module';
import type { PetsService } from '../pets/pets.service';
import type { SittersService } from '../sitters/sitters.service';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService } from '../notifications/notifications.service';
import { ReservationsRepository } from './reservations.repository';
import { ReservationsService } from './reservations.service';
import { reservationsRoutes } from './reservations.router';

/**
 * Reservations and reviews. Needs pets and sitters; uses chat (a room per reservation) and
 * notifications when those modules are present. Also tells the sitter search to leave out sitters
 * whose days in the asked range are already full.
 */
export function createReservationsModule(ctx: ModuleContext, services: Services): FeatureModule {
  const sitters = services.sitters as SittersService;
  const service = new ReservationsService({
    sequelize: ctx.sequelize,
    repo: new ReservationsRepository(ctx.sequelize),
    users: services.users,
    pets: services.pets as PetsService,
    sitters,
    chat: services.chat as ChatService | undefined,
    notifications: services.notifications as NotificationsService | undefined,
    outbox: ctx.outbox,
    clock: ctx.clock,
    serviceTz: ctx.config.serviceTz,
    logger: ctx.logger,
  });
  sitters.setFullDayFilter(({ from, to }) => ({
    where: [
      'NOT EXISTS (SELECT 1 FROM sitter_booked_days b WHERE b.sitterId = s.id AND b.day BETWEEN ? AND ? AND b.pets >= s.maxPets)',
    ],
    replacements: [from, to],
  }));
  return {
    name: 'reservations',
    service,
    routes: reservationsRoutes(service),
    sweep: () => service.sweep(),
  };
}
