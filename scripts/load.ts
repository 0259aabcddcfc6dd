import { readEnvFileInDevelopment } from '../src/env-file';
/**
 * `npm run load -- [smoke|standard|soak]`: a mixed workload against two Pawmate instances on this
 * machine (loopback only), then the invariants checked in MySQL. Exits non-zero on any 5xx, any
 * connection error, any broken invariant, or (soak) memory that keeps growing.
 */
import { Api, percentile, pool } from './bench/http-client';
import { table } from './bench/run';
import { PROFILES, type Profile } from './load/profiles';
import { freshStores, sample, startServers, stopServers, type LoadEnv, type Sample, type Server } from './load/servers';
import { Stats, runHttp, type Actors } from './load/http';
import { ChatPair, NotificationStream, type ChatUser } from './load/realtime';
import { checkInvariants, waitForOutbox, type Check } from './load/invariants';

const HELP = `Usage: npm run load -- [smoke|standard|soak] [--json]
  smoke      ${describe(PROFILES.smoke)} (CI)
  standard   ${describe(PROFILES.standard)}
  soak       ${describe(PROFILES.soak)}
  --json     also print the figures as one JSON line (for docs/RELIABILITY.md)
Environment: LOAD_DATABASE_URL (default mysql://root@127.0.0.1:3306/pawmate_load; dropped and
recreated), REDIS_URL (default redis://127.0.0.1:6379/0; keys under "load:" are cleared).
`;

