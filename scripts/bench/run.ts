import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import mysql from 'mysql2/promise';

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

let idleCheck: { url: string; database: string } | null = null;

/**
 * Before each row, wait until MariaDB has finished every query of the bench database: autocannon stops
 * on time, but queries it left queued (a slow baseline's) keep running on the server and would be
 * billed to the next row.
 */
export function waitForIdleDatabaseBeforeEachRow(databaseUrl: string): void {
  idleCheck = { url: databaseUrl, database: decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) };
}

async function untilDatabaseIdle(): Promise<void> {
  if (!idleCheck) return;
  const conn = await mysql.createConnection(idleCheck.url);
  try {
    for (let i = 0; i < 600; i++) {
      const [rows] = await conn.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID()",
        [idleCheck.database],
      );
      if (Number((rows as Array<{ n: number }>)[0].n) === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await conn.end();
  }
}

/** Runs autocannon against one URL and keeps the figures the tables need. */
export async function load(
  name: string,
  url: string,
  opts: { connections?: number; duration?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  await untilDatabaseIdle();
  const result = await autocannon({
    url,
    connections: opts.connections ?? 50,
    duration: opts.duration ?? 8,
    headers: opts.headers,
  });
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Forks a compiled script and waits for it to say 'ready' over IPC (or for a listening log line). */
export async function forkReady(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildProcess> {
  // The child's log goes to a file, so a failed run can be diagnosed without flooding the table.
  const logFile = path.join(
    os.tmpdir(),
    `pawmate-bench-${path.basename(script, '.js')}-${(args.slice(0, 2).join('-') || 'server').replace(/[^A-Za-z0-9_-]/g, '_')}.log`,
  );
  const out = fs.openSync(logFile, 'w');
  // BENCH_CPU_PROF=<dir>: every forked server writes a V8 CPU profile there when it exits (node --cpu-prof).
  const profDir = process.env.BENCH_CPU_PROF;
  const execArgv = profDir ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${profDir}`] : process.execArgv;
  const child = fork(path.resolve(__dirname, '..', '..', script), args, {
    env,
    execArgv,
    stdio: ['ignore', out, out, 'ipc'],
  });
  fs.closeSync(out);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');

/** The median of runs (the upper middle of an even count) and their range, as the tables print them. */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const spread = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;

/** One load run that prints its figures and fails the suite on any non-2xx answer or error. */
export async function loadOrFail(
  name: string,
  url: string,
  opts: { duration: number; connections: number },
): Promise<LoadResult> {
  const r = await load(name, url, opts);
  process.stdout.write(
    `  ${name}: ${r.rps} req/s, p99 ${r.p99} ms${r.non2xx || r.errors ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : ''}\n`,
  );
  if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r;
}
