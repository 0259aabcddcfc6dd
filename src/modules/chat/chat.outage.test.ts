import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { PrivateRedis, eventually } from '../../../test/helpers/faults';
import { openDirectRoom } from '../../../test/helpers/fixtures';
import { connectSocket } from '../../../test/helpers/socket';

// A private Redis this file can stop and restart: chat must answer UNAVAILABLE (never crash, never 500)
// while it is gone, and deliver across instances again once it is back.
let redis: PrivateRedis;
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
const clients: ClientSocket[] = [];
let redisUp = false;

beforeAll(async () => {
  redis = await PrivateRedis.create();
  await redis.start();
  redisUp = true;
  ctx = await new TestContext({ env: { REDIS_URL: redis.url } }).setup();
  a = await ctx.instance();
  b = await ctx.instance();
});
afterAll(async () => {
  for (const s of clients) s.disconnect();
  if (!redisUp) await redis.start();
  await ctx.close();
  await redis.stop();
});

const connect = (inst: TestInstance, token: string) => connectSocket(inst.url, token, clients);

const ack = (s: ClientSocket, event: string, payload: unknown) => s.timeout(8000).emitWithAck(event, payload);

describe('chat while Redis is down', () => {
  it('answers UNAVAILABLE on the socket and 503 on REST, then recovers delivery across instances', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await openDirectRoom(a, x, y);
    const xs = await connect(a, x.accessToken);
    const ys = await connect(b, y.accessToken);
    expect(await ack(xs, 'room:join', { roomId })).toEqual({ ok: true });
    expect(await ack(ys, 'room:join', { roomId })).toEqual({ ok: true });

    await redis.stop();
    redisUp = false;
    const down = await ack(xs, 'message:send', { roomId, body: 'anyone?', clientId: 'outage-1' });
    expect(down).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    const rest = await a.http
      .post(`/api/v1/chat/rooms/${roomId}/messages`)
      .set(bearer(x.accessToken))
      .send({ body: 'rest?', clientId: 'outage-2' });
    expect(rest.status).toBe(503);
    expect(rest.body.code).toBe('UNAVAILABLE');
    // A refused send stored nothing.
    const [rows] = await a.sequelize.query('SELECT COUNT(*) AS n FROM chat_messages');
    expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(0);
    expect(xs.connected && ys.connected).toBe(true);

    await redis.start();
    redisUp = true;
    // Reconnects and re-subscriptions take a moment: send until one reaches the other instance.
    let delivered: any = null;
    ys.on('message:new', (m) => (delivered = m));
    let attempt = 0;
    await eventually(async () => {
      await ack(xs, 'message:send', { roomId, body: 'back again', clientId: `outage-3-${attempt++}` });
      await new Promise((r) => setTimeout(r, 100));
      return delivered !== null;
    }, 20_000);
    expect(delivered).toMatchObject({ roomId, senderId: x.user.id, body: 'back again' });
  });
});
