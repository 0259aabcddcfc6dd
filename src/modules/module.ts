import type { OutboxHandler, PipelinedOutboxHandler } from '../infra/outbox';
import type { Server as HttpServer } from 'node:http';
import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Clock } from '../infra/clock';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { Metrics } from '../infra/metrics';
import type { Outbox } from '../infra/outbox';
import type { EventBus } from '../infra/realtime/bus';
import type { Storage } from '../infra/storage/storage';
import type { RouteSpec } from '../http/routes';
import type { VerifyAccessToken } from '../http/auth';
import type { AuthService } from './auth/auth.service';
import type { UsersService } from './users/users.service';

/**
 * Services other modules may call (DESIGN.md: another module's data is reached through its service).
 * Modules are built in the order of FEATURES in app.ts; each may publish its service here for the
 * ones after it. A module that needs a later one takes a seam (a setter or an outbox topic).
 */
export interface Services {
  auth: AuthService;
  users: UsersService;
  [name: string]: unknown;
}

/** What every feature module is built from (one per app instance). */
export interface ModuleContext {
  config: Config;
  sequelize: Sequelize;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Writes side effects in a transaction; they go out once it commits (`outbox.add(t, topic, payload)`). */
  outbox: Outbox;
  bus: EventBus;
  /** Set when the app was given a storage driver (uploads). */
  storage?: Storage;
  verifyAccessToken: VerifyAccessToken;
}

/**
 * A feature module as the app sees it. Everything is optional except the name: a module may only
 * add routes, or only a Socket.io handler, or background work.
 */
export interface FeatureModule {
  name: string;
  /** Published into Services under `name` for the modules built after this one. */
  service?: unknown;
  /** Mounted under /api/v1 and documented in /openapi.json. */
  routes?: RouteSpec[];
  /** Outbox topics this module carries out. */
  outboxHandlers?: Record<string, OutboxHandler | PipelinedOutboxHandler>;
  /** Called once the HTTP server exists (Socket.io, SSE hubs). */
  attach?(server: HttpServer): void;
  /** Background work (sweepers, workers, subscriptions). */
  start?(): void | Promise<void>;
  /**
   * Periodic work over due-at data (reminders, expiries), run by the scheduler every minute on some
   * instance. Must be safe to run on several instances at once and to run late.
   */
  sweep?(): Promise<unknown>;
  /** Undo start/attach: close sockets and streams (with a reconnect hint), stop timers. */
  stop?(): Promise<void>;
}
