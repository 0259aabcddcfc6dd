import { QueryTypes } from 'sequelize';
import { type TestContext, bearer, signup, type TestInstance, startContext } from '../helpers/context';
import { CuttableProxy, eventually } from '../helpers/faults';
import { becomeSitter, makeOwner, openDirectRoom } from '../helpers/fixtures';
import { SseClient } from './sse-client';
import { ChatClient, type Msg } from './chat-client';

/**
 * Issue 9 "kill one of two instances while clients chat and stream". Instance A is reached through
 * a TCP proxy: cutting it drops every client connection at once with no goodbye (what clients see
 * when a machine dies), and A is then shut down. Clients fail over to B by themselves, as a real
 * client behind a balancer would: rejoin rooms, catch up with `?after=`, resume the stream with
 * Last-Event-ID, and resend unacknowledged messages with the same clientId.
 */

let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
let proxyA: CuttableProxy;

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
  proxyA = new CuttableProxy('127.0.0.1', Number(new URL(a.url).port));
  await proxyA.start();
}, 60_000);
afterAll(async () => {
  await proxyA.cut();
  await ctx.close();
});

it('loses and doubles nothing when an instance dies under chatting and streaming clients', async () => {
  const viaA = `http://127.0.0.1:${proxyA.port}`;
  const u1 = await signup(a);
  const u2 = await signup(b);
  const roomId = await openDirectRoom(b, u2, u1);
  // u1 is also a sitter: each reservation request from the owner is one notification for u1.
  const sitterProfile = await becomeSitter(a, u1, { services: ['boarding'], acceptedSizes: ['small'] });
  const { owner, pet } = await makeOwner(b);

  // u1 lives on A (through the proxy), u2 on B.
  const c1 = new ChatClient(u1.accessToken, roomId, [viaA, b.url]);
  const c2 = new ChatClient(u2.accessToken, roomId, [b.url]);
  await c1.connect();
  await c2.connect();
  const stream = new SseClient(u1.accessToken);
  expect(await stream.connect(viaA)).toBe(200);
  const resumed = stream.keepResumed(b.url);

  // Under the per-socket limit (20 per 10 s), so every wait below is the failover's, not the limiter's.
  const PER_CLIENT = 18;
  const RESERVATIONS = 12;
  const base = new Date(Date.now() + 30 * 86_400_000);
  const day = (i: number) => new Date(base.getTime() + i * 3 * 86_400_000).toISOString().slice(0, 10);
  let killed = false;
  const traffic = Promise.all([
    (async () => {
      for (let i = 0; i < PER_CLIENT; i++) {
        await c1.send(`u1-${i}`);
        await new Promise((r) => setTimeout(r, 60));
      }
    })(),
    (async () => {
      for (let i = 0; i < PER_CLIENT; i++) {
        await c2.send(`u2-${i}`);
        await new Promise((r) => setTimeout(r, 60));
      }
    })(),
    (async () => {
      for (let i = 0; i < RESERVATIONS; i++) {
        await b.http
          .post('/api/v1/reservations')
          .set(bearer(owner.accessToken))
          .send({
            sitterId: sitterProfile.id,
            service: 'boarding',
            petIds: [pet.id],
            startDate: day(i),
            endDate: day(i),
          })
          .expect(201);
        await new Promise((r) => setTimeout(r, 80));
      }
    })(),
    (async () => {
      await new Promise((r) => setTimeout(r, 500));
      await proxyA.cut();
      killed = true;
      await a.close();
    })(),
  ]);
  await traffic;
  expect(killed).toBe(true);

  const stored = await b.sequelize.query<Msg>(
    'SELECT id, roomId, senderId, clientId FROM chat_messages WHERE roomId = ? ORDER BY id',
    {
      replacements: [roomId],
      type: QueryTypes.SELECT,
    },
  );
  expect(stored).toHaveLength(2 * PER_CLIENT);
  expect(new Set(stored.map((m) => `${m.senderId}:${m.clientId}`)).size).toBe(2 * PER_CLIENT);

  // Both clients end up showing exactly the stored messages (after a last catch-up, as an app does on resume).
  await c1.catchUp(b.url);
  await c2.catchUp(b.url);
  expect([...c1.seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((m) => m.id));
  // Known gap (reported in docs/RELIABILITY.md): fan-out is best effort after commit, so a message
  // that committed on A just before A died is never broadcast (the resend through B finds it stored
  // and, per API.md, does not broadcast a repeated clientId). A client that stayed connected to B
  // has moved its `after` past that id and cannot notice. Only such messages may be missing there.
  const missingOnC2 = stored.filter((m) => !c2.seen.has(m.id));
  for (const m of missingOnC2) expect(m.senderId === u1.user.id && c1.resent.has(m.clientId)).toBe(true);
  await c2.catchUpAll(b.url);
  expect([...c2.seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((m) => m.id));
  // Live delivery never doubled a message (a resend with the same clientId is not broadcast again).
  for (const c of [c1, c2]) expect(new Set(c.live.map((m) => m.id)).size).toBe(c.live.length);
  expect(c1.reconnects).toBeGreaterThanOrEqual(1);

  // Every notification reached the stream exactly once, across the failover.
  const [{ n }] = await b.sequelize.query<{ n: number }>(
    "SELECT COUNT(*) AS n FROM notifications WHERE recipientId = ? AND type = 'reservation.requested'",
    {
      replacements: [u1.user.id],
      type: QueryTypes.SELECT,
    },
  );
  expect(Number(n)).toBe(RESERVATIONS);
  await eventually(
    async () => stream.notifications().filter((x) => x.type === 'reservation.requested').length >= RESERVATIONS,
    15_000,
    'notifications streamed',
  );
  const ids = stream.notifications().map((x) => x.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(stream.notifications().filter((x) => x.type === 'reservation.requested')).toHaveLength(RESERVATIONS);
  expect(resumed.reconnects()).toBeGreaterThanOrEqual(1);
  process.stdout.write(
    `failover: ${stored.length} messages, ${RESERVATIONS} notifications, socket reconnects ${c1.reconnects}, stream reconnects ${resumed.reconnects()}, committed-but-not-broadcast ${missingOnC2.length}\n`,
  );

  c1.close();
  c2.close();
  resumed.stop();
  stream.close();
}, 90_000);
