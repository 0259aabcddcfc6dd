import type { FeatureModule, ModuleContext, Services } from '../module';
import { BadgesRepository } from './badges.repository';
import { BadgesService } from './badges.service';
import { badgesRoutes } from './badges.router';

/**
 * Badges (issue 17): earned from other modules' domain events (groups' missions and gallery,
 * meetups, reservations' reviews) by the rules in badges.rules.ts, in the transaction of the event.
 * Publishes `services.badges`.
 */
export function createBadgesModule(ctx: ModuleContext, services: Services): FeatureModule<'badges'> {
  const service = new BadgesService({
    repo: new BadgesRepository(ctx.sequelize),
    users: services.users,
    notifications: services.notifications,
    clock: ctx.clock,
    serviceTz: ctx.config.serviceTz,
  });
  return {
    name: 'badges',
    service,
    routes: badgesRoutes(service),
    events: {
      ...service.listeners(),
      'account.deleted': ({ userId }, t) => service.forget(userId, t),
    },
  };
}
