import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { forkReady, ratio, table } from './run';
import { cpuSeconds, serverEnv, type BenchEnv } from './foundation';
import { Api, percentile, pool } from './http-client';
import { bulkUsers } from './bulk-users';
import { ask } from './ipc';
import { argValue, exited, measuredEnv, sleep } from './sse';

/**
 * Issue 6: sockets spread over TWO Pawmate instances (pairs always across them), rooms of 2 and of
 * 50, messages/s and send→receive p50/p99, next to plain Socket.io relaying (Redis adapter, no
 * persistence) in the same run. The load generators are separate processes.
 *   npm run bench -- --only chat [--sockets 1000] [--duration 8] [--repeat 3] [--quick] [--scenario pairs]
 * `--repeat N` measures every scenario N times on the same connections (targets: median and spread).
 * `--scenario pairs,pairs-max,groups` runs only those (each still next to the relay): `pairs` alone is
 * the 1000 msg/s latency target, for quick iteration.
 */
/** Sockets per load-generator process (BENCH_SOCKETS_PER_CLIENT overrides, e.g. to test several processes at small scale). */
const SOCKETS_PER_CLIENT = Number(process.env.BENCH_SOCKETS_PER_CLIENT) || 500;
const CONNECT_CONCURRENCY = 25;
const GROUP = 50;
/** Pawmate allows 20 messages / 10 s per socket: phases stay under it and wait out the window in between. */
const RATE_WINDOW_MS = 10_500;
const DELIVERY_GRACE_MS = 2000;
const TARGET_P99_MS = 100;
/** Persisted msg/s at the highest offered load, as a share of the relay's (issue 20). */
const TARGET_RATIO = 0.8;
/**
 * Unacknowledged sends a socket may have; past it a tick is skipped (and counted), as a client that
 * waits for its acks would. Keeps an overloaded server's queue, and its pool waits, bounded.
 */
const MAX_IN_FLIGHT = 2;

interface Phase {
  /** For `--scenario`. */
  key: string;
  name: string;
  /** 0: the socket's room of 2, 1: its room of 50. */
  roomIndex: 0 | 1;
  roomSize: number;
  perSocket: number;
}

const PHASES: Phase[] = [
  { key: 'pairs', name: 'rooms of 2', roomIndex: 0, roomSize: 2, perSocket: 1 },
  // Close to the per-socket limit (2/s): the highest load a well-behaved client population may offer.
  { key: 'pairs-max', name: 'rooms of 2, near the rate limit', roomIndex: 0, roomSize: 2, perSocket: 1.8 },
  { key: 'groups', name: `rooms of ${GROUP}`, roomIndex: 1, roomSize: GROUP, perSocket: 0.2 },
];

/** `--scenario pairs,pairs-max,groups` (default: all): the scenarios to run, each on both systems. */
function scenarios(): Phase[] {
  const given = argValue('scenario');
  if (!given) return PHASES;
  const keys = given.split(',');
  const unknown = keys.filter((k) => !PHASES.some((p) => p.key === k));
  if (unknown.length) throw new Error(`--scenario ${given}: expected some of ${PHASES.map((p) => p.key).join(', ')}`);
  return PHASES.filter((p) => keys.includes(p.key));
}

interface PhaseResult {
  system: string;
  phase: Phase;
  /** 1-based repetition (`--repeat`). */
  run: number;
  sockets: number;
  offered: number;
  sent: number;
  acked: number;
  skipped: number;
  msgPerSec: number;
  deliveries: number;
  expected: number;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  ackP50: number;
  ackP99: number;
  errors: Record<string, number>;
  /**
   * CPU ms of the measured system's two processes per acknowledged message during the phase: unlike
   * msg/s and latency it does not depend on how much of a shared machine they were given.
   */
  cpuMsPerMsg: number | null;
  /** The same for the load generators: what the harness took from the cores the servers share. */
  generatorCpuMsPerMsg: number | null;
  /** Pawmate only: group-commit transactions during the phase, their mean size and commit time. */
  batches?: { count: number; meanSize: number; meanMs: number; phaseMs: Record<string, number> };
}

function repeats(): number {
  const n = Number(argValue('repeat') ?? 1);
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new Error(`--repeat ${argValue('repeat')}: expected 1..10`);
  return n;
}

