import type { OutboxHandlers } from '../infra/outbox';
import type { Server as HttpServer } from 'node:http';
import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Clock } from '../infra/clock';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { HotReads } from '../infra/hot-reads';
import type { ScriptedTransactions } from '../infra/sql-script';
import type { GeoIndex } from '../infra/geo';
import type { Metrics } from '../infra/metrics';
import type { ReadReplicas } from '../infra/replicas';
import type { Outbox } from '../infra/outbox';
import type { EventBus } from '../infra/realtime/bus';
import type { DomainEvents, DomainListeners } from '../infra/domain-events';
import type { Storage } from '../infra/storage/storage';
import type { RouteSpec } from '../http/routes';
import type { VerifyAccessToken } from '../http/auth';
import type { AuthService } from './auth/auth.service';
import type { UsersService } from './users/users.service';
import type { PetsService } from './pets/pets.service';
import type { MediaService } from './media/media.service';
import type { AccountsService } from './accounts/accounts.service';
import type { NotificationsService } from './notifications/notifications.service';
import type { ChatService } from './chat/chat.service';
import type { SittersService } from './sitters/sitters.service';
import type { ReservationsService } from './reservations/reservations.service';
import type { MeetupsService } from './meetups/meetups.service';
import type { SafetyService } from './safety/safety.service';
import type { CommunityServices } from './community/community.module';
import type { GroupsServices } from './groups/groups.module';
import type { MarketServices } from './market/market.module';
import type { BadgesService } from './badges/badges.service';
import type { DomainEventMap } from './events';

/**
 * The service every module publishes, by module name (DESIGN.md: another module's data is reached
 * through its service). Adding a module is one entry here and one line in MODULES (src/app.ts); the
 * compiler holds the two together.
 */
export interface Services {
  users: UsersService;
  auth: AuthService;
  media: MediaService;
  accounts: AccountsService;
  pets: PetsService;
  notifications: NotificationsService;
  safety: SafetyService;
  chat: ChatService;
  sitters: SittersService;
  reservations: ReservationsService;
  meetups: MeetupsService;
  community: CommunityServices;
  groups: GroupsServices;
  market: MarketServices;
  badges: BadgesService;
}

export type ModuleName = keyof Services;

/** What every feature module is built from (one per app instance). */
export interface ModuleContext {
  config: Config;
  sequelize: Sequelize;
  /** A plain mysql2 pool for single-statement reads on nearly every request's path (src/infra/hot-reads.ts). */
  hotReads: HotReads;
  /**
   * A mysql2 pool for the few hot transactions written as packets of statements (src/infra/sql-script.ts);
   * open until after every module and the outbox have stopped.
   */
  scripts: ScriptedTransactions;
  /** Lag-tolerant reads may go to replicas through this (src/infra/replicas.ts); everything else uses `sequelize`. */
  replicas: ReadReplicas;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Writes side effects in a transaction; they go out once it commits (`outbox.add(t, topic, payload)`). */
  outbox: Outbox;
  bus: EventBus;
  /** Emits in-transaction domain events (src/modules/events.ts); listeners are declared by modules. */
  events: DomainEvents<DomainEventMap>;
  /** Set when the app was given a storage driver (uploads). */
  storage?: Storage;
  verifyAccessToken: VerifyAccessToken;
}

/**
 * A module as the app sees it. The name and the published service are required; everything else is
 * optional: a module may only add routes, or only react to events, or only run background work.
 * Whatever it declares here is connected by the app once every module is built.
 */
export interface FeatureModule<N extends ModuleName = ModuleName> {
  name: N;
  /** Published as `services[name]`. */
  service: Services[N];
  /** Mounted under /api/v1 and documented in /openapi.json. */
  routes?: RouteSpec[];
  /** Outbox topics this module carries out. */
  outboxHandlers?: OutboxHandlers;
  /**
   * Reactions to other modules' changes, run inside the emitting transaction (src/modules/events.ts).
   * A listener that throws rolls the whole change back.
   */
  events?: DomainListeners<DomainEventMap>;
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
  /** The module's Redis GEO indexes: the retention sweep forgets their old tombstones (GeoIndex.pruneTombstones). */
  geoIndexes?: GeoIndex[];
}

/**
 * Builds one module (phase 1 of the app's build). `services` holds every module's service, but the
 * ones built later (see the order of MODULES) only exist once phase 1 is over: pass them to
 * constructors only if they come earlier, and otherwise read them when called — reading one too
 * early throws and names the module. Phase 2 (the app) connects what the module declared.
 */
export type ModuleFactory<N extends ModuleName> = (ctx: ModuleContext, services: Services) => FeatureModule<N>;

/** One factory per service, in build order: a missing or extra entry does not compile. */
export type ModuleFactories = { [N in ModuleName]: ModuleFactory<N> };
