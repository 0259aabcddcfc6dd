import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { MeetupsRepository } from '../../src/modules/meetups/meetups.repository';
import { MeetupTagIndexes } from '../../src/modules/meetups/meetups.tag-index';
import { reindexMeetupGeo } from '../../src/modules/meetups/meetups.service';
import { MAX_CAPACITY } from '../../src/modules/meetups/meetups.schemas';
import { LIVE_MIN_INTERVAL_MS } from '../../src/modules/meetups/meetups.live';
import { forkReady, load, median, ratio, spread, table, type LoadResult } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { Api, percentile, pool } from './http-client';
import { bulkUsers, type BenchUser } from './bulk-users';
import { ask } from './ipc';
import { argValue, exited, sleep } from './sse';
import { seedMeetups } from './seed-meetups';
import { positiveInt, rebuildGeoIndex } from './geo-seed';

/**
 * Issue 8: GET /meetups/nearby over 50k upcoming meetups around Seoul (3 and 10 km, with and without
 * filters, both sorts) next to raw GEOSEARCH + one MySQL IN query in the same run; then live location:
 * 500 participants in 5 meetups of 100 streaming `location:update` every 2 s over two instances, with
 * the send → `location:nearby` latency at every other participant.
 *   npm run bench -- --only meetups [--quick] [--meetups 50000] [--participants 500] [--duration 8] [--part nearby|live]
 *     [--radii 3,10] [--sorts distance,startsAt] [--runs 1]
 * --duration is autocannon's seconds per row; the live phase streams for 20 s unless it is given. --radii
 * and --sorts pick nearby rows; --runs repeats each (API then raw each time; median and spread).
 */
const SEOUL = { lat: 37.5665, lng: 126.978 };
const SEED_RADIUS_KM = 15;
const PAGE = 20;
const LIVE_MEETUPS = 5;
/** Extra delay added to every 2 s interval: the server's limit is 1 update / 2 s, measured at its clock. */
const JITTER_MS = 250;
const WARMUP_MS = 4000;
const DELIVERY_GRACE_MS = 2500;
const CONNECT_CONCURRENCY = 25;
const JOIN_CONCURRENCY = 8;
const PORTS = { api: 4170, raw: 4171, live: [4172, 4173] };

const FILTERS: { label: string; api: string; raw: string }[] = [
  { label: '—', api: '', raw: '' },
  { label: 'tag=playdate', api: '&tag=playdate', raw: '&tag=playdate' },
  { label: 'tag=playdate, hasFreePlaces', api: '&tag=playdate&hasFreePlaces=true', raw: '&tag=playdate&free=1' },
];

export async function meetupsBench(env: BenchEnv): Promise<{ markdown: string }> {
  const quick = process.argv.includes('--quick');
  const meetups = positiveInt('meetups', quick ? 5000 : 50_000);
  const participants = positiveInt('participants', quick ? 100 : 500);
  const perMeetup = participants / LIVE_MEETUPS;
  if (!Number.isInteger(perMeetup) || perMeetup < 2 || perMeetup > MAX_CAPACITY) {
    throw new Error(`--participants ${participants}: expected ${LIVE_MEETUPS} × 2…${MAX_CAPACITY}`);
  }
  const liveSec = argValue('duration') ? env.duration : 20;
  const part = argValue('part') ?? 'all';
  if (!['all', 'nearby', 'live'].includes(part)) throw new Error(`--part ${part}: expected nearby, live or all`);
  // One env for every instance: it carries the JWT secret the bulk tokens are signed with.
  const base = serverEnv(env, 0);
  const sections: string[] = [];
  if (part !== 'live') sections.push(await nearbyBench(env, base, meetups));
  if (part !== 'nearby') sections.push(await liveBench(env, base, perMeetup, liveSec));
  return { markdown: sections.join('\n\n') };
}

// --- nearby search --------------------------------------------------------------------------------

