import type { Server as HttpServer } from 'node:http';
import express, { Router, type Express } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import pinoHttp from 'pino-http';
import type { Sequelize } from 'sequelize';
import type { Config } from './config';
import type { Clock } from './infra/clock';
import type { Logger } from './infra/logger';
import { scrubUrl } from './infra/logger';
import type { Redis } from './infra/redis';
import type { Mailer, MailMessage } from './infra/mail/mailer';
import type { Storage } from './infra/storage/storage';
import { Metrics } from './infra/metrics';
import { Outbox, OutboxDispatcher } from './infra/outbox';
import { MailJobs } from './infra/jobs';
import { requestId, stampRequestIds } from './http/request-id';
import { notFoundHandler, problemHandler } from './http/problem';
import { answerClientErrors } from './http/client-error';
import { authenticate } from './http/auth';
import { methodNotAllowed, mountRoutes, type RouteSpec } from './http/routes';
import { buildOpenApi, type MountedModule } from './http/openapi';
import { limitPerIp, redisLimiter } from './http/rate-limit';
import { livenessRouter, opsRouter } from './modules/ops.router';
import { UsersRepository } from './modules/users/users.repository';
import { UsersService } from './modules/users/users.service';
import { usersRoutes } from './modules/users/users.router';
import { AuthRepository } from './modules/auth/auth.repository';
import { AccessTokens } from './modules/auth/auth.tokens';
import { AuthService, TOPIC_LOGINS_REVOKED, TOPIC_MAIL } from './modules/auth/auth.service';
import { authRoutes } from './modules/auth/auth.router';
import { isLinkMailJob, TOPIC_LINK_MAIL, type LinkMailJob } from './modules/auth/auth.links';
import { EventBus, LOGINS_REVOKED, type LoginsRevokedMessage } from './infra/realtime/bus';
import type { FeatureModule, ModuleContext, Services } from './modules/module';
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
import { createSafetyModule } from './modules/safety/safety.module';
import { createCommunityModule } from './modules/community/community.module';

/**
 * Feature modules beyond accounts. Each entry builds one module from the shared context; adding a
 * capability is one line here.
 */
const FEATURES: Array<(ctx: ModuleContext, services: Services) => FeatureModule> = [
  // Media first: it is the upload policy the modules that take pictures are built with.
  createMediaModule,
  createAccountsModule,
  createPetsModule,
  createNotificationsModule,
  // Before the modules it protects: they read services.safety.blocks when they are built.
  createSafetyModule,
  createChatModule,
  createSittersModule,
  createReservationsModule,
  createMeetupsModule,
  createCommunityModule,
];

export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
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
  modules: FeatureModule[];
  bus: EventBus;
  outbox: OutboxDispatcher;
  jobs: { mail: MailJobs };
  metrics: Metrics;
}

export const API_PREFIX = '/api/v1';