function socketCount(): number {
  const given = argValue('sockets');
  const n = given ? Number(given) : process.argv.includes('--quick') ? 200 : 1000;
  if (!Number.isInteger(n) || n < GROUP || n % GROUP !== 0)
    throw new Error(`--sockets ${given}: expected a multiple of ${GROUP}`);
  return n;
}

export async function chatBench(env: BenchEnv): Promise<{ markdown: string }> {
  const n = socketCount();
  // Other work on the machine skews every figure: recorded with the table.
  const loadAtStart = os.loadavg()[0];
  const durationMs = env.duration * 1000;
  const base = serverEnv(env, 0);
  process.stdout.write(`  creating ${n} users and logins\n`);
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, n, 'chat');
  const results: PhaseResult[] = [];

  // --- Pawmate: two instances, persisted messages -------------------------------------------------
  const children: ChildProcess[] = [];
  let pairRooms: number[] = [];
  let groupRooms: number[] = [];
  try {
    const ports = [4140, 4141];
    // The port as an (ignored) argument gives each instance its own log file; the preloaded hook ends
    // the instance if this process dies without killing it.
    for (const p of ports)
      children.push(await forkReady('src/server.js', [String(p)], measuredEnv({ ...base, PORT: String(p) })));
    process.stdout.write(
      `  creating ${n / 2} direct rooms (REST) and ${n / GROUP} rooms of ${GROUP} (createRoomInTx)\n`,
    );
    const api = new Api(`http://127.0.0.1:${ports[0]}`);
    pairRooms = await pool(Array.from({ length: n / 2 }), 16, async (_x, k) => {
      const room = await api.ok<{ id: number }>(
        'POST',
        '/api/v1/chat/rooms',
        { type: 'direct', userId: users[2 * k + 1].id },
        users[2 * k].token,
      );
      return room.id;
    });
    const setup = await forkReady('scripts/bench/chat-setup.js', [], { ...base, PORT: '0', DB_POOL_MAX: '2' });
    children.push(setup);
    const groups = Array.from({ length: n / GROUP }, (_x, g) =>
      users.slice(g * GROUP, (g + 1) * GROUP).map((u) => u.id),
    );
    groupRooms = await ask<number[]>(setup, 'postRooms', { groups, firstPostId: 1 }, 300_000);
    setup.kill('SIGTERM');
    const sockets = users.map((u, i) => ({
      // Socket i on instance i % 2: the two members of a direct room are always on different instances.
      url: `http://127.0.0.1:${ports[i % 2]}`,
      token: u.token,
      rooms: [pairRooms[Math.floor(i / 2)], groupRooms[Math.floor(i / GROUP)]],
    }));
    results.push(...(await runSystem('Pawmate (persisted, 2 instances)', sockets, durationMs, children.slice(0, 2))));
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }

  // --- plain Socket.io relay: two processes, same adapter, nothing stored ------------------------
  const relays: ChildProcess[] = [];
  try {
    const ports = [4142, 4143];
    for (const p of ports)
      relays.push(
        await forkReady('scripts/bench/plain-relay.js', [String(p)], {
          ...process.env,
          RELAY_REDIS_URL: env.redisUrl,
          RELAY_PREFIX: 'bench-relay:',
        }),
      );
    const sockets = users.map((_u, i) => ({
      url: `http://127.0.0.1:${ports[i % 2]}`,
      token: null,
      rooms: [pairRooms[Math.floor(i / 2)], groupRooms[Math.floor(i / GROUP)]],
    }));
    results.push(...(await runSystem('plain Socket.io relay (2 processes)', sockets, durationMs, relays)));
  } finally {
    for (const c of relays) c.kill('SIGTERM');
    await Promise.all(relays.map(exited));
  }

  return { markdown: report(results, n, env.duration, loadAtStart) };
}

interface BatchTotals {
  count: number;
  sends: number;
  seconds: number;
  /** Per step of a batch (pawmate_chat_batch_phase_seconds): summed seconds and observations. */
  phases: Record<string, { sum: number; count: number }>;
}

