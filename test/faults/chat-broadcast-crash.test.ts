import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { TestContext, signup, type TestInstance } from '../helpers/context';
import { HoldingProxy } from '../helpers/faults';
import { openDirectRoom } from '../helpers/fixtures';
import { entryPointEnv, startEntryPoint, type ServerProcess } from '../helpers/server-process';
import { ack, connectSocket, record } from '../helpers/socket';

/**
 * The contract: a message stored before its ack is broadcast to the room's other members even when
 * the instance that committed it dies before it publishes. The real entry point talks to Redis
 * through a proxy that lets everything through except the broadcast's publish, which it holds; the
 * instance is then SIGKILLed, so that publish never reaches Redis. The member on another instance,
 * whose socket stays connected all along, must still get the message (from the batch's outbox row).
 */
let ctx: TestContext;
let other: TestInstance;
let proxy: HoldingProxy;
let srv: ServerProcess | null = null;
const opened: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  other = await ctx.instance();
  const redis = new URL(ctx.config.redisUrl);
  proxy = new HoldingProxy(redis.hostname, Number(redis.port || 6379));
  await proxy.start();
}, 60_000);
afterAll(async () => {
  for (const s of opened) s.disconnect();
  if (srv && srv.child.exitCode === null) srv.child.kill('SIGKILL');
  await proxy.close();
  await ctx.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('delivers a committed message to a member on another instance when the committing instance dies before publishing it', async () => {
  const [x, y] = [await signup(other), await signup(other)];
  const roomId = await openDirectRoom(other, x, y);

  // The member stays on the surviving instance, connected (no reconnection) for the whole test.
  const ys = await connectSocket(other.url, y.accessToken, opened);
  expect(await ack(ys, 'room:join', { roomId })).toEqual({ ok: true });
  const seen = record<{ id: number; body: string; clientId: string }>(ys, 'message:new');
  let disconnects = 0;
  ys.on('disconnect', () => disconnects++);

  const redisThroughProxy = new URL(ctx.config.redisUrl);
  redisThroughProxy.port = String(proxy.port);
  // The doomed instance commits its own sends (no room owners), so it is the one whose publish dies.
  srv = await startEntryPoint(entryPointEnv(ctx, { REDIS_URL: redisThroughProxy.toString(), CHAT_ROOM_OWNERS: 'off' }));
  const xs = connectClient(`http://127.0.0.1:${srv.port}`, {
    transports: ['websocket'],
    auth: { token: x.accessToken },
    forceNew: true,
    reconnection: false,
  });
  opened.push(xs);
  await new Promise<void>((resolve, reject) => {
    xs.once('connect', () => resolve());
    xs.once('connect_error', reject);
  });

  // Everything the doomed instance sends to Redis passes (the send's rate-limit point, presence…)
  // until the broadcast's publish-once script, which is held; then the instance is killed.
  proxy.hold();
  xs.emit('message:send', { roomId, body: 'stored, then the sender died', clientId: 'crash-1' });
  const deadline = Date.now() + 20_000;
  while (proxy.held('chat:relayed:') === 0) {
    if (Date.now() > deadline) throw new Error(`the broadcast never reached the proxy:\n${srv.output()}`);
    proxy.release();
    proxy.hold();
    await sleep(2);
  }
  srv.child.kill('SIGKILL');
  await srv.exited;

  // The message committed before the publish was attempted.
  const stored = await other.sequelize.query<{ id: number }>(
    'SELECT id FROM chat_messages WHERE roomId = ? AND clientId = ?',
    { replacements: [roomId, 'crash-1'], type: QueryTypes.SELECT },
  );
  expect(stored).toHaveLength(1);
  // Nothing was published: the member has not seen it yet.
  expect(seen).toEqual([]);

  const killedAt = Date.now();
  while (!seen.length) {
    if (Date.now() - killedAt > 15_000) throw new Error('the member never got the message');
    await sleep(50);
  }
  process.stdout.write(`broadcast after a crash: delivered ${Date.now() - killedAt} ms after the kill\n`);
  expect(seen).toMatchObject([{ id: stored[0].id, body: 'stored, then the sender died', clientId: 'crash-1' }]);
  expect(ys.connected).toBe(true);
  expect(disconnects).toBe(0);
  // Published once: the outbox row is done and nothing else arrives.
  await sleep(1500);
  expect(seen).toHaveLength(1);
}, 90_000);