function describe(p: Profile): string {
  const http = p.durationSec
    ? `${p.vus} virtual users for ${p.durationSec / 60} min`
    : `${p.vus} virtual users × ${p.requestsPerVu} requests`;
  return `${http}, ${p.chatPairs} chat pairs, ${p.sitters} SSE streams`;
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const mb = (b: number) => (Number.isFinite(b) ? `${Math.round(b / 2 ** 20)} MB` : 'n/a');
const ms = (s: number) => (Number.isFinite(s) ? `${(s * 1000).toFixed(1)} ms` : 'n/a');

async function setupActors(api: Api[], p: Profile, tag: string) {
  const at = (i: number) => api[i % api.length];
  const sitters = await pool(Array.from({ length: p.sitters }), 8, async (_x, i) => {
    const s = await at(i).signup(`sitter${i}`);
    const profile = await at(i).ok(
      'PUT',
      '/api/v1/sitters/me',
      {
        headline: `Load sitter ${i}`,
        bio: 'load',
        services: ['boarding', 'walking'],
        prices: { boarding: 30000 + i * 100, walking: 15000 },
        acceptedSizes: ['small', 'medium'],
        maxPets: 2,
        location: { lat: 37.5 + (i % 10) * 0.01, lng: 126.9 + Math.floor(i / 10) * 0.01 },
        address: 'Seoul',
      },
      s.token,
    );
    return { token: s.token, sitterId: profile.id as number, userId: s.id };
  });
  const owners = await pool(Array.from({ length: p.owners }), 8, async (_x, i) => {
    const o = await at(i).signup(`owner${i}`);
    const pet = await at(i).ok('POST', '/api/v1/pets', { name: `Pet ${i}`, species: 'dog', size: 'small' }, o.token);
    return { token: o.token, petId: pet.id as number };
  });
  const pairs = await pool(Array.from({ length: p.chatPairs }), 8, async (_x, i) => {
    const a = await at(i).signup(`chatA${i}`);
    const b = await at(i + 1).signup(`chatB${i}`);
    const room = await at(i).ok('POST', '/api/v1/chat/rooms', { type: 'direct', userId: b.id }, a.token);
    return {
      a: { token: a.token, userId: a.id } as ChatUser,
      b: { token: b.token, userId: b.id } as ChatUser,
      roomId: room.id as number,
    };
  });
  const actors: Actors = { owners, sitters, tag };
  return { actors, sitters, pairs };
}

/** Soak: memory keeps growing when the last quarter's median RSS is 25% above the second quarter's. */
function memoryGrowth(samples: Sample[]): { grows: boolean; detail: string } {
  if (samples.length < 8) return { grows: false, detail: `${samples.length} samples (too few to judge)` };
  const q = Math.floor(samples.length / 4);
  const median = (xs: number[]) => percentile(xs, 50);
  const second = median(samples.slice(q, 2 * q).map((s) => s.rssBytes));
  const last = median(samples.slice(3 * q).map((s) => s.rssBytes));
  return { grows: last > second * 1.25, detail: `median RSS ${mb(second)} (2nd quarter) → ${mb(last)} (last quarter)` };
}

async function main() {
  if (process.argv.includes('--help')) return void process.stdout.write(HELP);
  readEnvFileInDevelopment();
  const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'smoke';
  const p = PROFILES[name];
  if (!p) {
    process.stderr.write(`load: unknown profile ${name} (smoke, standard, soak)\n`);
    process.exit(2);
  }
  const env: LoadEnv = {
    databaseUrl: process.env.LOAD_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/pawmate_load',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    redisPrefix: 'load:',
  };
  const started = Date.now();
  let servers: Server[] = [];
  // Bounded in time whatever happens: past the profile's limit everything is stopped.
  const hardStop = setTimeout(() => {
    log(`load: ${p.name} exceeded ${p.maxSeconds} s; stopping`);
    for (const s of servers) s.child.kill('SIGKILL');
    process.exit(2);
  }, p.maxSeconds * 1000);
  hardStop.unref();

  log(`load profile ${p.name}: ${describe(p)}`);
  await freshStores(env, log);
  servers = await startServers(env);
  const urls = servers.map((s) => s.url);
  log(`instances: ${urls.join(', ')}`);
  const failures: string[] = [];
  const streams: NotificationStream[] = [];
  const pairs: ChatPair[] = [];
  try {
    const api = urls.map((u) => new Api(u));
    log('setting up sitters, owners and chat pairs');
    const { actors, sitters, pairs: pairSpecs } = await setupActors(api, p, String(started));
    const startSamples = await Promise.all(servers.map(sample));

    // Realtime clients open for the whole run.
    for (const [i, s] of sitters.entries()) {
      const stream = new NotificationStream(s.userId, s.token);
      await stream.open(urls[i % urls.length]);
      streams.push(stream);
    }
    for (const spec of pairSpecs) {
      const pair = new ChatPair(spec.a, spec.b, spec.roomId);
      await pair.open(urls[0], urls[1 % urls.length]);
      pairs.push(pair);
    }

    log('running the mixed workload');
    const stats = new Stats();
    const samples: Sample[][] = servers.map(() => []);
    let peak: Sample[] = startSamples;
    let httpDone = false;
    const sampler = setInterval(() => {
      void Promise.all(servers.map(sample)).then(
        (ss) => {
          ss.forEach((s, i) => samples[i].push(s));
          if (
            ss.reduce((n, s) => n + s.openSockets + s.openStreams, 0) >=
            peak.reduce((n, s) => n + s.openSockets + s.openStreams, 0)
          )
            peak = ss;
        },
        () => undefined,
      );
    }, p.sampleEverySec * 1000);
    const httpStarted = performance.now();
    const http = runHttp(urls, stats, actors, p).then(() => {
      httpDone = true;
    });
    const chat = Promise.all(
      pairs.map((pair, i) =>
        pair.talk(p.chatMessages, p.chatEveryMs, () => httpDone && p.chatMessages === Infinity, `${started}-${i}`),
      ),
    );
    await Promise.all([http, chat]);
    const httpSec = (performance.now() - httpStarted) / 1000;
    clearInterval(sampler);

    const left = await waitForOutbox(env.databaseUrl);
    if (left) failures.push(`${left} outbox rows still pending after 60 s`);
    // Events published for the last rows are in flight to the streams: give them a moment.
    await new Promise((r) => setTimeout(r, 1500));
    const endSamples = await Promise.all(servers.map(sample));
    for (const s of streams) s.close();
    for (const pair of pairs) pair.close();
    const checks: Check[] = await checkInvariants(
      env.databaseUrl,
      pairs.map((x) => x.result),
      streams,
    );
    if (p.durationSec) {
      for (const [i, ss] of samples.entries()) {
        const g = memoryGrowth(ss);
        checks.push({ name: `instance ${i + 1} memory bounded`, ok: !g.grows, detail: g.detail });
      }
    }

    // --- report ---------------------------------------------------------------------------------
    const rows: (string | number)[][] = [];
    const byStatus = new Map<number, number>();
    let total = 0;
    for (const [endpoint, e] of [...stats.endpoints.entries()].sort()) {
      for (const [st, n] of e.statuses) byStatus.set(st, (byStatus.get(st) ?? 0) + n);
      total += e.times.length;
      rows.push([
        endpoint,
        e.times.length,
        Math.round(e.times.length / httpSec),
        percentile(e.times, 50).toFixed(1),
        percentile(e.times, 95).toFixed(1),
        percentile(e.times, 99).toFixed(1),
        [...e.statuses.entries()]
          .sort()
          .map(([s, n]) => `${s}×${n}`)
          .join(' '),
      ]);
    }
    const chatAcks = pairs.flatMap((x) => x.result.ackMs);
    rows.push([
      'socket.io message:send (ack)',
      chatAcks.length,
      Math.round(chatAcks.length / httpSec),
      percentile(chatAcks, 50).toFixed(1),
      percentile(chatAcks, 95).toFixed(1),
      percentile(chatAcks, 99).toFixed(1),
      `${pairs.reduce((n, x) => n + x.result.failures.length, 0)} refused`,
    ]);
    log(
      `\n### ${p.name}: ${total} HTTP requests in ${httpSec.toFixed(1)} s (${Math.round(total / httpSec)} req/s over both instances)\n`,
    );
    log(table(['endpoint', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'statuses'], rows));
    log(
      `\nerrors by status: ${[...byStatus.entries()]
        .sort()
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')}; connection errors ${stats.errors}, timeouts ${stats.timeouts}\n`,
    );
    log(
      table(
        [
          'instance',
          'RSS start → end',
          'heap used start → end',
          'event-loop lag start / peak / end',
          'lag p99 peak',
          'open sockets / streams at peak',
        ],
        servers.map((_s, i) => [
          i + 1,
          `${mb(startSamples[i].rssBytes)} → ${mb(endSamples[i].rssBytes)}`,
          `${mb(startSamples[i].heapUsedBytes)} → ${mb(endSamples[i].heapUsedBytes)}`,
          `${ms(startSamples[i].lagSec)} / ${ms(Math.max(...samples[i].map((s) => s.lagSec), startSamples[i].lagSec))} / ${ms(endSamples[i].lagSec)}`,
          ms(Math.max(...samples[i].map((s) => s.lagP99Sec), 0)),
          `${peak[i].openSockets} / ${peak[i].openStreams}`,
        ]),
      ),
    );
    log('');
    log(
      table(
        ['invariant', 'holds', 'figures'],
        checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail]),
      ),
    );

    const fivexx = [...byStatus.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    if (fivexx) failures.push(`${fivexx} responses with a 5xx status`);
    if (stats.errors || stats.timeouts) failures.push(`${stats.errors} connection errors, ${stats.timeouts} timeouts`);
    for (const c of checks) if (!c.ok) failures.push(`invariant broken: ${c.name} (${c.detail})`);
    const chatFailures = pairs.flatMap((x) => x.result.failures);
    if (chatFailures.length) failures.push(`${chatFailures.length} chat sends refused, e.g. ${chatFailures[0]}`);
    if (process.argv.includes('--json')) {
      log(
        JSON.stringify({
          profile: p.name,
          httpSec,
          total,
          endpoints: rows,
          byStatus: Object.fromEntries(byStatus),
          checks,
          start: startSamples,
          end: endSamples,
          peak,
        }),
      );
    }
  } finally {
    for (const s of streams) s.close();
    for (const pair of pairs) pair.close();
    const codes = await stopServers(servers);
    if (codes.some((c) => c !== 0)) failures.push(`instances exited with ${codes.join(', ')} after SIGTERM`);
  }
  log(
    `\nload ${p.name}: ${failures.length ? `FAILED\n  - ${failures.join('\n  - ')}` : 'passed'} (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  process.exit(failures.length ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`load: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
