import type { Server as HttpServer } from 'node:http';
import express, { Router, type Express } from 'express';
import cors from 'cors';
import type { Sequelize } from 'sequelize';
import type { Config } from './config';
import type { Clock } from './infra/clock';
import type { Logger } from './infra/logger';
import type { Redis } from './infra/redis';
import type { Mailer, MailMessage } from './infra/mail/mailer';
import type { Storage } from './infra/storage/storage';
import { Metrics } from './infra/metrics';
import { Outbox, OutboxDispatcher, outboxRetryHorizonMs } from './infra/outbox';
import { MailJobs } from './infra/jobs';
import type { HotReads } from './infra/hot-reads';
import type { ScriptedTransactions } from './infra/sql-script';
import { requestId, stampRequestIds } from './http/request-id';
import { requestLog } from './http/request-log';
import { answerHealthzEarly } from './http/healthz-fast-path';
import { dispatchByFirstSegment } from './http/segment-dispatch';
import { securityHeaders } from './http/security-headers';
import { notFoundHandler, problemHandler } from './http/problem';
import { answerClientErrors } from './http/client-error';
import { lingerBeforeClose } from './http/linger';
import { authenticate, markingWrites } from './http/auth';
import { methodNotAllowed, mountRoutes, type RouteSpec } from './http/routes';
import { imageUrlOf, imageUrlReplacer } from './http/image-urls';
import { webClientRouter } from './http/web-client';
import { buildOpenApi, type MountedModule } from './http/openapi';
import { buildAsyncApi } from './http/asyncapi';
import { API_COMPONENTS } from './modules/api-components';
import { SOCKET_EVENT_DOCS, STREAM_DOCS } from './modules/realtime.docs';
import { liveness, opsRouter } from './modules/ops.router';
import { TOPIC_MAIL } from './modules/auth/auth.service';
import { isLinkMailJob, TOPIC_LINK_MAIL, type LinkMailJob } from './modules/auth/auth.links';
import { EventBus } from './infra/realtime/bus';
import { DomainEvents } from './infra/domain-events';
import type { DomainEventMap } from './modules/events';
import type { FeatureModule, ModuleContext, ModuleFactories, ModuleName, Services } from './modules/module';
import { createUsersModule } from './modules/users/users.module';
import { createAuthModule } from './modules/auth/auth.module';
import { createPetsModule } from './modules/pets/pets.module';
import { createMediaModule } from './modules/media/media.module';
import { serveUploads, type LocalStorage } from './infra/storage/local';
import { createNotificationsModule } from './modules/notifications/notifications.module';
import { createChatModule } from './modules/chat/chat.module';
import { createSittersModule } from './modules/sitters/sitters.module';
import { createReservationsModule } from './modules/reservations/reservations.module';
import { createMeetupsModule } from './modules/meetups/meetups.module';
import { createAccountsModule } from './modules/accounts/accounts.module';
import { SweepScheduler } from './infra/scheduler';
import { RetentionSweep } from './infra/retention';
import { ReadReplicas } from './infra/replicas';
import { createSafetyModule } from './modules/safety/safety.module';
import { createCommunityModule } from './modules/community/community.module';
import { createGroupsModule } from './modules/groups/groups.module';
import { createMarketModule } from './modules/market/market.module';
import { createBadgesModule } from './modules/badges/badges.module';

/**
 * Every module, by the name its service is published under (the `Services` interface), in build
 * order: a module may take the services of the ones above it in its constructor calls. Adding a
 * module is one line here plus its entry in `Services`.
 */
const MODULES: ModuleFactories = {
  users: createUsersModule,
  auth: createAuthModule,
  // Media before the modules that take pictures: it is the upload policy they are built with.
  media: createMediaModule,
  accounts: createAccountsModule,
  pets: createPetsModule,
  notifications: createNotificationsModule,
  // Before the modules it protects: they take services.safety.blocks when they are built.
  safety: createSafetyModule,
  chat: createChatModule,
  sitters: createSittersModule,
  reservations: createReservationsModule,
  meetups: createMeetupsModule,
  community: createCommunityModule,
  groups: createGroupsModule,
  market: createMarketModule,
  // Last: its listeners react to events of the modules above, after their own listeners.
  badges: createBadgesModule,
};

export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  /** mysql2 pool for the reads on nearly every request's path (the caller's own row). */
  hotReads: HotReads;
  /** mysql2 pool of the transactions written as packets of statements (the caller closes it, after stop). */
  scripts: ScriptedTransactions;
  redis: Redis;
  mailer: Mailer;
  /** Image storage driver (local or s3); optional so tests that need no uploads can leave it out. */
  storage?: Storage;
  clock: Clock;
  logger: Logger;
}

