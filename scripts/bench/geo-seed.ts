import type { Sequelize } from 'sequelize';
import { createSequelize } from '../../src/infra/db';
import { connectRedis, createRedis } from '../../src/infra/redis';
import { GeoIndex, type RebuildProgress } from '../../src/infra/geo';
import type { BenchEnv } from './foundation';
import { argValue } from './sse';

/** `--name N` as a positive integer, or `fallback` when the flag is absent. */
export function positiveInt(name: string, fallback: number): number {
  const given = argValue(name);
  const n = given === undefined ? fallback : Number(given);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} ${given}: expected a positive integer`);
  return n;
}

type Reindex = (
  sequelize: Sequelize,
  geo: GeoIndex,
  options: { batchSize: number; onProgress: (p: RebuildProgress) => void },
) => Promise<unknown>;

/**
 * Builds the GEO index `name` (posts, meetups, listings) from the freshly seeded database the way the
 * app heals it, with progress, and answers its key for the raw baselines. The database is fresh but
 * Redis is not: versions or a marker left by an earlier run under this prefix would make the rebuild
 * skip rows or refuse to start, so they go first.
 */
export async function rebuildGeoIndex(env: BenchEnv, name: string, reindex: Reindex): Promise<string> {
  const sequelize = createSequelize(env.databaseUrl, 2);
  const redis = createRedis(env.redisUrl);
  await connectRedis(redis);
  const geo = new GeoIndex(redis, env.redisPrefix, name);
  try {
    await redis.del(geo.key, geo.versionsKey, geo.markerKey);
    const started = Date.now();
    await reindex(sequelize, geo, {
      batchSize: 5000,
      onProgress: (p) => process.stdout.write(`\r  geo index: ${p.done}/${p.total ?? '?'}`),
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(`\n  geo:${name} rebuilt in ${seconds} s (${await geo.size()} members)\n`);
    return geo.key;
  } finally {
    redis.disconnect();
    await sequelize.close();
  }
}
