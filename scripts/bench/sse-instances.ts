import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { forkReady, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { bulkUsers } from './bulk-users';
import { ask } from './ipc';
import { exited, measuredEnv, metricSum, metricsText, sleep, waitForDelivery } from './sse';

/**
 * Issue 20: fan-out that scales with instances. 1, 2 and 4 Pawmate instances each hold the same
 * number of streams (one user each); one notification per user is created through notifyMany by a
 * separate process. Each instance subscribes only to its own streams' users' channels, so what one
 * instance receives and spends stays flat as instances (and users) are added; with one channel
 * for everybody, each instance would receive every instance's notifications.
 *   npm run bench -- --only sse --instances 1,2,4 [--per-instance 2500]
 */
const STREAM_PATH = '/api/v1/notifications/stream';
const OPEN_CONCURRENCY = 50;

interface Row {
  instances: number;
  streams: number;
  delivered: number;
  /** Bus messages received on notification channels, per instance. */
  received: number[];
  /** CPU ms per instance from just before the first notification until every stream had its event. */
  cpuMs: number[];
  allMs: number | null;
}

export async function sseInstancesBench(
  env: BenchEnv,
  counts: number[],
  perInstance: number,
  chunk: number,
): Promise<string> {
  const loadAtStart = os.loadavg()[0];
  const base = serverEnv(env, 0);
  const max = Math.max(...counts) * perInstance;
  process.stdout.write(`  creating ${max} users and logins for the instances rows\n`);
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, max, 'ssei');
  const rows: Row[] = [];
  let port = 4140;
  for (const n of counts) {
    rows.push(await scenario(base, users.slice(0, n * perInstance), n, perInstance, chunk, port));
    port += n + 1;
  }
  const spread = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [
    table(
      [
        'instances',
        'streams (all)',
        'delivered',
        'all delivered ms',
        'messages received per instance',
        'CPU ms per instance (median, min–max)',
      ],
      rows.map((r) => [
        r.instances,
        r.streams,
        r.delivered === r.streams ? r.delivered : `${r.delivered} ✘`,
        r.allMs ?? 'incomplete',
        spread(r.received),
        `${median(r.cpuMs)} (${spread(r.cpuMs)})`,
      ]),
    ),
    '',
    `${perInstance} streams per instance, one user each; one notification per user (${chunk} recipients per ` +
      `notifyMany transaction) from a separate process. "messages received" is each instance's ` +
      `\`pawmate_notification_messages_received_total\`, "CPU" its user+system time from just before the first ` +
      `notification until the last stream had its event. Load average at the start: ${loadAtStart.toFixed(1)} ` +
      `(${os.cpus().length} cores).`,
  ].join('\n');
}

async function scenario(
  base: NodeJS.ProcessEnv,
  users: Array<{ id: number; token: string }>,
  n: number,
  perInstance: number,
  chunk: number,
  firstPort: number,
): Promise<Row> {
  process.stdout.write(`  ${n} instance(s) × ${perInstance} streams\n`);
  const children: ChildProcess[] = [];
  const track = (c: ChildProcess) => (children.push(c), c);
  try {
    const ports = Array.from({ length: n }, (_, i) => firstPort + i);
    const servers = await Promise.all(
      ports.map(async (p) =>
        track(await forkReady('src/server.js', [String(p)], measuredEnv({ ...base, PORT: String(p) }))),
      ),
    );
    const notifier = track(
      await forkReady('scripts/bench/sse-notify.js', [String(firstPort + n)], {
        ...base,
        PORT: '0',
        DB_POOL_MAX: '8',
      }),
    );
    const clients = await Promise.all(
      ports.map(async (p, i) => track(await forkReady('scripts/bench/sse-clients.js', [String(p), `i${i}`]))),
    );
    const opened = (
      await Promise.all(
        clients.map((c, i) =>
          ask<{ opened: number }>(
            c,
            'open',
            {
              port: ports[i],
              path: STREAM_PATH,
              tokens: users.slice(i * perInstance, (i + 1) * perInstance).map((u) => u.token),
              concurrency: OPEN_CONCURRENCY,
            },
            300_000,
          ),
        ),
      )
    ).reduce((a, o) => a + o.opened, 0);
    await sleep(1000);
    const cpuBefore = await Promise.all(servers.map((s) => ask<{ cpuUs: number }>(s, 'cpu')));
    const receivedBefore = await Promise.all(ports.map(received));
    const fired = await ask<{ startedAt: number; created: number }>(
      notifier,
      'notify',
      { userIds: users.map((u) => u.id), chunk, concurrency: 6, tag: `i${n}` },
      300_000,
    );
    const delivered = await waitForDelivery(clients, opened);
    const cpuAfter = await Promise.all(servers.map((s) => ask<{ cpuUs: number }>(s, 'cpu')));
    const receivedAfter = await Promise.all(ports.map(received));
    const stats = await Promise.all(clients.map((c) => ask<{ receivedAt: number[] }>(c, 'stats')));
    const last = Math.max(...stats.flatMap((s) => s.receivedAt));
    const row: Row = {
      instances: n,
      streams: opened,
      delivered,
      received: receivedAfter.map((r, i) => r - receivedBefore[i]),
      cpuMs: cpuAfter.map((c, i) => Math.round((c.cpuUs - cpuBefore[i].cpuUs) / 1000)),
      allMs: delivered >= opened && opened > 0 ? last - fired.startedAt : null,
    };
    process.stdout.write(
      `    opened ${opened}, delivered ${delivered}, received ${row.received.join('/')}, CPU ms ${row.cpuMs.join('/')}\n`,
    );
    await Promise.all(clients.map((c) => ask(c, 'close')));
    return row;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

async function received(port: number): Promise<number> {
  return metricSum(await metricsText(port), 'pawmate_notification_messages_received_total');
}