async function nearbyBench(env: BenchEnv, base: NodeJS.ProcessEnv, count: number): Promise<string> {
  const hosts = await bulkUsers(
    env.databaseUrl,
    base.JWT_SECRET!,
    Math.min(300, Math.max(10, Math.ceil(count / 150))),
    'mhost',
  );
  process.stdout.write(`  seeding ${count} meetups (${hosts.length} hosts)\n`);
  await seedMeetups(
    env.databaseUrl,
    count,
    hosts.map((h) => h.id),
    SEOUL,
    SEED_RADIUS_KM,
  );

  const geoKey = await rebuildGeoIndex(env, 'meetups', async (sequelize, geo, options) => {
    const repo = new MeetupsRepository(sequelize);
    const done = await reindexMeetupGeo(repo, geo, options);
    // The tags' indexes too, from this run's rows: versions left by an earlier run would keep rows out.
    const tags = new MeetupTagIndexes(geo.redis, env.redisPrefix, repo);
    for (const g of tags.all()) await geo.redis.del(g.key, g.versionsKey, g.markerKey);
    await geo.redis.del(tags.readyKey);
    const tagged = await tags.rebuild();
    process.stdout.write(`  tag indexes rebuilt (${tagged.count} entries)\n`);
    return done;
  });

  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [String(PORTS.api)], { ...base, PORT: String(PORTS.api) }));
    children.push(
      await forkReady('scripts/bench/meetup-baseline.js', [String(PORTS.raw), env.databaseUrl, env.redisUrl, geoKey]),
    );
    const token = hosts[0].token;
    const headers = { authorization: `Bearer ${token}` };
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const at = `lat=${SEOUL.lat}&lng=${SEOUL.lng}`;
    const rows: (string | number)[][] = [];
    const radii = (argValue('radii') ?? '3,10').split(',').map(Number);
    const sorts = (argValue('sorts') ?? 'distance,startsAt').split(',');
    const runs = positiveInt('runs', 1);
    for (const km of radii) {
      for (const f of FILTERS) {
        for (const sort of sorts) {
          const label = `${km} km, ${f.label === '—' ? 'no filter' : f.label}, sort=${sort}`;
          const apiUrl = `http://127.0.0.1:${PORTS.api}/api/v1/meetups/nearby?${at}&radiusKm=${km}&limit=${PAGE}&sort=${sort}${f.api}`;
          const rawUrl = `http://127.0.0.1:${PORTS.raw}/nearby?${at}&radiusKm=${km}&sort=${sort}${f.raw}`;
          const same = await samePage(apiUrl, rawUrl, headers);
          // The raw query comes up short under a selective filter: its exact form is the fair baseline.
          const exactUrl = sort === 'distance' ? `${rawUrl}&exact=1` : null;
          const sameExact = exactUrl ? await samePage(apiUrl, exactUrl, headers) : '—';
          const apis: LoadResult[] = [];
          const raws: LoadResult[] = [];
          const exacts: LoadResult[] = [];
          for (let i = 0; i < runs; i++) {
            apis.push(await run(`API ${label}`, apiUrl, { ...opts, headers }));
            raws.push(await run(`raw ${label}`, rawUrl, opts));
            if (exactUrl) exacts.push(await run(`raw-exact ${label}`, exactUrl, opts));
          }
          const failures = [...apis, ...raws, ...exacts]
            .filter((r) => r.non2xx || r.errors)
            .map((r) => `${r.name.split(' ')[0]}: ${r.non2xx} non-2xx, ${r.errors} errors`);
          const mid = (rs: LoadResult[], k: 'rps' | 'p50' | 'p99') => median(rs.map((r) => r[k]));
          const ratios = (base: LoadResult[]) => {
            if (!base.length) return '—';
            const rs = apis.map((a, i) => Number(ratio(a.rps, base[i].rps)));
            return runs > 1 ? `${median(rs).toFixed(2)} (${spread(rs)})` : rs[0].toFixed(2);
          };
          const rps = (rs: LoadResult[]) =>
            !rs.length ? '—' : runs > 1 ? `${mid(rs, 'rps')} (${spread(rs.map((r) => r.rps))})` : mid(rs, 'rps');
          rows.push([
            `${km} km`,
            f.label,
            sort,
            rps(apis),
            mid(apis, 'p50'),
            mid(apis, 'p99'),
            rps(raws),
            mid(raws, 'p99'),
            ratios(raws),
            same,
            rps(exacts),
            exacts.length ? mid(exacts, 'p99') : '—',
            ratios(exacts),
            sameExact,
            [...new Set(failures)].join('; ') || '—',
          ]);
        }
      }
    }
    return (
      `### Nearby search\n\n${count} scheduled meetups starting 2 h – 14 days from now, uniformly within ${SEED_RADIUS_KM} km of Seoul City Hall; ` +
      `1–3 of the 8 vocabulary tags each (tag=playdate matches about a quarter), about a third full. ` +
      `Page size ${PAGE}, one authenticated user; ${opts.connections} connections` +
      (runs > 1
        ? `; ${runs} runs per row, each API run followed by its raw run (median, spread of req/s and of the ratio)`
        : '') +
      `. The raw baseline is one GEOSEARCH ` +
      `(COUNT ${4 * PAGE} for distance, the whole circle for startsAt) and one MySQL IN query with the same filters and host join, ` +
      `no validation, auth or paging exactness. "same page" compares the first page's ids (a filtered raw page may come up short). ` +
      `"raw exact" (sort=distance) is the same query made exact the naive way: while the page is short, GEOSEARCH again with ` +
      `twice the COUNT and send MySQL the new candidates only.\n\n` +
      table(
        [
          'radius',
          'filter',
          'sort',
          'API req/s',
          'API p50 ms',
          'API p99 ms',
          'raw req/s',
          'raw p99 ms',
          'API / raw',
          'same page',
          'raw exact req/s',
          'raw exact p99 ms',
          'API / raw exact',
          'same page (exact)',
          'errors',
        ],
        rows,
      )
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

/** Checks both answer 200 with items, and whether their first pages hold the same ids. */
async function samePage(apiUrl: string, rawUrl: string, headers: Record<string, string>): Promise<string> {
  const [a, r] = await Promise.all([fetch(apiUrl, { headers }), fetch(rawUrl)]);
  if (a.status !== 200 || r.status !== 200)
    throw new Error(`nearby probe: API ${a.status} ${await a.text()}, raw ${r.status}`);
  const ids = async (res: Response) => ((await res.json()) as { items: { id: number }[] }).items.map((i) => i.id);
  const [x, y] = await Promise.all([ids(a), ids(r)]);
  if (!x.length) throw new Error(`nearby probe: the API found nothing at ${apiUrl}`);
  if (x.join() === y.join()) return `yes (${x.length})`;
  return y.length < x.length && x.slice(0, y.length).join() === y.join() ? `raw short (${y.length}/${x.length})` : 'NO';
}

async function run(
  name: string,
  url: string,
  opts: { duration: number; connections: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const r = await load(name, url, opts);
  // Not fatal: one row timing out (10 km by start time is the heavy one) must not cost the lead the
  // rest of a long run; the table shows it instead.
  process.stdout.write(
    `  ${name}: ${r.rps} req/s, p99 ${r.p99} ms${r.non2xx || r.errors ? ` (${r.non2xx} non-2xx, ${r.errors} errors/timeouts)` : ''}\n`,
  );
  return r;
}

// --- live location --------------------------------------------------------------------------------

interface RunResult {
  sent: number;
  acked: number;
  lastAck: number;
  ackMs: number[];
  cpuPct: number;
  errors: Record<string, number>;
}

interface Seen {
  events: number;
  deliveries: number;
  latencies: number[];
}

async function liveBench(env: BenchEnv, base: NodeJS.ProcessEnv, perMeetup: number, seconds: number): Promise<string> {
  const n = perMeetup * LIVE_MEETUPS;
  const loadAtStart = os.loadavg()[0];
  process.stdout.write(
    `  live location: ${n} participants (${LIVE_MEETUPS} × ${perMeetup}) over two instances, ${seconds} s\n`,
  );
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, n, 'mlive');
  const children: ChildProcess[] = [];
  const clients: ChildProcess[] = [];
  try {
    for (const p of PORTS.live)
      children.push(await forkReady('src/server.js', [String(p)], { ...base, PORT: String(p) }));
    const { meetupIds, points } = await createLiveMeetups(
      new Api(`http://127.0.0.1:${PORTS.live[0]}`),
      users,
      perMeetup,
    );

    // Participant j on instance j mod 2, so every meetup spans both; each generator holds half of
    // each meetup, on both instances.
    const specs = users.map((u, j) => ({
      url: `http://127.0.0.1:${PORTS.live[j % 2]}`,
      token: u.token,
      userId: u.id,
      meetupId: meetupIds[Math.floor(j / perMeetup)],
    }));
    for (const k of [0, 1]) clients.push(await forkReady('scripts/bench/meetup-clients.js', [String(k)]));
    const conns = await Promise.all(
      clients.map((c, k) =>
        ask<{ connected: number; ms: number; errors: Record<string, number> }>(
          c,
          'connect',
          { sockets: specs.filter((_s, j) => Math.floor(j / 2) % 2 === k), points, concurrency: CONNECT_CONCURRENCY },
          300_000,
        ),
      ),
    );
    const connected = conns.reduce((a, c) => a + c.connected, 0);
    const connErrors = merge(conns.map((c) => c.errors));
    process.stdout.write(
      `    connected ${connected}/${n} sockets in ${Math.max(...conns.map((c) => c.ms))} ms${Object.keys(connErrors).length ? ` ${JSON.stringify(connErrors)}` : ''}\n`,
    );
    if (connected < n)
      throw new Error(`live: only ${connected} of ${n} sockets connected: ${JSON.stringify(connErrors)}`);

    const phase = async (durationMs: number, measure: boolean) => {
      // A shared start, so both generators send (and measure) over the same window.
      const startAt = Date.now() + 500;
      const cpu0 = children.map(cpuSeconds);
      const runs = await Promise.all(
        clients.map((c) =>
          ask<RunResult>(
            c,
            'run',
            { startAt, durationMs, intervalMs: LIVE_MIN_INTERVAL_MS, jitterMs: JITTER_MS, measure },
            durationMs + 60_000,
          ),
        ),
      );
      // Over the sending window only (from the shared start to the last ack), as the generators do.
      const wallSec = (Date.now() - startAt) / 1000;
      const serverCpu = children.map((c, i) => Math.round(((cpuSeconds(c) - cpu0[i]) / wallSec) * 100));
      await sleep(DELIVERY_GRACE_MS);
      const seen = await Promise.all(clients.map((c) => ask<Seen>(c, 'collect')));
      return { runs, seen, serverCpu };
    };
    // Warm-up (JIT, pools, the adapter), not measured; the grace after it outlasts the 2 s limit.
    await phase(WARMUP_MS, false);

    const handler0 = await handlerTime();
    const { runs, seen, serverCpu } = await phase(seconds * 1000, true);
    const handler1 = await handlerTime();
    const handlerMeanMs =
      handler1.count > handler0.count ? ((handler1.sum - handler0.sum) / (handler1.count - handler0.count)) * 1000 : 0;

    const sent = sum(runs.map((r) => r.sent));
    const acked = sum(runs.map((r) => r.acked));
    const errors = merge(runs.map((r) => r.errors));
    const events = sum(seen.map((s) => s.events));
    const deliveries = sum(seen.map((s) => s.deliveries));
    const expected = acked * (perMeetup - 1);
    const latencies = seen.flatMap((s) => s.latencies);
    const ackMs = runs.flatMap((r) => r.ackMs);
    const offered = n / ((LIVE_MIN_INTERVAL_MS + JITTER_MS / 2) / 1000);
    const failed =
      Object.entries(errors)
        .map(([k, v]) => `${v} × ${k}`)
        .join(', ') || '—';
    process.stdout.write(
      `    ${acked}/${sent} updates acked, ${deliveries}/${expected} positions delivered, fan-out p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, failed: ${failed}\n`,
    );
    await Promise.all(clients.map((c) => ask(c, 'close')));
    const problems = [
      failed === '—' ? '' : failed,
      deliveries < expected ? `${expected - deliveries} not delivered` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return (
      `### Live location\n\n` +
      table(
        [
          'participants',
          'offered updates/s',
          'updates/s acked',
          'location:nearby events/s',
          'positions delivered',
          'fan-out p50 ms',
          'fan-out p99 ms',
          'ack p50 ms',
          'ack p99 ms',
          'server handler mean ms',
          'failed acks / problems',
          'server CPU %',
          'generator CPU %',
        ],
        [
          [
            `${n} (${LIVE_MEETUPS} × ${perMeetup})`,
            Math.round(offered),
            Math.round(acked / seconds),
            Math.round(events / seconds),
            `${deliveries}/${expected}`,
            percentile(latencies, 50).toFixed(1),
            percentile(latencies, 99).toFixed(1),
            percentile(ackMs, 50).toFixed(1),
            percentile(ackMs, 99).toFixed(1),
            handlerMeanMs.toFixed(1),
            problems || '—',
            serverCpu.join(' + '),
            runs.map((r) => r.cpuPct).join(' + '),
          ],
        ],
      ) +
      `\n\n- ${LIVE_MEETUPS} meetups of ${perMeetup} (created and joined through the API, starting in 10 min so sharing is open), ` +
      `participant j on instance j mod 2 (WebSocket transport), two load-generator processes. Each participant sends ` +
      `\`location:update\` ${LIVE_MIN_INTERVAL_MS / 1000} s + 0–${JITTER_MS} ms after its previous one was acknowledged (the server allows one per 2 s; offered = that rate with instant acks), with a random phase, for ${seconds} s after a ` +
      `${WARMUP_MS / 1000} s warm-up. Every update is broadcast as a snapshot of the meetup's positions to the other ${perMeetup - 1} participants; ` +
      `fan-out latency is send → first snapshot holding that position, at every other participant (the send time travels in the latitude's low digits). ` +
      `"events/s" counts every \`location:nearby\` received. "server handler" is the instances' own ack-duration metric ` +
      `(receipt → ack sent, mean over both); the rest of the ack time is transport and waiting for a core. CPU % is per process (100 = one core). ` +
      `Load average at the start: ${loadAtStart.toFixed(1)} (${os.cpus().length} cores).`
    );
  } finally {
    for (const c of [...clients, ...children]) c.kill('SIGTERM');
    await Promise.all([...clients, ...children].map(exited));
  }
}

/** Both instances' location:update ack-duration histogram totals (seconds, count), from GET /metrics. */
async function handlerTime(): Promise<{ sum: number; count: number }> {
  const out = { sum: 0, count: 0 };
  for (const port of PORTS.live) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = (suffix: string) =>
      Number(
        new RegExp(`^pawmate_socket_ack_duration_seconds_${suffix}\\{event="location:update"\\} (\\S+)$`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    out.sum += read('sum');
    out.count += read('count');
  }
  return out;
}

/** Meetups starting in 10 min at distinct points in Seoul, each hosted by its first user and joined by the rest. */
async function createLiveMeetups(api: Api, users: BenchUser[], perMeetup: number) {
  const meetupIds: number[] = [];
  const points: Record<number, { lat: number; lng: number }> = {};
  for (let m = 0; m < LIVE_MEETUPS; m++) {
    const location = { lat: SEOUL.lat + 0.01 * m, lng: SEOUL.lng - 0.01 * m };
    const created = await api.ok<{ id: number }>(
      'POST',
      '/api/v1/meetups',
      {
        title: `Live bench ${m}`,
        location,
        address: 'Seoul',
        startsAt: new Date(Date.now() + 10 * 60 * 1000).toISOString(),
        capacity: perMeetup,
        tags: ['walk'],
      },
      users[m * perMeetup].token,
    );
    meetupIds.push(created.id);
    points[created.id] = location;
  }
  const guests = users.flatMap((u, j) =>
    j % perMeetup === 0 ? [] : [{ u, meetupId: meetupIds[Math.floor(j / perMeetup)] }],
  );
  const started = Date.now();
  await pool(guests, JOIN_CONCURRENCY, ({ u, meetupId }) =>
    api.ok('POST', `/api/v1/meetups/${meetupId}/participants`, undefined, u.token),
  );
  process.stdout.write(`    ${LIVE_MEETUPS} meetups created, ${guests.length} joins in ${Date.now() - started} ms\n`);
  return { meetupIds, points };
}

/** User + system CPU seconds of a child so far (Linux /proc; 0 elsewhere, shown as such). */
function cpuSeconds(child: ChildProcess): number {
  try {
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the file (11 and 12 counting from the state, field 3), in
    // clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function merge(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of all) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
