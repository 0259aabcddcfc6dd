import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { forkReady, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { percentile } from './http-client';
import { bulkUsers } from './bulk-users';
import { ask } from './ipc';
import { sseInstancesBench } from './sse-instances';

/**
 * Issue 7: N open notification streams on ONE Pawmate instance, memory per stream, and the time for
 * one notification per user to reach every stream, next to a bare node:http SSE fan-out in the
 * same run. The streams are held by separate load-generator processes.
 *   npm run bench -- --only sse [--streams 5000,10000] [--quick]
 * Each process needs a file descriptor per stream: run `ulimit -n 20000` in the shell first
 * (Node cannot raise its own limit; children inherit the shell's).
 */
/** Streams per load-generator process (BENCH_STREAMS_PER_CLIENT overrides, e.g. to test several processes at small scale). */
const STREAMS_PER_CLIENT = Number(process.env.BENCH_STREAMS_PER_CLIENT) || 2500;
const OPEN_CONCURRENCY = 50;
const WARM_FRACTION = 0.1;
/**
 * Recipients per notifyMany transaction and transactions in flight: features notify a few
 * recipients per commit, and an event's latency includes waiting for its whole transaction.
 */
const NOTIFY_CHUNK = Number(argValue('notify-chunk') ?? 20); // e.g. 500: a broadcast rather than a feature's fan-out
const NOTIFY_CONCURRENCY = 6;
/** Delivery is given up on after this long without a new event (or this long in all). */
const STALL_MS = 10_000;
const DELIVERY_MAX_MS = 90_000;
const TARGET_KB = 20;
const TARGET_DELIVERY_MS = 1000;
const STREAM_PATH = '/api/v1/notifications/stream';

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function streamCounts(): number[] {
  const given = argValue('streams');
  if (given) {
    const counts = given.split(',').map(Number);
    if (counts.some((n) => !Number.isInteger(n) || n < 0))
      throw new Error(`--streams ${given}: expected positive integers, e.g. 5000,10000 (0: only the instances rows)`);
    return counts.filter((n) => n > 0);
  }
  return process.argv.includes('--quick') ? [500] : [5000, 10000];
}

/** The soft open-files limit of this process (children inherit it), or null where /proc is absent. */
export function openFilesLimit(): number | null {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/**
 * The environment of a measured process: `gc()` available, and with `hook` ./gc-hook preloaded
 * (memory read after a full GC, over IPC) for a process that has no IPC commands of its own.
 */
export function measuredEnv(env: NodeJS.ProcessEnv, hook = true): NodeJS.ProcessEnv {
  const preload = hook ? ` --require ${path.resolve(__dirname, 'gc-hook.js')}` : '';
  return { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --expose-gc${preload}`.trim() };
}

interface Scenario {
  server: string;
  streams: number;
  opened: number;
  openMs: number;
  rssPerStream: number;
  heapPerStream: number;
  delivered: number;
  /** From the first notification insert (bare: the fan-out signal) to the last stream's receipt. */
  allMs: number | null;
  commitMs: number | null;
  /** From the first transaction's commit to the last stream's receipt (what issue 20's target counts). */
  fromFirstCommitMs: number | null;
  p50: number;
  p99: number;
  /** CPU ms each process spent from the first notification until the last receipt (where it could be read). */
  cpuMs: Record<string, number>;
  notes: string[];
}

export async function sseBench(env: BenchEnv): Promise<{ markdown: string }> {
  const counts = streamCounts();
  if (!counts.length) return { markdown: await instancesSection(env) };
  // Other work on the machine skews every figure: recorded with the table.
  const loadAtStart = os.loadavg()[0];
  const max = Math.max(...counts);
  const limit = openFilesLimit();
  if (limit !== null && limit < max + 200) {
    process.stdout.write(
      `  warning: open-files limit ${limit} < ${max} streams; run \`ulimit -n 20000\` first (failed opens are reported)\n`,
    );
  }
  // One secret for every Pawmate process of this suite: the tokens minted here must verify on each.
  const base = serverEnv(env, 0);
  process.stdout.write(`  creating ${max} users and logins\n`);
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, max, 'sse');

  const rows: Scenario[] = [];
  let port = 4120;
  for (const n of counts) {
    const tokens = users.slice(0, n);
    rows.push(
      await scenario('bare node:http SSE', n, port++, async (p, track) => {
        const bare = track(await forkReady('scripts/bench/bare-sse.js', [String(p)], measuredEnv(process.env, false)));
        return {
          memory: async () => {
            const m = await ask<{ rss: number; heapUsed: number; heapTotal: number }>(bare, 'memory');
            return { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, streams: null };
          },
          tokens: tokens.map(() => null),
          fire: async () => {
            const startedAt = Date.now();
            await ask(bare, 'fanout');
            return { startedAt, firstCommittedAt: null, committedAt: null };
          },
        };
      }),
    );
    rows.push(
      await scenario('Pawmate GET /notifications/stream', n, port++, async (p, track) => {
        const srvEnv = { ...base, PORT: String(p) };
        // The port as an (ignored) argument gives the instance its own log file.
        const server = track(await forkReady('src/server.js', [String(p)], measuredEnv(srvEnv)));
        const notifier = track(
          await forkReady('scripts/bench/sse-notify.js', [String(p)], { ...srvEnv, PORT: '0', DB_POOL_MAX: '8' }),
        );
        return {
          memory: async () => {
            const m = await ask<{ rss: number; heapUsed: number; heapTotal: number; spaces: Record<string, number> }>(
              server,
              'memory',
            );
            return {
              rss: m.rss,
              heap: m.heapUsed,
              heapTotal: m.heapTotal,
              spaces: m.spaces,
              streams: metricSum(await metricsText(p), 'pawmate_sse_open_streams'),
            };
          },
          tokens: tokens.map((u) => u.token),
          fire: async () => {
            const r = await ask<{
              startedAt: number;
              firstCommittedAt: number;
              committedAt: number;
              created: number;
              commits: number[];
            }>(
              notifier,
              'notify',
              {
                userIds: tokens.map((u) => u.id),
                chunk: NOTIFY_CHUNK,
                concurrency: NOTIFY_CONCURRENCY,
                tag: String(n),
              },
              300_000,
            );
            if (r.created !== n) throw new Error(`notifier created ${r.created} of ${n} notifications`);
            process.stdout.write(`    commits at ms: ${r.commits.join(', ')}\n`);
            return r;
          },
          cpu: async () => {
            const [srv, ntf] = await Promise.all([
              ask<{ cpuUs: number }>(server, 'cpu'),
              ask<{ cpuUs: number }>(notifier, 'cpu'),
            ]);
            const db = mariadbCpuUs();
            return { server: srv.cpuUs, notifier: ntf.cpuUs, ...(db === null ? {} : { MariaDB: db }) };
          },
          after: async (s: Scenario) => {
            const drops = metricSum(await metricsText(p), 'pawmate_sse_drops_total');
            if (drops) s.notes.push(`${drops} streams dropped by the server`);
          },
        };
      }),
    );
  }

  // The bare server's cost per stream is the floor any node:http server pays; the difference is Pawmate's own.
  for (const r of rows) {
    const bare = rows.find((b) => b.server.startsWith('bare') && b.streams === r.streams);
    if (r.server.startsWith('Pawmate') && bare) {
      const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
      r.notes.push(
        `${signed(r.rssPerStream - bare.rssPerStream)} KB RSS / ${signed(r.heapPerStream - bare.heapPerStream)} KB heap per stream over bare`,
      );
    }
  }
  const tableRows = rows.map((r) => [
    r.server,
    r.streams,
    r.opened === r.streams ? r.opened : `${r.opened} ✘`,
    (r.openMs / 1000).toFixed(1),
    Math.round((r.opened / r.openMs) * 1000),
    r.rssPerStream.toFixed(1),
    r.heapPerStream.toFixed(1),
    r.delivered === r.opened ? r.delivered : `${r.delivered} ✘`,
    r.commitMs === null ? '—' : r.commitMs,
    r.allMs === null ? 'incomplete' : r.allMs,
    r.fromFirstCommitMs ?? '—',
    r.allMs === null ? '—' : r.commitMs === null ? r.allMs : r.allMs - r.commitMs,
    r.p50,
    r.p99,
    verdict(r),
  ]);
  const markdown = [
    table(
      [
        'server',
        'streams',
        'opened',
        'open s',
        'opens/s',
        'RSS KB/stream',
        'heap KB/stream',
        'delivered',
        'commits done ms',
        'all delivered ms',
        'from first commit ms',
        'after last commit ms',
        'p50 ms',
        'p99 ms',
        'target / notes',
      ],
      tableRows,
    ),
    '',
    `One notification per user, one stream per user. "all delivered" runs from the first insert (bare: the fan-out signal) to the last ` +
      `stream's receipt, "from first commit" from the first notifyMany transaction's commit, "after last commit" from the last commit to that receipt (the fan-out alone); p50/p99 are per event, receipt minus the event's \`createdAt\` (same clock). Pawmate's notifications are ` +
      `created by a second process through \`services.notifications.notifyMany\` (${NOTIFY_CHUNK} recipients per transaction, ` +
      `${NOTIFY_CONCURRENCY} at a time) and travel outbox → Redis → the instance holding the streams. Memory is the server's ` +
      `RSS and heapUsed after opening the last ${100 - WARM_FRACTION * 100} % of the streams minus before, over those streams (the first ` +
      `${WARM_FRACTION * 100} % warm the server up), each read after a full GC (\`--expose-gc\`, scripts/bench/gc-hook.ts). ` +
      `Clients: ${STREAMS_PER_CLIENT} streams per load-generator process. Targets: < ${TARGET_KB} KB per stream and all delivered ` +
      `within ${TARGET_DELIVERY_MS} ms at 10000 streams. Needs \`ulimit -n 20000\` in the shell that runs the benchmark. ` +
      `Load average at the start: ${loadAtStart.toFixed(1)} (${os.cpus().length} cores).`,
  ].join('\n');
  return { markdown: `${markdown}${await instancesSection(env)}` };
}

