import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, bearer, type TestInstance } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { HoldingProxy, eventually } from '../../../test/helpers/faults';
import { family } from '../../../test/helpers/groups';
import { ack, connectSocket, record } from '../../../test/helpers/socket';

/**
 * A member removed while their socket's `room:join` is in flight must not end up in the group's
 * chat room. The join checks membership (MySQL), then records presence (Redis), then joins the
 * Socket.io room; a removal committing in between took the user's sockets out of the room before
 * this one was in it, and the join then put it in for good: the removed member kept receiving the
 * family's messages.
 *
 * The window is made certain: the joining instance reaches Redis through a proxy that holds its
 * commands, so the join waits on its presence write while the removal (on another instance)
 * commits and broadcasts.
 */
let ctx: TestContext;
let proxy: HoldingProxy;
let held: TestInstance;
let plain: TestInstance;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  proxy = await HoldingProxy.forRedis(ctx.config.redisUrl);
  held = await ctx.instance({ redisUrl: proxy.redisUrl(ctx.config.redisUrl) });
  plain = await ctx.instance();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await ctx.close();
  await proxy.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const connect = (inst: TestInstance, s: Session) => connectSocket(inst.url, s.accessToken, clients);

it('a member removed during their room:join is not left in the group chat room', async () => {
  const { g, people } = await family(plain, 2);
  const [owner, b] = people;
  const sOwner = await connect(plain, owner);
  const sB = await connect(held, b);
  expect(await ack(sOwner, 'room:join', { roomId: g.chatRoomId })).toEqual({ ok: true });

  proxy.hold();
  const joining = ack<{ ok: boolean; code?: string }>(sB, 'room:join', { roomId: g.chatRoomId });
  // The membership check has passed once the presence write is waiting in the proxy.
  await eventually(async () => proxy.held('presence:room') > 0, 4000, 'the presence write of the join');
  await plain.http.delete(`/api/v1/groups/${g.id}/members/${b.user.id}`).set(bearer(owner.accessToken)).expect(204);
  await sleep(200); // the removal's socketsLeave reaches the held instance (replies pass the proxy)
  proxy.release();
  const answer = await joining;
  expect(answer).toMatchObject({ ok: false, code: 'NOT_FOUND' });

  const seen = record<{ body: string }>(sB, 'message:new');
  const sent = await ack(sOwner, 'message:send', { roomId: g.chatRoomId, body: 'family only', clientId: 'c-1' });
  expect(sent.ok).toBe(true);
  await sleep(500);
  expect(seen.map((m) => m.body)).not.toContain('family only');
});
