import { io as connectSocket, type Socket } from 'socket.io-client';
import { TestContext, signup, type TestInstance } from '../../../test/helpers/context';
import { HoldingProxy, eventually } from '../../../test/helpers/faults';
import { MAX_SOCKETS_PER_USER } from './chat.socket';

/**
 * The per-user socket cap must not leak places. A client that goes away while its token is being
 * checked (the check reads the deny-list in Redis) gets neither 'connection' nor 'disconnect' from
 * Socket.io; a place counted for it was never given back, and after `cap` such clients the user was
 * refused with TOO_MANY_CONNECTIONS until a restart.
 *
 * The window is made wide and certain, not hoped for: the instance reaches Redis through a proxy
 * that holds its commands, so every handshake's token check is in flight while its client leaves.
 */
let ctx: TestContext;
let proxy: HoldingProxy;
let api: TestInstance;
const sockets: Socket[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  proxy = await HoldingProxy.forRedis(ctx.config.redisUrl);
  api = await ctx.instance({ redisUrl: proxy.redisUrl(ctx.config.redisUrl) });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await proxy.close();
  await ctx.close();
});

const open = (token: string) => {
  const socket = connectSocket(api.url, {
    transports: ['websocket'],
    auth: { token },
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  return socket;
};
const outcome = (socket: Socket) =>
  new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (e) => resolve(e.message));
  });

it('a client that leaves during its token check gives its place back: the user can still open cap sockets', async () => {
  const user = await signup(api);
  const ghosts = Array.from({ length: MAX_SOCKETS_PER_USER }, () => open(user.accessToken));
  proxy.hold();
  // Hold until every ghost's deny-list read is waiting at the proxy: each token check is in flight.
  await eventually(async () => proxy.held('revoked:sid') >= MAX_SOCKETS_PER_USER, 10_000, 'token checks held');
  for (const g of ghosts) g.disconnect();
  // Let the server see every transport close before the token checks answer.
  await new Promise((r) => setTimeout(r, 500));
  proxy.release();

  const real = Array.from({ length: MAX_SOCKETS_PER_USER }, () => open(user.accessToken));
  expect(await Promise.all(real.map(outcome))).toEqual(real.map(() => 'connected'));
  // The cap itself still holds.
  expect(await outcome(open(user.accessToken))).toBe('TOO_MANY_CONNECTIONS');
});
