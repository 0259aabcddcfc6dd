import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../helpers/context';
import { PrivateRedis, eventually } from '../helpers/faults';
import { HalfCloseProxy } from './proxy';
import { makeMeetup, makeOwner, makeSitter, openDirectRoom } from '../helpers/fixtures';
import { checkAnswer, raw } from '../abuse/raw';
import { SseClient } from './sse-client';
import { connectSocket, joinedSocket, next } from '../helpers/socket';
import type { Socket as ClientSocket } from 'socket.io-client';

/**
 * Backing services going away under a running instance (issue 9 "Faults"). Redis is cut through a
 * proxy (an outage that keeps its data, like a network partition or a restart with AOF) or is a
 * private server restarted empty; MariaDB is cut through a proxy. Never the shared servers.
 */

let ctx: TestContext;
let shared: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  shared = await ctx.instance();
}, 60_000);
afterAll(() => ctx.close());

const SEARCH = '/api/v1/sitters/search?lat=37.5563&lng=126.9236&radiusKm=5';
const nearbyIds = async (inst: TestInstance, token: string): Promise<number[]> => {
  const res = await inst.http
    .get('/api/v1/meetups/nearby?lat=37.5563&lng=126.9236&radiusKm=5&limit=100')
    .set(bearer(token));
  return (res.body.items ?? []).map((m: { id: number }) => m.id);
};
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

async function counts(inst: TestInstance) {
  const [row] = await inst.sequelize.query<Record<string, number>>(
    'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM pets) AS pets, (SELECT COUNT(*) FROM reservations) AS reservations, (SELECT COUNT(*) FROM chat_messages) AS messages, (SELECT COUNT(*) FROM notifications) AS notifications',
    { type: QueryTypes.SELECT },
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/** Asserts a 503 UNAVAILABLE problem with Retry-After, answered within 5 s. */
async function expect503(inst: TestInstance, method: string, path: string, token?: string, body?: unknown) {
  const reply = await raw(inst.url, {
    method,
    path,
    headers: { ...(token ? bearer(token) : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    timeoutMs: 5000,
  });
  expect(checkAnswer(reply, `${method} ${path}`, { allow503: true })).toBeNull();
  expect({ path, status: reply.status, code: reply.json?.code }).toEqual({ path, status: 503, code: 'UNAVAILABLE' });
  expect(reply.headers['retry-after']).toBeDefined();
  return reply;
}

describe('Redis unreachable for a few seconds (data kept)', () => {
  it('answers 503 fast, writes nothing, and recovers streams and search without a restart', async () => {
    const proxy = new HalfCloseProxy('127.0.0.1', 6379);
    await proxy.start();
    const redisUrl = `redis://127.0.0.1:${proxy.port}/0`;
    const inst = await ctx.instance({ redisUrl });
    try {
      const { user: sitterUser, sitter } = await makeSitter(inst);
      const { owner, pet } = await makeOwner(inst);
      await eventually(
        async () => (await inst.http.get(SEARCH)).body.items?.some((s: { id: number }) => s.id === sitter.id),
        10_000,
        'sitter indexed',
      );
      const stream = new SseClient(sitterUser.accessToken);
      expect(await stream.connect(inst.url)).toBe(200);
      const before = await counts(inst);

      await proxy.cut();
      const ready = await inst.http.get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ mysql: 'ok', redis: 'down' });
      // A route checked against the deny-list (GET /users/me reads the login from MySQL instead).
      await expect503(inst, 'GET', '/api/v1/users/me/sessions', owner.accessToken);
      await expect503(inst, 'POST', '/api/v1/pets', owner.accessToken, {
        name: 'Ghost',
        species: 'cat',
        size: 'small',
      });
      await expect503(inst, 'POST', '/api/v1/reservations', owner.accessToken, {
        sitterId: sitter.id,
        service: 'boarding',
        petIds: [pet.id],
        startDate: day(9),
        endDate: day(9),
      });
      await expect503(inst, 'GET', SEARCH);
      await expect503(inst, 'POST', '/api/v1/auth/login', undefined, { email: owner.email, password: owner.password });
      await new Promise((r) => setTimeout(r, 2000));
      expect(await counts(inst)).toEqual(before);

      await proxy.restore();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 15_000, 'ready again');
      // A notification created after recovery reaches the stream (reopened if the outage closed it).
      if (stream.status !== 200 || stream.events.length === 0) await stream.connect(inst.url);
      const created = await inst.http
        .post('/api/v1/reservations')
        .set(bearer(owner.accessToken))
        .send({ sitterId: sitter.id, service: 'boarding', petIds: [pet.id], startDate: day(10), endDate: day(10) });
      expect(created.status).toBe(201);
      await eventually(
        async () => stream.notifications().some((n) => n.type === 'reservation.requested'),
        15_000,
        'notification streamed after recovery',
      );
      const search = await inst.http.get(SEARCH).expect(200);
      expect(search.body.items.map((s: { id: number }) => s.id)).toContain(sitter.id);
      stream.close();
    } finally {
      await inst.close();
      await proxy.cut();
    }
  }, 60_000);
});

describe('Redis restarted empty (no persistence)', () => {
  // The sitters module rebuilds a missing geo index from MySQL whenever its Redis connection becomes
  // ready again (and on every sweep), so search works again without a restart.
  it('serves again without a restart: logins work and the sitter and meetup indexes are rebuilt from MySQL', async () => {
    const redis = await PrivateRedis.create();
    await redis.start();
    const inst = await ctx.instance({ redisUrl: redis.url });
    try {
      const { sitter } = await makeSitter(inst);
      const owner = await signup(inst);
      const meetup = await makeMeetup(inst, owner);
      await eventually(
        async () => (await inst.http.get(SEARCH)).body.items?.some((s: { id: number }) => s.id === sitter.id),
        10_000,
        'sitter indexed',
      );
      await eventually(
        async () => (await nearbyIds(inst, owner.accessToken)).includes(meetup.id),
        10_000,
        'meetup indexed',
      );
      await redis.stop();
      await expect503(inst, 'GET', '/api/v1/users/me/sessions', owner.accessToken);
      await redis.start();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 15_000, 'ready again');
      await inst.http.get('/api/v1/users/me').set(bearer(owner.accessToken)).expect(200);
      // MySQL is the truth: the sitter must be found again once Redis is back, empty or not.
      await eventually(
        async () => (await inst.http.get(SEARCH)).body.items?.some((s: { id: number }) => s.id === sitter.id),
        8_000,
        'sitter found after Redis came back empty',
      );
      await eventually(
        async () => (await nearbyIds(inst, owner.accessToken)).includes(meetup.id),
        8_000,
        'meetup found after Redis came back empty',
      );
    } finally {
      await inst.close();
      await redis.stop();
    }
  }, 60_000);
});

