import { identifyIfPresent } from '../../http/auth';
import type { FeatureModule, ModuleContext } from '../module';
import { SelfReads, UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { usersRoutes } from './users.router';

/**
 * Accounts' own data (profile, deletion). Built first: almost every module takes `services.users`.
 * Deleting an account emits `account.deleted`; what other modules hold ends in their listeners.
 */
export function createUsersModule(ctx: ModuleContext): FeatureModule<'users'> {
  const repo = new UsersRepository(ctx.sequelize);
  const service = new UsersService(
    ctx.sequelize,
    repo,
    new SelfReads(ctx.hotReads),
    ctx.clock,
    ctx.events,
    ctx.replicas.router(repo, (replica) => new UsersRepository(replica)),
  );
  return { name: 'users', service, routes: usersRoutes(service, identifyIfPresent(ctx.verifyAccessToken)) };
}
