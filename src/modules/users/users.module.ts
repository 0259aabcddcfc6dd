import type { FeatureModule, ModuleContext } from '../module';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { usersRoutes } from './users.router';

/**
 * Accounts' own data (profile, deletion). Built first: almost every module takes `services.users`.
 * Deleting an account emits `account.deleted`; what other modules hold ends in their listeners.
 */
export function createUsersModule(ctx: ModuleContext): FeatureModule<'users'> {
  const service = new UsersService(ctx.sequelize, new UsersRepository(ctx.sequelize), ctx.clock, ctx.events);
  return { name: 'users', service, routes: usersRoutes(service) };
}