/** Sums of the group-commit histograms over the instances (`/metrics`); null for the relay. */
async function batchTotals(urls: string[]): Promise<BatchTotals | null> {
  const totals: BatchTotals = { count: 0, sends: 0, seconds: 0, phases: {} };
  for (const url of urls) {
    const res = await fetch(`${url}/metrics`).catch(() => null);
    if (!res?.ok) return null;
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    totals.count += value('pawmate_chat_batch_size_count');
    totals.sends += value('pawmate_chat_batch_size_sum');
    totals.seconds += value('pawmate_chat_batch_seconds_sum');
    for (const m of text.matchAll(/^pawmate_chat_batch_phase_seconds_(sum|count)\{phase="(\w+)"\} (\S+)$/gm)) {
      const entry = (totals.phases[m[2]] ??= { sum: 0, count: 0 });
      entry[m[1] as 'sum' | 'count'] += Number(m[3]);
    }
  }
  return Number.isFinite(totals.count) ? totals : null;
}

/** Mean milliseconds per step between two readings. */
function phaseMeans(before: BatchTotals, after: BatchTotals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [phase, a] of Object.entries(after.phases)) {
    const b = before.phases[phase] ?? { sum: 0, count: 0 };
    if (a.count > b.count) out[phase] = ((a.sum - b.sum) / (a.count - b.count)) * 1000;
  }
  return out;
}

async function runSystem(
  system: string,
  sockets: { url: string; token: string | null; rooms: number[] }[],
  durationMs: number,
  servers: ChildProcess[],
): Promise<PhaseResult[]> {
  const cpuOf = (processes: ChildProcess[]) => {
    const each = processes.map(cpuSeconds);
    return each.every((x) => x !== null) ? each.reduce((x, y) => x! + y!, 0)! : null;
  };
  const cpu = () => cpuOf(servers);
  process.stdout.write(`  ${system}: connecting ${sockets.length} sockets\n`);
  const clients: ChildProcess[] = [];
  try {
    for (let i = 0; i * SOCKETS_PER_CLIENT < sockets.length; i++)
      clients.push(await forkReady('scripts/bench/chat-clients.js', [String(i)]));
    const conns = await Promise.all(
      clients.map((c, i) =>
        ask<{ connected: number; ms: number; errors: Record<string, number> }>(
          c,
          'connect',
          {
            sockets: sockets.slice(i * SOCKETS_PER_CLIENT, (i + 1) * SOCKETS_PER_CLIENT),
            concurrency: CONNECT_CONCURRENCY,
          },
          300_000,
        ),
      ),
    );
    const connected = conns.reduce((a, c) => a + c.connected, 0);
    const connErrors = merge(conns.map((c) => c.errors));
    process.stdout.write(
      `    connected and joined ${connected}/${sockets.length} in ${Math.max(...conns.map((c) => c.ms))} ms${Object.keys(connErrors).length ? ` ${JSON.stringify(connErrors)}` : ''}\n`,
    );
    if (connected < sockets.length)
      throw new Error(
        `${system}: only ${connected} of ${sockets.length} sockets connected: ${JSON.stringify(connErrors)}`,
      );

    // Warm-up (JIT, connection pools, the adapter's subscriptions), not measured: two messages per socket.
    await Promise.all(clients.map((c) => ask(c, 'run', { durationMs: 2000, perSocket: 1, roomIndex: 0 }, 60_000)));
    await sleep(DELIVERY_GRACE_MS);
    await Promise.all(clients.map((c) => ask(c, 'collect')));

    const out: PhaseResult[] = [];
    for (let run = 1; run <= repeats(); run++)
      for (const phase of scenarios()) {
        await sleep(RATE_WINDOW_MS);
        const urls = [...new Set(sockets.map((x) => x.url))];
        const before = sockets[0].token ? await batchTotals(urls) : null;
        const cpuBefore = cpu();
        const generatorsBefore = cpuOf(clients);
        const runs = await Promise.all(
          clients.map((c) =>
            ask<{
              sent: number;
              acked: number;
              skipped: number;
              firstSend: number;
              lastAck: number;
              ackMs: number[];
              errors: Record<string, number>;
            }>(
              c,
              'run',
              { durationMs, perSocket: phase.perSocket, roomIndex: phase.roomIndex, maxInFlight: MAX_IN_FLIGHT },
              durationMs + 60_000,
            ),
          ),
        );
        await sleep(DELIVERY_GRACE_MS);
        const seen = await Promise.all(
          clients.map((c) => ask<{ received: number; latencies: number[] }>(c, 'collect')),
        );
        const cpuAfter = cpu();
        const generatorsAfter = cpuOf(clients);
        const after = before ? await batchTotals(urls) : null;
        const batchCount = after && before ? after.count - before.count : 0;
        const acked = runs.reduce((a, r) => a + r.acked, 0);
        const windowMs = Math.max(...runs.map((r) => r.lastAck)) - Math.min(...runs.map((r) => r.firstSend));
        const latencies = seen.flatMap((s) => s.latencies);
        const ackMs = runs.flatMap((r) => r.ackMs);
        const deliveries = seen.reduce((a, s) => a + s.received, 0);
        const r: PhaseResult = {
          system,
          phase,
          run,
          sockets: sockets.length,
          offered: Math.round(sockets.length * phase.perSocket),
          sent: runs.reduce((a, x) => a + x.sent, 0),
          acked,
          skipped: runs.reduce((a, x) => a + x.skipped, 0),
          msgPerSec: windowMs > 0 ? Math.round((acked / windowMs) * 1000) : 0,
          deliveries,
          expected: acked * (phase.roomSize - 1),
          deliveriesPerSec: windowMs > 0 ? Math.round((deliveries / windowMs) * 1000) : 0,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          ackP50: percentile(ackMs, 50),
          ackP99: percentile(ackMs, 99),
          errors: merge(runs.map((x) => x.errors)),
          cpuMsPerMsg:
            cpuBefore !== null && cpuAfter !== null && acked > 0 ? ((cpuAfter - cpuBefore) * 1000) / acked : null,
          generatorCpuMsPerMsg:
            generatorsBefore !== null && generatorsAfter !== null && acked > 0
              ? ((generatorsAfter - generatorsBefore) * 1000) / acked
              : null,
          ...(after && before && batchCount > 0
            ? {
                batches: {
                  count: batchCount,
                  meanSize: (after.sends - before.sends) / batchCount,
                  meanMs: ((after.seconds - before.seconds) / batchCount) * 1000,
                  phaseMs: phaseMeans(before, after),
                },
              }
            : {}),
        };
        process.stdout.write(
          `    ${repeats() > 1 ? `run ${run} ` : ''}${phase.name}: ${r.msgPerSec} msg/s (offered ${r.offered}), ${r.deliveries}/${r.expected} delivered, p50 ${r.p50} ms, p99 ${r.p99} ms` +
            `${r.cpuMsPerMsg !== null ? `, ${r.cpuMsPerMsg.toFixed(2)} CPU ms/msg` : ''}` +
            `${r.generatorCpuMsPerMsg !== null ? ` (load generators ${r.generatorCpuMsPerMsg.toFixed(2)})` : ''}${r.skipped ? `, ${r.skipped} skipped` : ''}${Object.keys(r.errors).length ? ` ${JSON.stringify(r.errors)}` : ''}` +
            `${r.batches ? `; ${r.batches.count} batches, ${r.batches.meanSize.toFixed(1)} sends and ${r.batches.meanMs.toFixed(1)} ms each (${phaseText(r.batches.phaseMs)})` : ''}\n`,
        );
        out.push(r);
      }
    await Promise.all(clients.map((c) => ask(c, 'close')));
    return out;
  } finally {
    for (const c of clients) c.kill('SIGTERM');
    await Promise.all(clients.map(exited));
  }
}

