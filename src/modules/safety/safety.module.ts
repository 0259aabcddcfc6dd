import { limitPerUser, redisLimiter } from '../../http/rate-limit';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { SafetyRepository } from './safety.repository';
import { SafetyService } from './safety.service';
import { safetyRoutes } from './safety.router';

/** Block or unblock calls per user per hour. */
export const BLOCKS_PER_HOUR = 60;
/** Reports per user per hour. */
export const REPORTS_PER_HOUR = 30;

/**
 * Safety (issue 15): blocks both ways and reports. Built before the modules it protects, which find
 * `services.safety.blocks` (the check) and register their reportable kinds with `registerTarget`.
 */
export function createSafetyModule(ctx: ModuleContext, services: Services): FeatureModule<'safety'> {
  const service = new SafetyService({
    sequelize: ctx.sequelize,
    repo: new SafetyRepository(ctx.sequelize),
    users: services.users,
    clock: ctx.clock,
    logger: ctx.logger,
  });
  const p = ctx.config.redisPrefix;
  return {
    name: 'safety',
    service,
    routes: safetyRoutes(service, {
      blocks: limitPerUser(redisLimiter(ctx.redis, `${p}rl:blocks`, BLOCKS_PER_HOUR, 3600)),
      reports: limitPerUser(redisLimiter(ctx.redis, `${p}rl:reports`, REPORTS_PER_HOUR, 3600)),
    }),
  };
}