async function instancesSection(env: BenchEnv): Promise<string> {
  const instances = instanceCounts();
  if (!instances.length) return '';
  const perInstance = Number(argValue('per-instance') ?? (process.argv.includes('--quick') ? 250 : 2500));
  const scaling = await sseInstancesBench(env, instances, perInstance, NOTIFY_CHUNK);
  return `\n\n### Fan-out over instances\n\n${scaling}`;
}

/** `--instances 1,2,4` (the default; `--instances 0` skips the rows). */
function instanceCounts(): number[] {
  const given = argValue('instances') ?? '1,2,4';
  const counts = given.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`--instances ${given}: expected e.g. 1,2,4`);
  return counts.filter((n) => n > 0);
}

function verdict(r: Scenario): string {
  const notes = [...r.notes];
  if (r.server.startsWith('Pawmate')) {
    notes.unshift(
      `RSS ${r.rssPerStream < TARGET_KB ? '✔' : '✘'} / heap ${r.heapPerStream < TARGET_KB ? '✔' : '✘'} < ${TARGET_KB} KB`,
      `all ${r.allMs !== null && r.allMs < TARGET_DELIVERY_MS ? '✔' : '✘'} / from first commit ${
        r.fromFirstCommitMs !== null && r.fromFirstCommitMs < TARGET_DELIVERY_MS ? '✔' : '✘'
      } / after last commit ${r.allMs !== null && r.allMs - (r.commitMs ?? 0) < TARGET_DELIVERY_MS ? '✔' : '✘'} < 1 s`,
    );
    const cpu = Object.entries(r.cpuMs).map(([k, v]) => `${k} ${v}`);
    if (cpu.length) notes.push(`CPU ms ${cpu.join(' / ')}`);
  }
  return notes.join(', ') || 'baseline';
}

