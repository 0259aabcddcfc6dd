import type { Sequelize } from 'sequelize';
import type { Config } from './config';
import { systemClock, type Clock } from './infra/clock';
import { createSequelize } from './infra/db';
import { HotReads } from './infra/hot-reads';
import { ScriptedTransactions } from './infra/sql-script';
import { createLogger, type Logger } from './infra/logger';
import { LogMailer, SmtpMailer, type Mailer } from './infra/mail/mailer';
import { connectRedis, createRedis, type Redis } from './infra/redis';
import { closeStorage, createStorage, type Storage } from './infra/storage';

export interface Infrastructure {
  sequelize: Sequelize;
  /** The mysql2 pool of the per-request reads (src/infra/hot-reads.ts). */
  hotReads: HotReads;
  /** The mysql2 pool of transactions written as packets of statements (src/infra/sql-script.ts). */
  scripts: ScriptedTransactions;
  redis: Redis;
  mailer: Mailer;
  /** Image storage named by STORAGE_DRIVER (local files or an S3 bucket). */
  storage: Storage;
  logger: Logger;
  clock: Clock;
  close(): Promise<void>;
}

/** Opens the pools an instance needs; shared by the server, the CLIs and the benchmarks. */
export async function openInfrastructure(
  config: Config,
  logger = createLogger(config.logLevel),
): Promise<Infrastructure> {
  const sequelize = createSequelize(config.databaseUrl, config.dbPoolMax, logger);
  const hotReads = new HotReads(config.databaseUrl, config.dbPoolMax);
  const scripts = new ScriptedTransactions(config.databaseUrl, config.dbPoolMax);
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await Promise.all([sequelize.authenticate(), connectRedis(redis)]);
  const print = config.env === 'development' ? (text: string) => void process.stdout.write(text) : undefined;
  const mailer = config.smtpUrl ? new SmtpMailer(config.smtpUrl, config.mailFrom) : new LogMailer(logger, print);
  const storage = createStorage(config);
  return {
    sequelize,
    hotReads,
    scripts,
    redis,
    mailer,
    storage,
    logger,
    clock: systemClock,
    async close() {
      await mailer.close();
      closeStorage(storage);
      redis.disconnect();
      await hotReads.close();
      await scripts.close();
      await sequelize.close();
    },
  };
}
