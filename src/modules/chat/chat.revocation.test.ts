import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, signup, type TestInstance } from '../../../test/helpers/context';
import { connectSocket } from '../../../test/helpers/socket';

/** Revocation must not hinge on one pub/sub message: a missed announcement is caught on reconnect. */
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
    const clientList = (await api.redis.client('LIST')) as string;
    const line = clientList.split('\n').find((l) => l.includes(` name=${ctx.config.redisPrefix}bus `));
    expect(line).toBeDefined();
    await api.redis.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]);

    expect(await revoked).toEqual({ message: expect.any(String) });
    expect(await reason).toBe('io server disconnect');
    // Only the revoked login is affected.
    expect(bystander.connected).toBe(true);
  }, 15_000);
});