/** Memory readings fail when the measured process is out of file descriptors: say what to do. */
async function readMemory(target: Target) {
  try {
    return await target.memory();
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(
      /EMFILE/.test(msg) ? `${msg} — the server ran out of file descriptors: run \`ulimit -n 20000\` first` : msg,
    );
  }
}

interface Target {
  /** heapTotal: what V8 holds for its heap, used or not (the part of RSS that moves with its sizing). */
  memory(): Promise<{
    rss: number;
    heap: number;
    heapTotal: number;
    /** Resident bytes per V8 heap space (new_space, old_space…), where the process reports them. */
    spaces?: Record<string, number>;
    streams: number | null;
  }>;
  tokens: (string | null)[];
  fire(): Promise<{ startedAt: number; firstCommittedAt: number | null; committedAt: number | null }>;
  /** CPU µs so far of the processes that do the work, by name. */
  cpu?(): Promise<Record<string, number>>;
  after?(s: Scenario): Promise<void>;
}

async function scenario(
  name: string,
  n: number,
  port: number,
  start: (port: number, track: (c: ChildProcess) => ChildProcess) => Promise<Target>,
): Promise<Scenario> {
  process.stdout.write(`  ${name}: ${n} streams\n`);
  const children: ChildProcess[] = [];
  try {
    // Every child is tracked as soon as it exists, so a failure half-way through still ends it.
    const target = await start(port, (c) => {
      children.push(c);
      return c;
    });
    const clients: ChildProcess[] = [];
    for (let i = 0; i * STREAMS_PER_CLIENT < n; i++) {
      const c = await forkReady('scripts/bench/sse-clients.js', [String(port), String(i)]);
      clients.push(c);
      children.push(c);
    }
    // A first tenth of the streams warms the server (JIT, pools, lazily built state) and is left out of
    // the memory figure, which is then the marginal cost of each further stream.
    const shares = clients.map((_c, i) => target.tokens.slice(i * STREAMS_PER_CLIENT, (i + 1) * STREAMS_PER_CLIENT));
    const openShare = (part: 'warm' | 'rest') =>
      Promise.all(
        clients.map((c, i) => {
          const cut = Math.ceil(shares[i].length * WARM_FRACTION);
          const tokens = part === 'warm' ? shares[i].slice(0, cut) : shares[i].slice(cut);
          return ask<{ opened: number; ms: number; errors: Record<string, number> }>(
            c,
            'open',
            { port, path: STREAM_PATH, tokens, concurrency: OPEN_CONCURRENCY },
            300_000,
          );
        }),
      );
    const warm = await openShare('warm');
    await sleep(1000);
    const before = await readMemory(target);
    const rest = await openShare('rest');
    const warmOpened = warm.reduce((a, o) => a + o.opened, 0);
    const restOpened = rest.reduce((a, o) => a + o.opened, 0);
    const opened = warmOpened + restOpened;
    const openMs = Math.max(...warm.map((o) => o.ms)) + Math.max(...rest.map((o) => o.ms));
    // Each generator's error counts are cumulative, so the second answer has them all.
    const errors = mergeCounts(rest.map((o) => o.errors));
    process.stdout.write(
      `    opened ${opened}/${n} in ${openMs} ms${Object.keys(errors).length ? `, errors ${JSON.stringify(errors)}` : ''}\n`,
    );
    await sleep(1000);
    const after = await readMemory(target);
    const rssPerStream = restOpened ? (after.rss - before.rss) / restOpened / 1024 : 0;
    const heapPerStream = restOpened ? (after.heap - before.heap) / restOpened / 1024 : 0;
    process.stdout.write(
      `    memory over ${restOpened} streams: RSS +${mib(after.rss - before.rss)} MiB, heap used +${mib(after.heap - before.heap)} MiB, ` +
        `heap held +${mib(after.heapTotal - before.heapTotal)} MiB, outside the heap +${mib(after.rss - after.heapTotal - (before.rss - before.heapTotal))} MiB\n`,
    );
    if (before.spaces && after.spaces) {
      const moved = Object.keys(after.spaces)
        .map((k) => [k, after.spaces![k] - (before.spaces![k] ?? 0)] as const)
        .filter(([, d]) => Math.abs(d) >= 2 ** 20)
        .map(([k, d]) => `${k} ${d >= 0 ? '+' : ''}${mib(d)}`);
      process.stdout.write(`    heap held by space (MiB): ${moved.join(', ') || 'no change'}\n`);
    }
    const notes: string[] = [];
    if (after.streams !== null && after.streams !== opened) notes.push(`server counted ${after.streams} open streams`);
    if (Object.keys(errors).length) notes.push(`open errors ${JSON.stringify(errors)}`);

    const cpuBefore = await target.cpu?.();
    const { startedAt, firstCommittedAt, committedAt } = await target.fire();
    const delivered = await waitForDelivery(clients, opened);
    const cpuAfter = await target.cpu?.();
    const cpuMs: Record<string, number> = {};
    for (const [name, us] of Object.entries(cpuAfter ?? {}))
      if (cpuBefore?.[name] !== undefined) cpuMs[name] = Math.round((us - cpuBefore[name]) / 1000);
    const stats = await Promise.all(
      clients.map((c) => ask<{ receivedAt: number[]; latencies: number[]; closedEarly: number }>(c, 'stats')),
    );
    const receivedAt = stats.flatMap((s) => s.receivedAt);
    const latencies = stats.flatMap((s) => s.latencies);
    const closedEarly = stats.reduce((a, s) => a + s.closedEarly, 0);
    if (closedEarly) notes.push(`${closedEarly} streams closed early`);
    const last = receivedAt.length ? Math.max(...receivedAt) : null;
    const result: Scenario = {
      server: name,
      streams: n,
      opened,
      openMs,
      rssPerStream,
      heapPerStream,
      delivered,
      allMs: last !== null && delivered >= opened && opened > 0 ? last - startedAt : null,
      commitMs: committedAt === null ? null : committedAt - startedAt,
      fromFirstCommitMs:
        last !== null && delivered >= opened && opened > 0 && firstCommittedAt !== null
          ? last - firstCommittedAt
          : null,
      p50: Math.round(percentile(latencies, 50)),
      p99: Math.round(percentile(latencies, 99)),
      cpuMs,
      notes,
    };
    await target.after?.(result);
    const cpuText = Object.entries(cpuMs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    process.stdout.write(
      `    delivered ${delivered}/${opened}, all in ${result.allMs ?? 'n/a'} ms, p50 ${result.p50} ms, p99 ${result.p99} ms${cpuText ? `, CPU ms ${cpuText}` : ''}\n`,
    );
    await Promise.all(clients.map((c) => ask(c, 'close')));
    return result;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

/** Polls the load generators until every stream has its event, nothing arrives for a while, or time is up. */
export async function waitForDelivery(clients: ChildProcess[], expected: number): Promise<number> {
  const started = Date.now();
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const counts = await Promise.all(clients.map((c) => ask<{ received: number }>(c, 'count')));
    const received = counts.reduce((a, c) => a + c.received, 0);
    if (received >= expected) return received;
    if (received !== last) {
      last = received;
      lastChange = Date.now();
    }
    if (Date.now() - lastChange > STALL_MS || Date.now() - started > DELIVERY_MAX_MS) return received;
    await sleep(100);
  }
}

export async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics → ${res.status}`);
  return res.text();
}

/** Sum of a Prometheus metric's samples (every label set). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/**
 * CPU µs so far of the local MariaDB server (mariadbd or mysqld, all its threads), from /proc; null
 * when it is not on this machine. With the Node processes' own figures it says where a run's CPU went.
 */
export function mariadbCpuUs(): number | null {
  try {
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let comm: string;
      try {
        comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (comm !== 'mariadbd' && comm !== 'mysqld') continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15 of stat(5)), in USER_HZ ticks of 10 ms.
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    }
  } catch {
    // No /proc (not Linux).
  }
  return null;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function mergeCounts(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of all) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once a child has exited (SIGKILL after 15 s: a stuck child must not hold the run). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
  });
}