describe('an instance starting on a wiped Redis', () => {
  it('rebuilds every missing geo index (sitters and meetups), not only the first', async () => {
    const { sitter } = await makeSitter(shared);
    const host = await signup(shared);
    const meetup = await makeMeetup(shared, host);
    await eventually(
      async () => (await nearbyIds(shared, host.accessToken)).includes(meetup.id),
      10_000,
      'meetup indexed',
    );
    // The wipe: every geo key of this deployment is gone (as after FLUSHALL, but only ours).
    const geoKeys = await shared.redis.keys(`${ctx.config.redisPrefix}geo:*`);
    expect(geoKeys.length).toBeGreaterThan(0);
    await shared.redis.del(...geoKeys);
    expect(await nearbyIds(shared, host.accessToken)).not.toContain(meetup.id);
    const fresh = await ctx.instance();
    await eventually(
      async () => (await nearbyIds(fresh, host.accessToken)).includes(meetup.id),
      10_000,
      'meetup found again',
    );
    await eventually(
      async () => (await fresh.http.get(SEARCH)).body.items?.some((s: { id: number }) => s.id === sitter.id),
      10_000,
      'sitter found again',
    );
    await fresh.close();
  }, 60_000);
});

describe('MariaDB unreachable for a few seconds', () => {
  it('answers 503, leaves no partial write from requests cut mid-flight, and recovers', async () => {
    const proxy = new HalfCloseProxy('127.0.0.1', 3306);
    await proxy.start();
    const dbUrl = new URL(ctx.config.databaseUrl);
    dbUrl.port = String(proxy.port);
    const inst = await ctx.instance({ databaseUrl: dbUrl.toString() });
    try {
      const { sitter } = await makeSitter(inst, { maxPets: 10 });
      const owners = await Promise.all(Array.from({ length: 12 }, () => makeOwner(inst)));
      // Reservation requests in flight when the database goes away: each is whole or absent.
      let firstCommitted: () => void = () => undefined;
      const committed = new Promise<void>((resolve) => (firstCommitted = resolve));
      const inFlight = owners.map(async ({ owner, pet }, i) => {
        // Spread out, and the cut comes with the first success: some commit before it, some die in the middle.
        await new Promise((r) => setTimeout(r, i * 20));
        const reply = await raw(inst.url, {
          method: 'POST',
          path: '/api/v1/reservations',
          headers: { ...bearer(owner.accessToken), 'Content-Type': 'application/json' },
          body: JSON.stringify({
            sitterId: sitter.id,
            service: 'boarding',
            petIds: [pet.id],
            startDate: day(5 + i),
            endDate: day(5 + i),
          }),
          timeoutMs: 15_000,
        });
        if (reply.status === 201) firstCommitted();
        return reply;
      });
      await Promise.race([committed, Promise.all(inFlight)]);
      await proxy.cut();
      const replies = await Promise.all(inFlight);
      for (const r of replies) {
        expect(checkAnswer(r, 'reservation during cut', { allow503: true })).toBeNull();
        expect([201, 503]).toContain(r.status);
      }
      const down = await inst.http.get('/readyz');
      expect(down.status).toBe(503);
      expect(down.body.checks.mysql).toBe('down');
      await expect503(inst, 'POST', '/api/v1/pets', owners[0].owner.accessToken, {
        name: 'Ghost',
        species: 'cat',
        size: 'small',
      });
      await expect503(inst, 'GET', '/api/v1/reservations', owners[0].owner.accessToken);

      await proxy.restore();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 15_000, 'ready again');
      // Whole or absent: every reservation has its chat room and its outbox rows; every 201 exists.
      const rows = await shared.sequelize.query<{ id: number; chatRoomId: number | null; room: number | null }>(
        'SELECT r.id, r.chatRoomId, c.id AS room FROM reservations r LEFT JOIN chat_rooms c ON c.id = r.chatRoomId WHERE r.sitterId = ?',
        { replacements: [sitter.id], type: QueryTypes.SELECT },
      );
      for (const r of rows) expect(r.room).not.toBeNull();
      const ids = new Set(rows.map((r) => r.id));
      for (const r of replies.filter((x) => x.status === 201)) expect(ids.has(r.json.id)).toBe(true);
      // Every stored request notified the sitter once (its outbox row committed with it).
      await eventually(
        async () => {
          const [{ n }] = await shared.sequelize.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM notifications WHERE recipientId = ? AND type = 'reservation.requested'",
            {
              replacements: [sitter.userId],
              type: QueryTypes.SELECT,
            },
          );
          return Number(n) === rows.length;
        },
        15_000,
        'one notification per stored reservation',
      );
      // And the instance writes again.
      const again = await inst.http
        .post('/api/v1/pets')
        .set(bearer(owners[0].owner.accessToken))
        .send({ name: 'Back', species: 'dog', size: 'small' });
      expect(again.status).toBe(201);
      process.stdout.write(
        `mysql cut: ${replies.filter((x) => x.status === 201).length} committed, ${replies.filter((x) => x.status === 503).length} refused, ${rows.length} stored\n`,
      );
    } finally {
      await inst.close();
      await proxy.cut();
    }
  }, 60_000);

  it('answers chat sends UNAVAILABLE while it is gone, and stores the retry exactly once after', async () => {
    const proxy = new HalfCloseProxy('127.0.0.1', 3306);
    await proxy.start();
    const dbUrl = new URL(ctx.config.databaseUrl);
    dbUrl.port = String(proxy.port);
    // Committed where they arrive: with room owners, the file's other instance (on the real MariaDB)
    // could own the room and commit the send through the outage.
    const inst = await ctx.instance({ databaseUrl: dbUrl.toString(), chatRoomOwners: false });
    const sockets: ClientSocket[] = [];
    try {
      const [x, y] = [await signup(inst), await signup(inst)];
      const roomId = await openDirectRoom(inst, x, y);
      const ys = await joinedSocket(inst.url, y.accessToken, roomId, sockets);
      const xs = await connectSocket(inst.url, x.accessToken, sockets);
      const send = { roomId, body: 'through the outage', clientId: 'outage-1' };
      // A send before: the batch's own pool (multi-statement packets) holds a connection the cut kills.
      expect(await xs.timeout(15_000).emitWithAck('message:send', { ...send, clientId: 'before' })).toMatchObject({
        ok: true,
      });
      await proxy.cut();
      const down = await xs.timeout(15_000).emitWithAck('message:send', send);
      expect(down).toMatchObject({ ok: false, code: 'UNAVAILABLE' });

      await proxy.restore();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 15_000, 'ready again');
      const received = next<{ clientId: string }>(ys, 'message:new', (m) => m.clientId === 'outage-1', 10_000);
      const again = await xs.timeout(15_000).emitWithAck('message:send', send);
      expect(again).toMatchObject({ ok: true, message: { roomId, body: send.body } });
      await received;
      const [{ n }] = await shared.sequelize.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM chat_messages WHERE roomId = ? AND clientId = 'outage-1'",
        { replacements: [roomId], type: QueryTypes.SELECT },
      );
      expect(Number(n)).toBe(1);
    } finally {
      for (const sk of sockets) sk.disconnect();
      await inst.close();
      await proxy.cut();
    }
  }, 60_000);
});
