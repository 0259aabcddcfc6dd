import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../helpers/context';
import { eventually } from '../helpers/faults';
import { becomeSitter, makeOwner, openDirectRoom } from '../helpers/fixtures';
import { ChatClient } from '../faults/chat-client';
import { SseClient } from '../faults/sse-client';
import { RedisClusterFixture } from './redis-cluster';

/**
 * Issue 21's failover drill: two Pawmate instances on a private 3-master Redis Cluster (one replica
 * each, cluster-node-timeout 2 s). While two users chat across the instances (Socket.io over the
 * sharded adapter) and one of them streams notifications (SSE over the event bus), the master that
 * serves the chat room's Socket.io channel is killed (SIGKILL); its replica is promoted by the
 * cluster. Nothing is lost (every message stored once and shown to both, every notification streamed
 * once) and live delivery works again afterwards, with neither instance restarted. The figures are
 * printed (docs/RELIABILITY.md quotes them).
 *
 * This file has its own cluster: killing a node of the shared one would disturb the other files.
 */

let cluster: RedisClusterFixture;
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;

beforeAll(async () => {
  cluster = await new RedisClusterFixture(3, 1).start();
  ctx = await new TestContext({ env: { REDIS_URL: cluster.url } }).setup();
  a = await ctx.instance();
  b = await ctx.instance();
}, 90_000);
afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('loses nothing and comes back by itself when a master dies under chatting and streaming clients', async () => {
  const u1 = await signup(a);
  const u2 = await signup(b);
  const roomId = await openDirectRoom(b, u2, u1);
  // u1 is a sitter: each reservation request of the owner is one notification for u1.
  const sitter = await becomeSitter(a, u1, { services: ['boarding'], acceptedSizes: ['small'] });
  const { owner, pet } = await makeOwner(b);

  const c1 = new ChatClient(u1.accessToken, roomId, [a.url, b.url]);
  const c2 = new ChatClient(u2.accessToken, roomId, [b.url, a.url]);
  await c1.connect();
  await c2.connect();
  const stream = new SseClient(u1.accessToken);
  expect(await stream.connect(b.url)).toBe(200);
  const resumed = stream.keepResumed(b.url);

  // The master of the room's Socket.io channel (the sharded adapter's per-room channel).
  const channel = `${ctx.config.redisPrefix}db0:socket.io#/#room:${roomId}#`;
  const victim = cluster.masterOf(channel);

  // Sends are paced to span the failover, under the per-socket limit (20 per 10 s).
  const PER_CLIENT = 16;
  const RESERVATIONS = 10;
  const base = new Date(Date.now() + 30 * 86_400_000);
  const day = (i: number) => new Date(base.getTime() + i * 3 * 86_400_000).toISOString().slice(0, 10);
  const acks: Array<{ at: number; ms: number }> = [];
  let killedAt = 0;
  let promotedMs = 0;
  let failedRequests = 0;
  const chat = async (c: ChatClient, tag: string) => {
    for (let i = 0; i < PER_CLIENT; i++) {
      const t = Date.now();
      await c.send(`${tag}-${i}`);
      acks.push({ at: t, ms: Date.now() - t });
      await sleep(450);
    }
  };
  await Promise.all([
    chat(c1, 'u1'),
    chat(c2, 'u2'),
    (async () => {
      for (let i = 0; i < RESERVATIONS; i++) {
        // A client retries a request that met the failover (503 with Retry-After).
        for (let attempt = 0; ; attempt++) {
          const res = await b.http
            .post('/api/v1/reservations')
            .set(bearer(owner.accessToken))
            .set('Idempotency-Key', `drill-${roomId}-${i}`)
            .send({
              sitterId: sitter.id,
              service: 'boarding',
              petIds: [pet.id],
              startDate: day(i),
              endDate: day(i),
            });
          if (res.status === 201) break;
          failedRequests++;
          expect(res.status).toBe(503);
          expect(attempt).toBeLessThan(50);
          await sleep(200);
        }
        await sleep(600);
      }
    })(),
    (async () => {
      await sleep(1500);
      killedAt = Date.now();
      await cluster.kill(victim);
      await cluster.waitPromoted(victim);
      promotedMs = Date.now() - killedAt;
    })(),
  ]);
  expect(killedAt).toBeGreaterThan(0);

  // Every message stored exactly once, and both clients show exactly what was stored.
  const stored = await b.sequelize.query<{ id: number; senderId: number; clientId: string }>(
    'SELECT id, senderId, clientId FROM chat_messages WHERE roomId = ? ORDER BY id',
    { replacements: [roomId], type: QueryTypes.SELECT },
  );
  expect(stored).toHaveLength(2 * PER_CLIENT);
  expect(new Set(stored.map((m) => `${m.senderId}:${m.clientId}`)).size).toBe(2 * PER_CLIENT);
  await c1.catchUpAll(b.url);
  await c2.catchUpAll(b.url);
  for (const c of [c1, c2]) {
    expect([...c.seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((m) => m.id));
    expect(new Set(c.live.map((m) => m.id)).size).toBe(c.live.length);
  }

  // Every notification streamed exactly once (the stream resumes with Last-Event-ID if it broke).
  await eventually(
    async () => stream.notifications().filter((x) => x.type === 'reservation.requested').length >= RESERVATIONS,
    20_000,
    'notifications streamed',
  );
  const ids = stream.notifications().map((x) => x.id);
  expect(new Set(ids).size).toBe(ids.length);

  // Service is back without restarting anything: live fan-out across the instances works again, on
  // the promoted replica.
  const before = c2.live.length;
  const t0 = Date.now();
  const sent = await c1.send('after-failover');
  await eventually(async () => c2.live.some((m) => m.id === sent.id), 10_000, 'live delivery after the failover');
  const liveAfterMs = Date.now() - t0;
  expect(c2.live.length).toBe(before + 1);
  expect(cluster.masterOf(channel).port).not.toBe(victim.port); // the promoted replica serves it now

  const during = acks.filter((x) => x.at >= killedAt && x.at <= killedAt + promotedMs);
  const slowest = Math.max(...acks.map((x) => x.ms));
  const resent = c1.resent.size + c2.resent.size;
  process.stdout.write(
    `redis cluster failover: master :${victim.port} killed; cluster ok again after ${promotedMs} ms; ` +
      `${stored.length} messages (${during.length} sent during the failover, ${resent} resent, slowest ack ${slowest} ms), ` +
      `${RESERVATIONS} notifications (${failedRequests} requests answered 503 and retried), ` +
      `socket reconnects ${c1.reconnects + c2.reconnects}, stream reconnects ${resumed.reconnects()}, ` +
      `live delivery after ${liveAfterMs} ms\n`,
  );

  c1.close();
  c2.close();
  resumed.stop();
  stream.close();
}, 120_000);
