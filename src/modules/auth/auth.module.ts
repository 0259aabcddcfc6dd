import { limitPerIp, redisLimiter } from '../../http/rate-limit';
import { LOGINS_REVOKED, type LoginsRevokedMessage } from '../../infra/realtime/bus';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { AuthRepository } from './auth.repository';
import { AccessTokens } from './auth.tokens';
import { AuthService, TOPIC_LOGINS_REVOKED } from './auth.service';
import { authRoutes } from './auth.router';

/** Failed logins are counted over this window, per IP and per account. */
const LOGIN_WINDOW_SEC = 15 * 60;

/**
 * Sign-up, logins, tokens and e-mail links. Every other module authenticates through
 * `ctx.verifyAccessToken`, which is this module's `verifyAccessToken`.
 */
export function createAuthModule(ctx: ModuleContext, services: Services): FeatureModule<'auth'> {
  const { config, redis, clock } = ctx;
  const prefix = config.redisPrefix;
  const tokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSec, redis, prefix, clock);
  const auth = new AuthService(
    ctx.sequelize,
    new AuthRepository(ctx.sequelize),
    services.users,
    tokens,
    ctx.outbox,
    {
      perIp: redisLimiter(redis, `${prefix}rl:login-ip`, config.rateLimitAuthIpMax, LOGIN_WINDOW_SEC),
      perAccount: redisLimiter(redis, `${prefix}rl:login-account`, config.rateLimitAuthMax, LOGIN_WINDOW_SEC),
      resetMailsPerAddress: redisLimiter(redis, `${prefix}rl:reset-mail`, 3, 3600),
    },
    {
      bcryptCost: config.bcryptCost,
      refreshTokenTtlSec: config.refreshTokenTtlSec,
      accessTokenTtlSec: config.accessTokenTtlSec,
      appUrl: config.appUrl,
      linkSealSecret: config.jwtSecret,
    },
    clock,
    ctx.logger,
  );
  const generalLimit = limitPerIp(redisLimiter(redis, `${prefix}rl:auth`, config.rateLimitAuthGeneralPerMin, 60));
  return {
    name: 'auth',
    service: auth,
    routes: authRoutes(auth, generalLimit),
    outboxHandlers: {
      [TOPIC_LOGINS_REVOKED]: async (msg: LoginsRevokedMessage) => {
        await tokens.revokeSessions(msg.sessionIds);
        await ctx.bus.publish(LOGINS_REVOKED, msg);
      },
    },
    events: {
      'account.deleted': ({ userId }, t) => auth.revokeAllLogins(userId, 'account_deleted', t),
    },
  };
}
