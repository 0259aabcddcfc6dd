import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { forkReady, load, ratio, table, type LoadResult } from './run';

export interface BenchEnv {
  databaseUrl: string;
  redisUrl: string;
  /** Redis key prefix of the benchmarked servers (BENCH_REDIS_PREFIX, default bench:). */
  redisPrefix: string;
  duration: number;
  connections: number;
}

/** The environment a benchmarked Pawmate instance runs with. */
export function serverEnv(env: BenchEnv, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: env.redisPrefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_AUTH_GENERAL_PER_MIN: '1000000',
    RATE_LIMIT_AUTH_MAX: '1000000',
    RATE_LIMIT_AUTH_IP_MAX: '1000000',
  };
}

/** Ports of the Pawmate server and its two baselines (BENCH_FOUNDATION_PORT, default 4100; +1, +2): several
 * people benchmarking on one machine each pick their own. */
const PORT = Number(process.env.BENCH_FOUNDATION_PORT ?? 4100);

/** Issue 3: GET /healthz and authenticated GET /users/me next to bare node:http and Express + mysql2. */
export async function foundationBench(env: BenchEnv): Promise<{ markdown: string; results: LoadResult[] }> {
  const children: ChildProcess[] = [];
  try {
    const pawmate = await forkReady('src/server.js', [], serverEnv(env, PORT));
    children.push(pawmate);
    children.push(await forkReady('scripts/bench/baselines.js', ['bare-http', String(PORT + 1)]));
    children.push(await forkReady('scripts/bench/baselines.js', ['express-mysql2', String(PORT + 2), env.databaseUrl]));

    const email = `bench.${Date.now()}@example.com`;
    const res = await fetch(`http://127.0.0.1:${PORT}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'benchmark password', nickname: 'Bench' }),
    });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
    const { accessToken, user } = (await res.json()) as { accessToken: string; user: { id: number } };

    const opts = { duration: env.duration, connections: env.connections };
    const log = (r: LoadResult) => {
      process.stdout.write(`  ${r.name}: ${r.rps} req/s, p99 ${r.p99} ms\n`);
      return r;
    };
    const bare = log(await load('bare node:http', `http://127.0.0.1:${PORT + 1}/`, opts));
    const healthz = log(await load('Pawmate GET /healthz', `http://127.0.0.1:${PORT}/healthz`, opts));
    const pk = log(await load('Express + mysql2 PK lookup', `http://127.0.0.1:${PORT + 2}/users/${user.id}`, opts));
    const me = log(
      await load('Pawmate GET /api/v1/users/me (JWT + deny-list + PK)', `http://127.0.0.1:${PORT}/api/v1/users/me`, {
        ...opts,
        headers: { authorization: `Bearer ${accessToken}` },
      }),
    );
    const results = [bare, healthz, pk, me];
    for (const r of results)
      if (r.errors || r.non2xx) throw new Error(`${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
    const markdown = table(
      ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'ratio'],
      [
        [bare.name, bare.rps, bare.p50, bare.p99, '1.00 (baseline)'],
        [healthz.name, healthz.rps, healthz.p50, healthz.p99, `${ratio(healthz.rps, bare.rps)} × bare node:http`],
        [pk.name, pk.rps, pk.p50, pk.p99, '1.00 (baseline)'],
        [me.name, me.rps, me.p50, me.p99, `${ratio(me.rps, pk.rps)} × Express + mysql2 (target ≥ 0.6)`],
      ],
    );
    return { markdown, results };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
