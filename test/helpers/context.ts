import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Sequelize } from 'sequelize';
import { createApp, type PawmateApp } from '../../src/app';
import { createAppServer } from '../../src/http/app-server';
import { loadConfig, type Config } from '../../src/config';
import { createSequelize } from '../../src/infra/db';
import { HotReads } from '../../src/infra/hot-reads';
import { ScriptedTransactions } from '../../src/infra/sql-script';
import { ensureDatabase, dropDatabase, migrator } from '../../src/infra/migrator';
import { connectRedis, createRedis, isCluster, type Redis } from '../../src/infra/redis';
import { createLogger } from '../../src/infra/logger';
import { ManualClock, systemClock, type Clock } from '../../src/infra/clock';
import { SmtpMailer, LogMailer, type Mailer } from '../../src/infra/mail/mailer';
import { LocalStorage } from '../../src/infra/storage/local';
import type { Storage } from '../../src/infra/storage/storage';

const ROOT_DB = process.env.TEST_DATABASE_ROOT ?? 'mysql://root@127.0.0.1:3306';
/** `npm run test:cluster` points this at a private Redis Cluster (test/cluster/global-setup.ts). */
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/**
 * For a test file that talks to Redis without an app: a client of its own (handed to `use` before
 * the file's tests) and a key prefix of its own, whose keys are deleted after them. Returns the prefix.
 */
export function useFileRedis(use: (client: Redis) => void): string {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let client: Redis;
  beforeAll(async () => {
    client = createRedis(REDIS);
    await connectRedis(client);
    use(client);
  });
  afterAll(async () => {
    await deleteKeys(client, prefix);
    client.disconnect();
  });
  return prefix;
}

/** KEYS on one server, or on every master of a cluster (each holds only its own slots' keys). */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  return (await Promise.all(nodes.map((n) => n.keys(pattern)))).flat();
}

/** Deletes every key under a prefix, on one server or a cluster (one DEL per key: many slots). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  await Promise.all((await keysMatching(redis, `${prefix}*`)).map((k) => redis.del(k)));
}

export interface TestInstance {
  pawmate: PawmateApp;
  sequelize: Sequelize;
  /** The instance's pool of scripted transactions (src/infra/sql-script.ts). */
  scripts: ScriptedTransactions;
  redis: Redis;
  server: http.Server;
  url: string;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

export interface TestContextOptions {
  env?: Record<string, string>;
  smtpUrl?: string;
  clock?: Clock;
  /** Image storage for the instances; default: a local storage in a temp dir of this context. */
  storage?: Storage;
}

/**
 * A private database (created and migrated here, dropped in `close`) and a private Redis key prefix
 * for one test file; instances of the real app on random ports against them.
 */
export class TestContext {
  readonly dbName = `pm_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  readonly config: Config;
  readonly clock: Clock;
  private readonly instances: TestInstance[] = [];
  /** Upload directory of the default local storage (removed in `close`). */
  readonly uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-uploads-'));
  readonly storage: Storage;

  constructor(private readonly options: TestContextOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: `${ROOT_DB}/${this.dbName}`,
      REDIS_URL: REDIS,
      REDIS_PREFIX: `t${randomBytes(4).toString('hex')}:`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      BCRYPT_COST: '4',
      DB_POOL_MAX: '4',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      OUTBOX_POLL_MS: '50',
      SWEEP_EVERY_MS: '0',
      // Test files sign up hundreds of users from one IP; the limits have tests of their own.
      RATE_LIMIT_AUTH_GENERAL_PER_MIN: '100000',
      PUBLIC_URL: 'http://pawmate.test',
      SMTP_URL: options.smtpUrl ?? '',
      ...options.env,
    });
    this.storage = options.storage ?? new LocalStorage(this.uploadDir, this.config.publicUrl);
  }

  async setup(): Promise<this> {
    await ensureDatabase(this.config.databaseUrl);
    const sequelize = createSequelize(this.config.databaseUrl, 1);
    await migrator(sequelize).up();
    await sequelize.close();
    return this;
  }

  /**
   * Starts one more app instance (same database and Redis namespace), listening on a random port, or
   * on `port` when the test must know the address before the app starts (a provider's redirect URI).
   */
  async instance(overrides: Partial<Config> = {}, { port = 0 }: { port?: number } = {}): Promise<TestInstance> {
    const config = { ...this.config, ...overrides };
    const logger = createLogger(config.logLevel);
    const sequelize = createSequelize(config.databaseUrl, config.dbPoolMax);
    const hotReads = new HotReads(config.databaseUrl, config.dbPoolMax);
    const scripts = new ScriptedTransactions(config.databaseUrl, config.dbPoolMax);
    const redis = createRedis(config.redisUrl);
    redis.on('error', () => undefined);
    await connectRedis(redis);
    const mailer: Mailer = config.smtpUrl ? new SmtpMailer(config.smtpUrl, config.mailFrom) : new LogMailer(logger);
    const pawmate = createApp({
      config,
      sequelize,
      hotReads,
      scripts,
      redis,
      mailer,
      storage: this.storage,
      clock: this.clock,
      logger,
    });
    const server = createAppServer(pawmate.app);
    pawmate.attach(server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await pawmate.start();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let closed = false;
    const inst: TestInstance = {
      pawmate,
      sequelize,
      scripts,
      redis,
      server,
      url,
      http: request(url),
      close: async () => {
        if (closed) return;
        closed = true;
        await pawmate.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await mailer.close();
        redis.disconnect();
        await hotReads.close();
        await scripts.close();
        await sequelize.close();
      },
    };
    this.instances.push(inst);
    return inst;
  }

  async close(): Promise<void> {
    for (const inst of this.instances.splice(0)) await inst.close().catch(() => undefined);
    const redis = createRedis(this.config.redisUrl);
    await connectRedis(redis);
    await deleteKeys(redis, this.config.redisPrefix);
    redis.disconnect();
    await dropDatabase(this.config.databaseUrl);
    fs.rmSync(this.uploadDir, { recursive: true, force: true });
  }
}

/**
 * Sets up a context and starts `instances` instances of it, one after another: the common beforeAll,
 * as `[ctx, api] = await startContext()`.
 */
export async function startContext(
  options: TestContextOptions = {},
  instances = 1,
): Promise<[TestContext, ...TestInstance[]]> {
  const ctx = await new TestContext(options).setup();
  const started: TestInstance[] = [];
  for (let i = 0; i < instances; i++) started.push(await ctx.instance());
  return [ctx, ...started];
}

/** Access tokens that outlive the ManualClock moves of a test file (90 days). */
export const LONG_TOKENS = { ACCESS_TOKEN_TTL_SEC: String(90 * 24 * 3600) };

export { ManualClock };

let counter = 0;
/** A unique, valid e-mail for this test run. */
export const uniqueEmail = (tag = 'user') => `${tag}.${process.pid}.${Date.now()}.${counter++}@example.com`;

export const PASSWORD = 'correct horse battery';

/** Signs up a fresh user through the API; returns the tokens and the user. */
export async function signup(
  inst: TestInstance,
  overrides: { email?: string; nickname?: string; password?: string } = {},
) {
  const body = {
    email: overrides.email ?? uniqueEmail(),
    password: overrides.password ?? PASSWORD,
    nickname: overrides.nickname ?? 'Tester',
  };
  const res = await inst.http.post('/api/v1/auth/signup').send(body);
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, email: body.email, password: body.password } as {
    user: { id: number; email: string; nickname: string; emailVerified: boolean };
    accessToken: string;
    refreshToken: string;
    email: string;
    password: string;
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
