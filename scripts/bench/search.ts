import type { ChildProcess } from 'node:child_process';
import { createSequelize } from '../../src/infra/db';
import { connectRedis, createRedis } from '../../src/infra/redis';
import { GeoIndex } from '../../src/infra/geo';
import { SittersRepository } from '../../src/modules/sitters/sitters.repository';
import { reindexSitterGeo } from '../../src/modules/sitters/sitters.service';
import { forkReady, loadOrFail, median, ratio, spread, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { SEOUL, seedSitters } from './seed-sitters';
import { argValue } from './sse';
import { positiveInt } from './geo-seed';

const SITTERS = Number(process.env.BENCH_SITTERS ?? 100_000);

/**
 * Issue 4: GET /sitters/search over 100k sitters around Seoul, 3 km and 10 km, with and without
 * filters, next to raw GEOSEARCH + one MySQL IN query and to a MySQL-only query, in the same run.
 * Issue 20: deep pages of a dense circle (pages 1, 10 and 50 of 100 over the whole 50 km circle).
 *   npm run bench -- --only search [--part ratios|deep] [--runs 3]
 */
export async function searchBench(env: BenchEnv): Promise<{ markdown: string }> {
  const part = argValue('part') ?? 'all';
  if (!['all', 'ratios', 'deep'].includes(part)) throw new Error(`--part ${part}: expected ratios, deep or all`);
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
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const deep = part === 'ratios' ? '' : await deepPages(opts, positiveInt('runs', 3));
    if (part === 'deep') return { markdown: deep };
    children.push(
      await forkReady('scripts/bench/baselines.js', ['geo-raw', '4121', env.databaseUrl, env.redisUrl, geo.key]),
    );
    children.push(await forkReady('scripts/bench/baselines.js', ['mysql-only', '4122', env.databaseUrl]));
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
        ) +
        (deep ? `\n\n${deep}` : ''),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

const DEEP_LIMIT = 100;
const DEEP_PAGES = [1, 10, 50];

/**
 * Pages 1, 10 and 50 of sort=distance over the whole 50 km circle (every sitter), 100 per page: one
 * client walks pages 1–50 (timing each; the snapshots are made by this walk), then each chosen page
 * is loaded on its own with its cursor. Each run uses a centre a few metres from the last, so its walk
 * starts without snapshots.
 */
async function deepPages(opts: { duration: number; connections: number }, runs: number): Promise<string> {
  const perPage = new Map<number, { rps: number; p50: number; p99: number }[]>(DEEP_PAGES.map((p) => [p, []]));
  const walks: { total: number; worst: number; page1: number }[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < runs; run++) {
    const at = `lat=${(SEOUL.lat + run * 0.00003).toFixed(6)}&lng=${SEOUL.lng}&radiusKm=50&limit=${DEEP_LIMIT}`;
    const base = `http://127.0.0.1:4120/api/v1/sitters/search?${at}`;
    const urls = new Map<number, string>();
    const times: number[] = [];
    let cursor: string | null = null;
    for (let page = 1; page <= Math.max(...DEEP_PAGES); page++) {
      const url: string = cursor ? `${base}&cursor=${cursor}` : base;
      if (DEEP_PAGES.includes(page)) urls.set(page, url);
      const started = performance.now();
      const res = await fetch(url);
      const body = (await res.json()) as { items: unknown[]; nextCursor: string | null };
      times.push(performance.now() - started);
      if (res.status !== 200 || body.items.length !== DEEP_LIMIT || !body.nextCursor)
        throw new Error(`deep pages: page ${page} answered ${res.status} with ${body.items.length} items`);
      cursor = body.nextCursor;
    }
    walks.push({ total: times.reduce((a, b) => a + b, 0), worst: Math.max(...times), page1: times[0] });
    const got = new Map<number, number>();
    // Each run starts the loads at another page, so a load trend on the shared machine favours none.
    for (const page of [
      ...DEEP_PAGES.slice(run % DEEP_PAGES.length),
      ...DEEP_PAGES.slice(0, run % DEEP_PAGES.length),
    ]) {
      const r = await loadOrFail(`deep page ${page} (run ${run + 1})`, urls.get(page)!, opts);
      perPage.get(page)!.push(r);
      got.set(page, r.rps);
    }
    ratios.push(got.get(DEEP_PAGES[0])! / got.get(DEEP_PAGES[DEEP_PAGES.length - 1])!);
  }
  const ms = (x: number) => Math.round(x);
  const rows = DEEP_PAGES.map((page) => {
    const rs = perPage.get(page)!;
    const rps = rs.map((r) => r.rps);
    return [
      page,
      median(rps),
      spread(rps),
      median(rs.map((r) => r.p50)),
      median(rs.map((r) => r.p99)),
      page === 1 ? '1 (baseline)' : (median(rs.map((r, i) => perPage.get(1)![i].rps / r.rps)) as number).toFixed(2),
    ];
  });
  return (
    `### Deep pages of a dense circle\n\n` +
    `sort=distance over the whole 50 km circle (all ${SITTERS} sitters), ${DEEP_LIMIT} per page, anonymous; ` +
    `${opts.connections} connections, ${opts.duration} s per row, ${runs} runs (median, spread). "page 1 / page n" ` +
    `is page 1's req/s over page n's in the same run (the cost of a page relative to the first; target for page 50: ≤ 1.2).\n\n` +
    table(['page', 'req/s', 'req/s spread', 'p50 ms', 'p99 ms', 'page 1 / page n (median)'], rows) +
    `\n\nOne client walking pages 1–50 in turn (the walk makes the snapshots): ` +
    `${walks.map((w) => `${ms(w.total)} ms (page 1 ${ms(w.page1)} ms, slowest page ${ms(w.worst)} ms)`).join('; ')}. ` +
    `Page 1 / page 50 per run: ${ratios.map((r) => r.toFixed(2)).join(', ')}.`
  );
}
