import type { FeatureModule, ModuleContext, Services } from '../module';
import { limitPerIp, limitPerUser, redisLimiter } from '../../http/rate-limit';
import { LinkSealer } from '../auth/auth.links';
import { AccountsRepository } from './accounts.repository';
import { IdentitiesRepository } from './identities.repository';
import { AccountsService } from './accounts.service';
import { accountsRoutes } from './accounts.router';
import { buildProviders } from './oauth.providers';
import { OAuthRecords } from './oauth.records';
import { OAuthService } from './oauth.service';
import { oauthRoutes } from './oauth.router';

/** The contract's base path; the provider's callback URL is built on it. */
const API_BASE = '/api/v1';

/** Credential changes per account per hour: a stolen access token must not drive them in bulk. */
export const PASSWORD_CHANGES_PER_HOUR = 10;
export const EMAIL_CHANGES_PER_HOUR = 5;
/** Confirmation mails to one new address per day, whoever asks: no mail-bombing a stranger. */
export const CHANGE_MAILS_PER_ADDRESS_PER_DAY = 3;

/**
 * Accounts II: sign-in with providers, logins, password and e-mail change, provider identities.
 * Account deletion releases the account's provider identities.
 */
export function createAccountsModule(ctx: ModuleContext, services: Services): FeatureModule<'accounts'> {
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
    { bcryptCost: config.bcryptCost, appUrl: config.appUrl, isProviderConfigured: (n) => configured.has(n) },
    ctx.clock,
    redisLimiter(redis, `${config.redisPrefix}rl:password-check`, config.rateLimitAuthMax, 15 * 60),
    new LinkSealer(config.jwtSecret),
    redisLimiter(redis, `${config.redisPrefix}rl:email-change-to`, CHANGE_MAILS_PER_ADDRESS_PER_DAY, 24 * 3600),
  );
  services.auth.renderEmailChangeMail = service.renderChangeMail;
  // The same bucket as the other /auth routes (the general per-IP limit).
  const authLimit = limitPerIp(
    redisLimiter(redis, `${config.redisPrefix}rl:auth`, config.rateLimitAuthGeneralPerMin, 60),
  );
  const oauth = new OAuthService(
    sequelize,
    buildProviders(config.oauth.providers),
    new OAuthRecords(redis, config.redisPrefix, ctx.clock),
    identities,
    services.users,
    services.auth,
    { publicUrl: config.publicUrl, apiPrefix: API_BASE, redirectUris: config.oauth.redirectUris },
    ctx.clock,
    ctx.logger,
  );
  const perIp = (name: string) =>
    limitPerIp(redisLimiter(redis, `${config.redisPrefix}rl:oauth-${name}`, config.oauth.perIpPerMin, 60));
  return {
    name: 'accounts',
    service,
    routes: [
      ...accountsRoutes(service, authLimit, {
        password: limitPerUser(
          redisLimiter(redis, `${config.redisPrefix}rl:password-change`, PASSWORD_CHANGES_PER_HOUR, 3600),
        ),
        email: limitPerUser(redisLimiter(redis, `${config.redisPrefix}rl:email-change`, EMAIL_CHANGES_PER_HOUR, 3600)),
      }),
      ...oauthRoutes(oauth, { start: perIp('start'), exchange: perIp('exchange') }),
    ],
    events: { 'account.deleted': ({ userId }, t) => service.forgetIdentities(userId, t) },
  };
}
