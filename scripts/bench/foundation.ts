import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
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

/**
 * CPU seconds (user + system) a child process has used so far, from /proc (Linux); null elsewhere.
 * Server CPU per request does not depend on how much of a shared machine the server was given, which
 * req/s does: it is the figure to compare across noisy runs.
 */
export function cpuSeconds(child: ChildProcess): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime), counted after the command name's closing parenthesis.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
  } catch {
    return null;
  }
}
// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK).
const TICKS_PER_SEC = 100;

/** A load run with the server's CPU per answered request (µs), when /proc tells it. */
async function loadWithCpu(
  server: ChildProcess,
  ...args: Parameters<typeof load>
): Promise<LoadResult & { cpuUsPerReq: number | null; requests: number }> {
  const before = cpuSeconds(server);
  const r = await load(...args);
  const after = cpuSeconds(server);
  const requests = r.rps * (args[2]?.duration ?? 8);
  const cpuUsPerReq =
    before !== null && after !== null && requests ? Math.round(((after - before) * 1e6) / requests) : null;
  return { ...r, cpuUsPerReq, requests };
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
    const bareServer = await forkReady('scripts/bench/baselines.js', ['bare-http', String(PORT + 1)]);
    children.push(bareServer);
    const pkServer = await forkReady('scripts/bench/baselines.js', [
      'express-mysql2',
      String(PORT + 2),
      env.databaseUrl,
    ]);
    children.push(pkServer);

    const email = `bench.${Date.now()}@example.com`;
    const res = await fetch(`http://127.0.0.1:${PORT}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'benchmark password', nickname: 'Bench' }),
    });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
    const { accessToken, user } = (await res.json()) as { accessToken: string; user: { id: number } };

    const opts = { duration: env.duration, connections: env.connections };
    const log = <R extends LoadResult & { cpuUsPerReq: number | null }>(r: R) => {
      process.stdout.write(`  ${r.name}: ${r.rps} req/s, p99 ${r.p99} ms, server CPU ${r.cpuUsPerReq ?? '?'} µs/req\n`);
      return r;
    };
    const bare = log(await loadWithCpu(bareServer, 'bare node:http', `http://127.0.0.1:${PORT + 1}/`, opts));
    const healthz = log(await loadWithCpu(pawmate, 'Pawmate GET /healthz', `http://127.0.0.1:${PORT}/healthz`, opts));
    const pk = log(
      await loadWithCpu(pkServer, 'Express + mysql2 PK lookup', `http://127.0.0.1:${PORT + 2}/users/${user.id}`, opts),
    );
    const me = log(
      await loadWithCpu(
        pawmate,
        'Pawmate GET /api/v1/users/me (JWT + login check + PK)',
        `http://127.0.0.1:${PORT}/api/v1/users/me`,
        { ...opts, headers: { authorization: `Bearer ${accessToken}` } },
      ),
    );
    const results = [bare, healthz, pk, me];
    for (const r of results)
      if (r.errors || r.non2xx) throw new Error(`${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
    const cpu = (r: { cpuUsPerReq: number | null }) => r.cpuUsPerReq ?? 'n/a';
    // Baseline CPU ÷ ours: like the req/s ratio, higher is better, but unmoved by the share of a
    // shared machine each server happened to get during its row.
    const cpuRatio = (ours: { cpuUsPerReq: number | null }, base: { cpuUsPerReq: number | null }) =>
      ours.cpuUsPerReq && base.cpuUsPerReq ? ratio(base.cpuUsPerReq, ours.cpuUsPerReq) : 'n/a';
    const markdown = table(
      ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'ratio', 'CPU ratio'],
      [
        [bare.name, bare.rps, bare.p50, bare.p99, cpu(bare), '1.00 (baseline)', '1.00'],
        [
          healthz.name,
          healthz.rps,
          healthz.p50,
          healthz.p99,
          cpu(healthz),
          `${ratio(healthz.rps, bare.rps)} × bare node:http (target ≥ 0.25)`,
          cpuRatio(healthz, bare),
        ],
        [pk.name, pk.rps, pk.p50, pk.p99, cpu(pk), '1.00 (baseline)', '1.00'],
        [
          me.name,
          me.rps,
          me.p50,
          me.p99,
          cpu(me),
          `${ratio(me.rps, pk.rps)} × Express + mysql2 (target ≥ 0.6)`,
          cpuRatio(me, pk),
        ],
      ],
    );
    return { markdown, results };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
