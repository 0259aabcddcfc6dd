import type { FeatureModule, ModuleContext, Services } from '../module';
import { limitPerIp, redisLimiter } from '../../http/rate-limit';
import { AccountsRepository } from './accounts.repository';
import { IdentitiesRepository } from './identities.repository';
import { AccountsService } from './accounts.service';
import { accountsRoutes } from './accounts.router';

/**
 * Accounts II: logins, password and e-mail change, provider identities. Account deletion releases
 * the account's provider identities.
 */
export function createAccountsModule(ctx: ModuleContext, services: Services): FeatureModule {
  const { config, redis, sequelize } = ctx;
  const configured = new Set(config.oauth.providers.map((p) => p.name));
  const identities = new IdentitiesRepository(sequelize);
  const service = new AccountsService(
    sequelize,
    new AccountsRepository(sequelize),
    identities,
    services.users,
    services.auth,
    ctx.outbox,
    { bcryptCost: config.bcryptCost, publicUrl: config.publicUrl, isProviderConfigured: (n) => configured.has(n) },
    ctx.clock,
    redisLimiter(redis, `${config.redisPrefix}rl:password-check`, config.rateLimitAuthMax, 15 * 60),
  );
  services.users.onAccountDeleted.push(service.forgetIdentities);
  // The same bucket as the other /auth routes (the general per-IP limit).
  const authLimit = limitPerIp(
    redisLimiter(redis, `${config.redisPrefix}rl:auth`, config.rateLimitAuthGeneralPerMin, 60),
  );
  return {
    name: 'accounts',
    service,
    routes: accountsRoutes(service, authLimit),
  };
}