export interface PawmateApp {
  app: Express;
  /** Binds realtime transports (Socket.io) to the HTTP server. */
  attach(server: HttpServer): void;
  /** Starts background work: the outbox dispatcher, the job workers and each module's own. */
  start(): Promise<void>;
  /** Stops background work and realtime connections (pools are the caller's to close). */
  stop(): Promise<void>;
  services: Services;
  /** In build order. */
  modules: FeatureModule[];
  bus: EventBus;
  /** In-transaction domain events; tests add listeners to see them (or to make one fail). */
  events: DomainEvents<DomainEventMap>;
  outbox: OutboxDispatcher;
  /** Deletes spent rows; run by the sweep scheduler (tests call it by hand). */
  retention: RetentionSweep;
  jobs: { mail: MailJobs };
  metrics: Metrics;
  /** Read replicas in use, if any (DATABASE_REPLICA_URLS). */
  replicas: ReadReplicas;
}

export const API_PREFIX = '/api/v1';

/** Builds the whole application from its dependencies: no listen, no globals, no env reads. */
export function createApp(deps: AppDeps): PawmateApp {
  const { config, sequelize, hotReads, scripts, redis, clock, logger } = deps;
  const metrics = new Metrics();
  const outbox = new OutboxDispatcher(sequelize, scripts, clock, logger, config.outboxPollMs, config.outboxMaxAttempts);
  const outboxWriter = new Outbox(sequelize, clock, outbox);
  const { services, publish } = servicesUnderConstruction();
  // Link mails are built at send time, by the auth service.
  const mailJobs = new MailJobs(config.redisUrl, config.redisPrefix, deps.mailer, logger, async (data) =>
    isLinkMailJob(data) ? services.auth.renderLinkMail(data) : (data as MailMessage),
  );

  // --- phase 1: construct every module -------------------------------------------------------
  const bus = new EventBus(config.redisUrl, config.redisPrefix, redis, logger);
  const replicas = new ReadReplicas(config.databaseReplicaUrls, redis, config.redisPrefix, logger, {
    maxLagSec: config.replicaMaxLagSec,
    probeEveryMs: config.replicaProbeMs,
    poolMax: config.dbPoolMax,
  });
  const events = new DomainEvents<DomainEventMap>();
  const ctx: ModuleContext = {
    config,
    sequelize,
    hotReads,
    scripts,
    replicas,
    redis,
    clock,
    logger,
    metrics,
    outbox: outboxWriter,
    bus,
    events,
    storage: deps.storage,
    verifyAccessToken: (token) => services.auth.verifyAccessToken(token),
  };
  const features: FeatureModule[] = [];
  for (const name of Object.keys(MODULES) as ModuleName[]) {
    const feature = buildModule(name, ctx, services);
    publish(feature);
    features.push(feature);
  }

  // --- phase 2: connect what the modules declared -----------------------------------------------
  outbox.on(TOPIC_MAIL, (mail, { outboxId }) => mailJobs.enqueue(mail, `outbox-${outboxId}`));
  // A link mail leaves no trace once handed on: its row is deleted, its job dropped once sent.
  outbox.on(
    TOPIC_LINK_MAIL,
    (job: LinkMailJob, { outboxId }) => mailJobs.enqueue(job, `outbox-${outboxId}`, { forgetWhenSent: true }),
    { forgetWhenDone: true },
  );
  for (const f of features) {
    if (f.outboxHandlers) outbox.onAll(f.outboxHandlers);
    if (f.events) events.onAll(f.events);
  }
  const retention = new RetentionSweep(
    sequelize,
    clock,
    logger,
    metrics,
    config.retention,
    async (graceMs, limit) => (await mailJobs.queue.clean(graceMs, limit, 'failed')).length,
    {
      indexes: features.flatMap((f) => f.geoIndexes ?? []),
      minAgeMs: outboxRetryHorizonMs(config.outboxMaxAttempts),
    },
  );
  const sweepAll = async () => {
    for (const f of features) await f.sweep?.();
    await retention.run();
  };
  const scheduler = new SweepScheduler(config.redisUrl, config.redisPrefix, config.sweepEveryMs, sweepAll, logger);

  // --- HTTP -----------------------------------------------------------------------------------
  const modules: MountedModule[] = [
    {
      prefix: API_PREFIX,
      routes: features.flatMap((f) => f.routes ?? []),
    },
  ];
  const openapiDoc = buildOpenApi(modules, { version: '1.0.0', named: API_COMPONENTS });
  const asyncapiDoc = buildAsyncApi({
    version: '1.0.0',
    apiPrefix: API_PREFIX,
    sockets: SOCKET_EVENT_DOCS,
    streams: STREAM_DOCS,
    named: API_COMPONENTS,
  });

  metrics.gauge('pawmate_job_queue_depth', 'Mail jobs waiting or delayed', async () => {
    const c = await mailJobs.counts();
    return (c.waiting ?? 0) + (c.delayed ?? 0);
  });
  metrics.gauge('pawmate_outbox_dead', 'Outbox rows that exhausted their attempts (kept, never retried)', () =>
    outbox.deadCount(),
  );
  metrics.gauge(
    'pawmate_jobs_failed',
    'Mail jobs that exhausted their retries (kept for inspection)',
    async () => (await mailJobs.counts()).failed ?? 0,
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Stored image keys become URLs as answers are written (http/image-urls.ts).
  const jsonReplacer = imageUrlReplacer(imageUrlOf(deps.storage, config.mediaUrl));
  app.set('json replacer', jsonReplacer);
  app.use(requestId);
  app.use(liveness());
  app.use(requestLog(logger));
  app.use(metrics.middleware());
  app.use(securityHeaders());
  app.use(
    cors({
      origin: config.corsOrigins.length ? config.corsOrigins : false,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    }),
  );
  app.use(express.json({ limit: '1mb' }));

  // The API first: its requests are nearly all of them, and the routers below (operations, web client,
  // uploads) serve paths outside /api/v1, so walking their layers first only cost time.
  const verify = markingWrites(authenticate(ctx.verifyAccessToken), replicas);
  const verifySigned = markingWrites(
    authenticate((token) => services.auth.verifySignedAccessToken(token)),
    replicas,
  );
  for (const mod of modules) {
    const mount = (router: Router, specs: RouteSpec[]) =>
      mountRoutes(router, specs, verify, {
        checkReplies: config.env === 'test',
        authenticateSigned: verifySigned,
        jsonReplacer,
      });
    app.use(mod.prefix, dispatchByFirstSegment(mod.routes, mount));
  }
  for (const mod of modules) app.use(mod.prefix, methodNotAllowed(mod.routes));
  app.use(opsRouter({ sequelize, redis, metrics, openapi: () => openapiDoc, asyncapi: () => asyncapiDoc }));
  app.use(webClientRouter());
  // Local driver only: the app itself serves the files (s3 URLs point at the bucket).
  if (deps.storage?.driver === 'local') app.use('/uploads', serveUploads(deps.storage as LocalStorage));
  app.use(notFoundHandler);
  app.use(problemHandler(logger));

  return {
    app,
    attach(server) {
      answerClientErrors(server);
      lingerBeforeClose(server);
      for (const f of features) f.attach?.(server);
      stampRequestIds(server);
      // Last: it wraps every 'request' listener attached above.
      answerHealthzEarly(server);
    },
    async start() {
      replicas.start();
      outbox.start();
      mailJobs.startWorker();
      if (config.sweepEveryMs > 0) await scheduler.start();
      await bus.connect();
      for (const f of features) await f.start?.();
    },
    async stop() {
      for (const f of [...features].reverse()) await f.stop?.();
      await outbox.stop();
      await scheduler.stop();
      await mailJobs.close();
      await bus.close();
      await replicas.close();
    },
    services,
    modules: features,
    bus,
    events,
    outbox,
    retention,
    jobs: { mail: mailJobs },
    metrics,
    replicas,
  };
}

/** Calls one factory; a separate function so that `name` ties the factory to its own service type. */
function buildModule<N extends ModuleName>(name: N, ctx: ModuleContext, services: Services): FeatureModule<N> {
  const feature = MODULES[name](ctx, services);
  if (feature.name !== name) throw new Error(`MODULES.${name} built a module named ${feature.name}`);
  return feature;
}

/**
 * The `Services` object during phase 1: a service exists once its module is built, and reading one
 * before that throws at once (naming it) instead of handing a constructor `undefined`.
 */
function servicesUnderConstruction() {
  const built: Partial<Services> = {};
  const services = new Proxy(built as Services, {
    get(obj, name: string | symbol) {
      if (typeof name === 'string' && name in MODULES && !(name in obj)) {
        throw new Error(
          `services.${name} was read before its module was built: take it in a method (read when called) ` +
            'or build that module earlier in MODULES',
        );
      }
      return Reflect.get(obj, name);
    },
    set() {
      throw new Error('services are published by the app, not set by modules');
    },
  });
  return {
    services,
    publish<N extends ModuleName>(feature: FeatureModule<N>) {
      (built as Record<N, Services[N]>)[feature.name] = feature.service;
    },
  };
}

export type { RouteSpec };
