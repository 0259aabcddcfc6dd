import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { forkReady, loadOrFail, ratio, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { SEOUL, seedSitters } from './seed-sitters';
import { mapGrid } from '../../src/modules/sitters/sitters.map';

const SITTERS = Number(process.env.BENCH_SITTERS ?? 100_000);

/** Viewports over the seeded city: all of it at a city zoom, and one street at a street zoom. */
const VIEWPORTS = [
  { name: 'whole city (30 × 34 km), zoom 11', minLat: 37.43, minLng: 126.8, maxLat: 37.7, maxLng: 127.16, zoom: 11 },
  { name: 'street (550 × 440 m), zoom 17', minLat: 37.564, minLng: 126.975, maxLat: 37.569, maxLng: 126.98, zoom: 17 },
];

/**
 * GET /sitters/map over 100k sitters around Seoul, next to the raw grouped bounding-box count over
 * the same grid in the same run (the floor of what the map can cost).
 */
export async function mapBench(env: BenchEnv): Promise<{ markdown: string }> {
  process.stdout.write(`  seeding ${SITTERS} sitters\n`);
  await seedSitters(env.databaseUrl, SITTERS);
  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [], serverEnv(env, 4130)));
    children.push(await forkReady('scripts/bench/baselines.js', ['map-raw', '4131', env.databaseUrl]));
    // For 5 s after a change every map read re-reads the changed rows (the late-commit slack, see
    // SitterMapSnapshot); the seed just changed 100k of them, a state the service is rarely in.
    await new Promise((r) => setTimeout(r, 6000));
    await fetch('http://127.0.0.1:4130/api/v1/sitters/map?minLat=37&minLng=126&maxLat=38&maxLng=128&zoom=10');
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const rows: (string | number)[][] = [];
    for (const v of VIEWPORTS) {
      const { name, ...q } = v;
      // A p99 target on two shared cores means little without the machine's load beside it.
      const loadBefore = os.loadavg()[0];
      const grid = mapGrid(q);
      const box = `minLat=${q.minLat}&minLng=${q.minLng}&maxLat=${q.maxLat}&maxLng=${q.maxLng}`;
      const api = await loadOrFail(
        `API ${name}`,
        `http://127.0.0.1:4130/api/v1/sitters/map?${box}&zoom=${q.zoom}`,
        opts,
      );
      // The raw baseline takes square cells of the grid's latitude size (the API's cells are as many degrees).
      const raw = await loadOrFail(`raw ${name}`, `http://127.0.0.1:4131/map?${box}&cell=${grid.cellLat}`, opts);
      rows.push([
        name,
        api.rps,
        api.p50,
        api.p99,
        raw.rps,
        raw.p99,
        `${ratio(api.rps, raw.rps)}`,
        api.p99 < 50 ? 'met' : 'not met',
        `${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}`,
      ]);
    }
    return {
      markdown:
        `${SITTERS} active sitters uniformly within 15 km of Seoul City Hall (${SEOUL.lat}, ${SEOUL.lng}).\n\n` +
        table(
          [
            'viewport',
            'API req/s',
            'API p50 ms',
            'API p99 ms',
            'raw req/s',
            'raw p99 ms',
            'API / raw',
            'p99 < 50 ms',
            'load avg',
          ],
          rows,
        ),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
