import type { ChildProcess } from 'node:child_process';
import { createSequelize } from '../../src/infra/db';
import { connectRedis, createRedis } from '../../src/infra/redis';
import { GeoIndex } from '../../src/infra/geo';
import { SittersRepository } from '../../src/modules/sitters/sitters.repository';
import { reindexSitterGeo } from '../../src/modules/sitters/sitters.service';
import { forkReady, loadOrFail, ratio, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { SEOUL, seedSitters } from './seed-sitters';

const SITTERS = Number(process.env.BENCH_SITTERS ?? 100_000);

/**
 * Issue 4: GET /sitters/search over 100k sitters around Seoul, 3 km and 10 km, with and without
 * filters, next to raw GEOSEARCH + one MySQL IN query and to a MySQL-only query, in the same run.
 */
export async function searchBench(env: BenchEnv): Promise<{ markdown: string }> {
  process.stdout.write(`  seeding ${SITTERS} sitters\n`);
  await seedSitters(env.databaseUrl, SITTERS);
  const sequelize = createSequelize(env.databaseUrl, 2);
  const redis = createRedis(env.redisUrl);
  await connectRedis(redis);
  const geo = new GeoIndex(redis, env.redisPrefix, 'sitters');
  const started = Date.now();
  await reindexSitterGeo(new SittersRepository(sequelize), geo, {
    batchSize: 5000,
    onProgress: (p) => process.stdout.write(`\r  geo index: ${p.done}/${p.total ?? '?'}`),
  });
  process.stdout.write(`\n  geo index built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  redis.disconnect();
  await sequelize.close();

  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [], serverEnv(env, 4120)));
    children.push(
      await forkReady('scripts/bench/baselines.js', ['geo-raw', '4121', env.databaseUrl, env.redisUrl, geo.key]),
    );
    children.push(await forkReady('scripts/bench/baselines.js', ['mysql-only', '4122', env.databaseUrl]));
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const at = `lat=${SEOUL.lat}&lng=${SEOUL.lng}`;
    const FILTERS = '&service=walking&petSize=small&maxPrice=30000';
    const rows: (string | number)[][] = [];
    for (const km of [3, 10]) {
      for (const filtered of [false, true]) {
        const label = `${km} km${filtered ? ', filtered' : ''}`;
        const api = await loadOrFail(
          `API ${label}`,
          `http://127.0.0.1:4120/api/v1/sitters/search?${at}&radiusKm=${km}${filtered ? FILTERS : ''}`,
          opts,
        );
        const raw = await loadOrFail(
          `raw GEOSEARCH+IN ${label}`,
          `http://127.0.0.1:4121/search?${at}&radiusKm=${km}&filters=${filtered ? 1 : 0}`,
          opts,
        );
        const sql = await loadOrFail(
          `MySQL only ${label}`,
          `http://127.0.0.1:4122/search?${at}&radiusKm=${km}&filters=${filtered ? 1 : 0}`,
          opts,
        );
        rows.push([
          label,
          'distance',
          api.rps,
          api.p50,
          api.p99,
          raw.rps,
          sql.rps,
          `${ratio(api.rps, raw.rps)} (≥ 0.4)`,
          `${ratio(api.rps, sql.rps)}${km === 3 ? ' (≥ 3)' : ''}`,
        ]);
      }
    }
    // Not the geo order: the whole circle's matches are sorted in MySQL (see src/infra/geo-sorted.ts).
    for (const [km, filtered] of [
      [3, false],
      [10, false],
      [3, true],
    ] as const) {
      for (const sort of ['rating', 'price']) {
        const label = `${km} km${filtered ? ', filtered' : ''}`;
        const r = await loadOrFail(
          `API ${label} sort=${sort}`,
          `http://127.0.0.1:4120/api/v1/sitters/search?${at}&radiusKm=${km}&sort=${sort}${filtered ? FILTERS : ''}`,
          opts,
        );
        rows.push([label, sort, r.rps, r.p50, r.p99, '—', '—', '—', '—']);
      }
    }
    return {
      markdown:
        `${SITTERS} active sitters uniformly within 15 km of Seoul City Hall; page size 20; filters = walking, small pets, ≤ 30 000 KRW.\n\n` +
        table(
          [
            'query',
            'sort',
            'API req/s',
            'API p50 ms',
            'API p99 ms',
            'raw GEOSEARCH+IN req/s',
            'MySQL-only req/s',
            'API / raw',
            'API / MySQL-only',
          ],
          rows,
        ),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