function report(results: PhaseResult[], n: number, durationSec: number, loadAtStart: number): string {
  const relayOf = (r: PhaseResult) =>
    results.find((x) => x.system.startsWith('plain') && x.phase === r.phase && x.run === r.run);
  const many = results.some((r) => r.run > 1);
  const rows = results.map((r) => {
    const relay = relayOf(r);
    const problems = [
      r.skipped ? `${r.skipped} sends skipped (${MAX_IN_FLIGHT} unacked)` : '',
      ...Object.entries(r.errors).map(([k, v]) => `${v} × ${k}`),
      r.deliveries < r.expected ? `${r.expected - r.deliveries} not delivered` : '',
    ].filter(Boolean);
    return [
      r.system,
      many ? `${r.phase.name} (run ${r.run})` : r.phase.name,
      r.offered,
      r.msgPerSec,
      r.system.startsWith('plain') || !relay ? '1.00 (baseline)' : `${ratio(r.msgPerSec, relay.msgPerSec)} × relay`,
      r.deliveriesPerSec,
      `${r.deliveries}/${r.expected}`,
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      r.ackP50.toFixed(1),
      r.ackP99.toFixed(1),
      r.cpuMsPerMsg !== null ? r.cpuMsPerMsg.toFixed(2) : '—',
      problems.join(', ') || '—',
    ];
  });
  const lines = [
    table(
      [
        'system',
        'scenario',
        'offered msg/s',
        'msg/s',
        'throughput ratio',
        'deliveries/s',
        'delivered',
        'send→receive p50 ms',
        'p99 ms',
        'ack p50 ms',
        'ack p99 ms',
        'server CPU ms/msg',
        'problems',
      ],
      rows,
    ),
    '',
  ];
  const median = (xs: number[]) => percentile(xs, 50);
  const pm = (name: string) => results.filter((x) => x.system.startsWith('Pawmate') && x.phase.name === name);
  const spread = (xs: number[], digits: number) =>
    xs.length > 1
      ? `median ${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)} over ${xs.length} runs)`
      : xs[0].toFixed(digits);
  const kept = (r: PhaseResult) => r.deliveries >= r.expected && !r.skipped && !Object.keys(r.errors).length;
  const two = pm(PHASES[0].name);
  if (two.length) {
    const p99s = two.map((r) => r.p99);
    lines.push(
      `- Rooms of 2 at ${two[0].offered} msg/s offered${n === 1000 ? ' (the 1000 msg/s target)' : ` (${n} sockets; the target is for 1000)`}: ` +
        `p99 ${spread(p99s, 1)} ms at ${spread(
          two.map((r) => r.msgPerSec),
          0,
        )} msg/s achieved, target < ${TARGET_P99_MS} ms with the offered rate kept ` +
        `${median(p99s) < TARGET_P99_MS && two.every(kept) ? '✔' : '✘'}.`,
    );
  }
  const top = pm(PHASES[1].name).filter((r) => relayOf(r));
  if (top.length) {
    const ratios = top.map((r) => (relayOf(r)!.msgPerSec > 0 ? r.msgPerSec / relayOf(r)!.msgPerSec : 0));
    lines.push(
      `- Persisted throughput at the highest offered load: ${spread(
        top.map((r) => r.msgPerSec),
        0,
      )} msg/s vs ${spread(
        top.map((r) => relayOf(r)!.msgPerSec),
        0,
      )} for the relay = ${spread(ratios, 2)}, target ≥ ${TARGET_RATIO} ${median(ratios) >= TARGET_RATIO ? '✔' : '✘'}. ` +
        'Both are bounded by the offered load (the per-socket limit is 20 messages / 10 s), so a ratio near 1 means Pawmate kept up.',
    );
  }
  const batched = results.filter((r) => r.batches);
  if (batched.length) {
    lines.push(
      `- Group commit (from each instance's /metrics): ${batched
        .map(
          (r) =>
            `${r.phase.name}${many ? ` (run ${r.run})` : ''}: ${r.batches!.count} transactions of ${r.batches!.meanSize.toFixed(1)} sends, ${r.batches!.meanMs.toFixed(1)} ms each (mean ms per step: ${phaseText(r.batches!.phaseMs)})`,
        )
        .join('; ')}.`,
    );
  }
  lines.push(
    `- ${n} sockets (WebSocket transport) spread over two instances, socket i on instance i mod 2; ${durationSec} s of sending per scenario, ` +
      `each socket at a fixed rate with a random phase and at most ${MAX_IN_FLIGHT} unacknowledged sends (a tick with more is skipped and counted). "msg/s" counts acknowledged sends over the time from ` +
      `the first send to the last ack; send→receive is measured at every other member of the room, the send time travelling in the body. ` +
      `Pawmate: JWT handshake, joi-validated acknowledged events, messages group-committed in MySQL (one transaction per batch of ` +
      `sends, each room locked once per batch) before the ack and the broadcast (published once per batch on the bus, with an ` +
      `outbox row as its fallback), presence in Redis. The relay: the same events and Redis adapter with nothing stored or checked. Load generators: ` +
      `${SOCKETS_PER_CLIENT} sockets per process. Load average at the start: ${loadAtStart.toFixed(1)} (${os.cpus().length} cores).`,
  );
  return lines.join('\n');
}

/** Mean ms per batch step, e.g. "queue 1.2, begin 0.4, …" (queue is per send). */
function phaseText(ms: Record<string, number>): string {
  return Object.entries(ms)
    .map(([phase, v]) => `${phase} ${v.toFixed(1)}`)
    .join(', ');
}

function merge(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of all) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
