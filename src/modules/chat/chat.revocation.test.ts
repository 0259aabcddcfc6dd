import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, signup, type TestInstance } from '../../../test/helpers/context';
import { ack, connectSocket, joinedSocket, record } from '../../../test/helpers/socket';
import { pollUntil } from '../../../test/helpers/faults';
import { openDirectRoom } from '../../../test/helpers/fixtures';

/**
 * Revocation and room removal must not hinge on one pub/sub message: a missed announcement is caught
 * on reconnect (and periodically).
 */
let ctx: TestContext;
let api: TestInstance;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
});
afterAll(async () => {
  for (const s of clients) s.disconnect();
  await ctx.close();
});

const connect = (token: string) => connectSocket(api.url, token, clients);

/** Drops this instance's bus subscriber connection; it reconnects by itself. */
async function dropBusSubscriber(): Promise<void> {
  const clientList = (await api.redis.client('LIST')) as string;
  const line = clientList.split('\n').find((l) => l.includes(` name=${ctx.config.redisPrefix}bus `));
  expect(line).toBeDefined();
  await api.redis.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]);
}

const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as number;

describe('sockets of a revoked login', () => {
  it('get auth:revoked and are disconnected after the bus reconnects, though the announcement was missed', async () => {
    const revokedUser = await signup(api);
    const other = await signup(api);
    const socket = await connect(revokedUser.accessToken);
    const bystander = await connect(other.accessToken);
    const revoked = new Promise<{ message: string }>((resolve) => socket.once('auth:revoked', resolve));
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));

    // The login is deny-listed but its announcement never reaches this instance (as when it is
    // published while the subscriber is reconnecting)...
    await api.redis.set(`${ctx.config.redisPrefix}revoked:sid:${sidOf(revokedUser.accessToken)}`, '1', 'EX', 600);
    // ...then the bus subscriber connection drops and comes back.
    await dropBusSubscriber();

    expect(await revoked).toEqual({ message: expect.any(String) });
    expect(await reason).toBe('io server disconnect');
    // Only the revoked login is affected.
    expect(bystander.connected).toBe(true);
  }, 15_000);
});

describe('sockets of a member removed from a room', () => {
  it('leave the room after the bus reconnects, though the removal’s socketsLeave never arrived', async () => {
    const [x, y] = [await signup(api), await signup(api)];
    const roomId = await openDirectRoom(api, x, y);
    const xs = await joinedSocket(api.url, x.accessToken, roomId, clients);
    const ys = await joinedSocket(api.url, y.accessToken, roomId, clients);
    const ys2 = await joinedSocket(api.url, y.accessToken, roomId, clients);
    const atX = record<{ id: number }>(xs, 'message:new');
    const atY2 = record<{ id: number }>(ys2, 'message:new');
    // x's membership goes as a removal commits, but its cluster-wide socketsLeave is lost (the removing
    // instance died after the commit): only the row is gone.
    await api.sequelize.query('DELETE FROM chat_members WHERE roomId = ? AND userId = ?', {
      replacements: [roomId, x.user.id],
    });
    const presenceKey = `${ctx.config.redisPrefix}presence:room:${roomId}`;
    expect((await api.redis.zrange(presenceKey, 0, -1)).some((m) => m.startsWith(`${x.user.id}:`))).toBe(true);
    await dropBusSubscriber();
    await pollUntil(
      async () => !(await api.redis.zrange(presenceKey, 0, -1)).some((m) => m.startsWith(`${x.user.id}:`)),
      10_000,
    );
    const reply = await ack(ys, 'message:send', { roomId, body: 'after the removal', clientId: 'after-removal' });
    expect(reply.ok).toBe(true);
    await pollUntil(() => atY2.length === 1, 5000);
    // One emit reaches every socket still in the room at once: give x's a moment past y's second one.
    await new Promise((r) => setTimeout(r, 300));
    expect(atX).toEqual([]);
  }, 20_000);
});