/** Builds the whole application from its dependencies: no listen, no globals, no env reads. */
export function createApp(deps: AppDeps): PawmateApp {
  const { config, sequelize, redis, clock, logger } = deps;
  const metrics = new Metrics();
  const outbox = new OutboxDispatcher(sequelize, clock, logger, config.outboxPollMs);
  const outboxWriter = new Outbox(sequelize, clock, outbox);
  // Link mails are built at send time by the auth service (set below, once it exists).
  let renderLinkMail: (job: LinkMailJob) => Promise<MailMessage | null> = async () => null;
  const mailJobs = new MailJobs(config.redisUrl, config.redisPrefix, deps.mailer, logger, async (data) =>
    isLinkMailJob(data) ? renderLinkMail(data) : (data as MailMessage),
  );

  // --- modules --------------------------------------------------------------------------------
  const users = new UsersService(sequelize, new UsersRepository(sequelize), clock);
  const tokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSec, redis, config.redisPrefix, clock);
  const loginWindowSec = 15 * 60;
  const auth = new AuthService(
    sequelize,
    new AuthRepository(sequelize),
    users,
    tokens,
    outboxWriter,
    {
      perIp: redisLimiter(redis, `${config.redisPrefix}rl:login-ip`, config.rateLimitAuthIpMax, loginWindowSec),
      perAccount: redisLimiter(redis, `${config.redisPrefix}rl:login-account`, config.rateLimitAuthMax, loginWindowSec),
      resetMailsPerAddress: redisLimiter(redis, `${config.redisPrefix}rl:reset-mail`, 3, 3600),
    },
    {
      bcryptCost: config.bcryptCost,
      refreshTokenTtlSec: config.refreshTokenTtlSec,
      accessTokenTtlSec: config.accessTokenTtlSec,
      publicUrl: config.publicUrl,
      linkSealSecret: config.jwtSecret,
    },
    clock,
    logger,
  );
  renderLinkMail = (job) => auth.renderLinkMail(job);
  const bus = new EventBus(config.redisUrl, config.redisPrefix, redis, logger);
  const ctx: ModuleContext = {
    config,
    sequelize,
    redis,
    clock,
    logger,
    metrics,
    outbox: outboxWriter,
    bus,
    storage: deps.storage,
    verifyAccessToken: auth.verifyAccessToken,
  };
  const services: Services = { auth, users };
  const features: FeatureModule[] = [];
  for (const build of FEATURES) {
    const feature = build(ctx, services);
    if (feature.service) services[feature.name] = feature.service;
    features.push(feature);
  }
  const sweepAll = async () => {
    for (const f of features) await f.sweep?.();
  };
  const scheduler = new SweepScheduler(config.redisUrl, config.redisPrefix, config.sweepEveryMs, sweepAll, logger);

  const authLimit = limitPerIp(
    redisLimiter(redis, `${config.redisPrefix}rl:auth`, config.rateLimitAuthGeneralPerMin, 60),
  );

  // --- side effects ---------------------------------------------------------------------------
  outbox.on(TOPIC_MAIL, (mail, { outboxId }) => mailJobs.enqueue(mail, `outbox-${outboxId}`));
  // A link mail leaves no trace once handed on: its row is deleted, its job dropped once sent.
  outbox.on(
    TOPIC_LINK_MAIL,
    (job: LinkMailJob, { outboxId }) => mailJobs.enqueue(job, `outbox-${outboxId}`, { forgetWhenSent: true }),
    { forgetWhenDone: true },
  );
  outbox.on(TOPIC_LOGINS_REVOKED, async (msg: LoginsRevokedMessage) => {
    await tokens.revokeSessions(msg.sessionIds);
    await bus.publish(LOGINS_REVOKED, msg);
  });
  for (const f of features)
    for (const [topic, handler] of Object.entries(f.outboxHandlers ?? {})) outbox.on(topic, handler);

  // --- HTTP -----------------------------------------------------------------------------------
  const modules: MountedModule[] = [
    {
      prefix: API_PREFIX,
      routes: [...authRoutes(auth, authLimit), ...usersRoutes(users), ...features.flatMap((f) => f.routes ?? [])],
    },
  ];
  const openapiDoc = buildOpenApi(modules, { version: '1.0.0', serverUrl: config.publicUrl });

  metrics.gauge('pawmate_job_queue_depth', 'Mail jobs waiting or delayed', async () => {
    const c = await mailJobs.counts();
    return (c.waiting ?? 0) + (c.delayed ?? 0);
  });
  metrics.gauge(
    'pawmate_jobs_failed',
    'Mail jobs that exhausted their retries (kept for inspection)',
    async () => (await mailJobs.counts()).failed ?? 0,
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestId);
  app.use(livenessRouter());
  app.use(
    pinoHttp({
      logger,
      genReqId: (_req, res) => String((res as unknown as { locals: { requestId: string } }).locals.requestId),
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: scrubUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(metrics.middleware());
  app.use(helmet());
  app.use(
    cors({
      origin: config.corsOrigins.length ? config.corsOrigins : false,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    }),
  );
  app.use(express.json({ limit: '1mb' }));

  app.use(opsRouter({ sequelize, redis, metrics, openapi: () => openapiDoc }));
  // Local driver only: the app itself serves the files (s3 URLs point at the bucket).
  if (deps.storage?.driver === 'local') app.use('/uploads', serveUploads(deps.storage as LocalStorage));
  const verify = authenticate(auth.verifyAccessToken);
  for (const mod of modules) {
    const router = Router();
    mountRoutes(router, mod.routes, verify);
    app.use(mod.prefix, router);
  }
  for (const mod of modules) app.use(mod.prefix, methodNotAllowed(mod.routes));
  app.use(notFoundHandler);
  app.use(problemHandler(logger));

  return {
    app,
    attach(server) {
      answerClientErrors(server);
      for (const f of features) f.attach?.(server);
      stampRequestIds(server);
    },
    async start() {
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
    },
    services,
    modules: features,
    bus,
    outbox,
    jobs: { mail: mailJobs },
    metrics,
  };
}

export type { RouteSpec };
