import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TestContext, bearer, type TestInstance } from '../helpers/context';
import { bulkUsers } from '../../scripts/bench/bulk-users';
import { ask } from '../../scripts/bench/ipc';
import { decodeSentAt, encodeLat } from '../../scripts/bench/live-codec';
import { seedMeetups } from '../../scripts/bench/seed-meetups';
import { GeoIndex, RebuildRunning, haversineMeters } from '../../src/infra/geo';
import { MeetupsRepository } from '../../src/modules/meetups/meetups.repository';
import { MeetupTagIndexes } from '../../src/modules/meetups/meetups.tag-index';
import { reindexMeetupGeo } from '../../src/modules/meetups/meetups.service';

/**
 * The meetups benchmark's parts at toy scale, so a change in the module shows up here rather than
 * as a wall of errors in a long benchmark run: the time codec, the seeded rows as the API and the
 * raw baseline read them, and the live-location load generator against two real instances.
 */
const children: ChildProcess[] = [];
const SEOUL = { lat: 37.5665, lng: 126.978 };

function start(script: string, args: string[]): Promise<{ child: ChildProcess; port?: number }> {
  const child = fork(path.resolve(__dirname, '../../scripts/bench', script), args, {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (msg: { port?: number } | string) =>
      resolve({ child, port: typeof msg === 'object' ? msg.port : undefined }),
    );
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

const ctx = new TestContext();
let a: TestInstance;
let b: TestInstance;

beforeAll(async () => {
  await ctx.setup();
  a = await ctx.instance();
  b = await ctx.instance();
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await ctx.close();
});

describe('live-location time codec', () => {
  it('decodes the exact send time, to 0.1 ms, from any receipt within 1000 s', () => {
    const sent = 1_796_000_123_456.7;
    for (const meetingLat of [SEOUL.lat, -33.8688, 0, 84.9]) {
      const lat = encodeLat(meetingLat, sent);
      // Survives the JSON hops (socket.io, the Redis hash) unchanged.
      const wire = JSON.parse(JSON.stringify({ lat })).lat as number;
      for (const delay of [0, 0.04, 3.3, 250, 999_000])
        expect(decodeSentAt(meetingLat, wire, sent + delay)).toBeCloseTo(sent, 6);
      expect(Math.abs(lat - meetingLat)).toBeLessThan(0.0007);
    }
  });

  it('gives one value for one position, whenever it is decoded, and null for a foreign latitude', () => {
    const lat = encodeLat(SEOUL.lat, 1_796_000_000_000.25);
    const decoded = new Set([1, 2.5, 7.77, 40].map((d) => decodeSentAt(SEOUL.lat, lat, 1_796_000_000_000.25 + d)));
    expect(decoded.size).toBe(1);
    expect(decodeSentAt(SEOUL.lat, SEOUL.lat + 0.01, Date.now())).toBeNull();
    expect(decodeSentAt(SEOUL.lat, SEOUL.lat, Date.now())).toBeNull();
  });
});

/**
 * Runs a rebuild of ours once the instances' own is over: each heals its geo indexes at start, in the
 * background, and on a loaded machine that rebuild can still hold the index when the test's begins
 * ("already running"); ours then waits and goes again.
 */
async function afterTheirHeal<T>(rebuild: () => Promise<T>): Promise<T> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      return await rebuild();
    } catch (err) {
      if (!(err instanceof RebuildRunning) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('seeded meetups', () => {
  it('are found by GET /meetups/nearby after the reindex, and the raw baseline returns the same first page', async () => {
    const hosts = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 5, 'mhost');
    await seedMeetups(
      ctx.config.databaseUrl,
      600,
      hosts.map((h) => h.id),
      SEOUL,
      5,
      () => undefined,
    );
    const geo = new GeoIndex(a.redis, ctx.config.redisPrefix, 'meetups');
    const repo = new MeetupsRepository(a.sequelize);
    await afterTheirHeal(() => reindexMeetupGeo(repo, geo, { batchSize: 250 }));
    expect(await geo.size()).toBe(600);
    // The tags' indexes too, as the bench and `geo:reindex` do: the instances healed them at start, when
    // there were no meetups, and the seed wrote past the outbox.
    await afterTheirHeal(() => new MeetupTagIndexes(a.redis, ctx.config.redisPrefix, repo).rebuild());

    const q = `lat=${SEOUL.lat}&lng=${SEOUL.lng}&radiusKm=3&limit=20`;
    const api = await a.http.get(`/api/v1/meetups/nearby?${q}`).set(bearer(hosts[0].token)).expect(200);
    expect(api.body.items).toHaveLength(20);
    for (const m of api.body.items) expect(haversineMeters(SEOUL, m.location)).toBeLessThan(3001);
    const tagged = await a.http
      .get(`/api/v1/meetups/nearby?${q}&tag=playdate&hasFreePlaces=true&sort=startsAt`)
      .set(bearer(hosts[0].token))
      .expect(200);
    expect(tagged.body.items.length).toBeGreaterThan(0);
    for (const m of tagged.body.items) {
      expect(m.tags).toContain('playdate');
      expect(m.participantCount).toBeLessThan(m.capacity);
      expect(Date.parse(m.startsAt)).toBeGreaterThan(Date.now() + 3600_000);
    }

    // A port of the OS's choosing: a fixed one can collide with an outgoing connection's ephemeral port.
    const { port } = await start('meetup-baseline.ts', ['0', ctx.config.databaseUrl, ctx.config.redisUrl, geo.key]);
    for (const extra of ['', '&sort=startsAt', '&tag=playdate&sort=startsAt']) {
      const apiPage = await a.http.get(`/api/v1/meetups/nearby?${q}${extra}`).set(bearer(hosts[0].token)).expect(200);
      const raw = (await (await fetch(`http://127.0.0.1:${port}/nearby?${q}${extra}`)).json()) as {
        items: { id: number }[];
      };
      expect(raw.items.map((i) => i.id)).toEqual(apiPage.body.items.map((i: { id: number }) => i.id));
    }
    // Under a selective filter the raw COUNT 80 comes up short; its exact form must not.
    const filtered = '&tag=playdate&hasFreePlaces=true';
    const apiPage = await a.http.get(`/api/v1/meetups/nearby?${q}${filtered}`).set(bearer(hosts[0].token)).expect(200);
    expect(apiPage.body.items).toHaveLength(20);
    const rawPage = async (extra: string) =>
      (
        (await (await fetch(`http://127.0.0.1:${port}/nearby?${q}&tag=playdate&free=1${extra}`)).json()) as {
          items: { id: number }[];
        }
      ).items.map((i) => i.id);
    const apiIds = apiPage.body.items.map((i: { id: number }) => i.id);
    expect((await rawPage('')).length).toBeLessThan(20);
    expect(await rawPage('&exact=1')).toEqual(apiIds);
  }, 60_000);
});

describe('live-location load generator', () => {
  it('streams updates across two instances and sees each one once at every other participant', async () => {
    const users = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 6, 'mlive');
    const location = { lat: 37.55, lng: 126.99 };
    const m = await a.http
      .post('/api/v1/meetups')
      .set(bearer(users[0].token))
      .send({
        title: 'Live',
        location,
        address: 'Seoul',
        startsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
        capacity: 6,
      })
      .expect(201);
    for (const u of users.slice(1))
      await a.http.post(`/api/v1/meetups/${m.body.id}/participants`).set(bearer(u.token)).expect(201);

    const { child: gen } = await start('meetup-clients.ts', ['0']);
    const sockets = users.map((u, j) => ({
      url: (j % 2 ? b : a).url,
      token: u.token,
      userId: u.id,
      meetupId: m.body.id,
    }));
    const conn = await ask(gen, 'connect', { sockets, points: { [m.body.id]: location }, concurrency: 3 });
    expect(conn).toMatchObject({ connected: 6, errors: {} });

    const run = await ask<{ sent: number; acked: number; errors: Record<string, number> }>(gen, 'run', {
      startAt: Date.now() + 200,
      durationMs: 3000,
      intervalMs: 2000,
      jitterMs: 100,
      measure: true,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const seen = await ask<{ events: number; deliveries: number; latencies: number[] }>(gen, 'collect');
    expect(run.errors).toEqual({});
    expect(run.acked).toBe(run.sent);
    expect(run.acked).toBeGreaterThanOrEqual(6);
    expect(seen.deliveries).toBe(run.acked * 5);
    expect(seen.latencies).toHaveLength(seen.deliveries);
    for (const ms of seen.latencies) expect(ms).toBeLessThan(5000);
    // Nothing measured after collect: a second collect is empty.
    expect(await ask(gen, 'collect')).toEqual({ events: 0, deliveries: 0, latencies: [] });
    await ask(gen, 'close');
  }, 60_000);
});
