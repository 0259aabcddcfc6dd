import type { Socket as ClientSocket } from 'socket.io-client';
import { type TestContext, bearer, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { ack, connectSocket, next, record } from '../../../test/helpers/socket';
import { joinGroup } from '../../../test/helpers/groups';

let ctx: TestContext;
let one: TestInstance;
let two: TestInstance;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  [ctx, one, two] = await startContext({}, 2);
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await ctx.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const connect = (inst: TestInstance, s: Session) => connectSocket(inst.url, s.accessToken, clients);

const join = (groupId: number, s: Session) => joinGroup(one, groupId, s);

let n = 0;
const send = (socket: ClientSocket, roomId: number, body = `hello ${++n}`) =>
  ack(socket, 'message:send', { roomId, body, clientId: `c-${n}-${Date.now()}` });

/** Whether `socket` still gets the room's messages: one is sent by `sender`, and we wait for it. */
async function receives(socket: ClientSocket, sender: ClientSocket, roomId: number): Promise<boolean> {
  const seen = record<{ body: string }>(socket, 'message:new');
  const sent = await send(sender, roomId);
  expect(sent.ok).toBe(true);
  for (let i = 0; i < 20 && !seen.some((m) => m.body === sent.message.body); i++) await sleep(50);
  return seen.some((m) => m.body === sent.message.body);
}

describe('the group chat room follows membership on every instance', () => {
  it('removal, leaving and deletion take sockets out of the room at once; non-members get NOT_FOUND', async () => {
    const [owner, b, c, stranger] = await Promise.all([signup(one), signup(one), signup(one), signup(one)]);
    const g = (await one.http.post('/api/v1/groups').set(bearer(owner.accessToken)).send({ name: 'Fam' }).expect(201))
      .body as { id: number; chatRoomId: number };
    const roomId = g.chatRoomId;
    await join(g.id, b);
    await join(g.id, c);

    const sOwner = await connect(one, owner);
    const sB = await connect(two, b);
    const sC = await connect(two, c);
    const sStranger = await connect(two, stranger);
    for (const s of [sOwner, sB, sC]) expect(await ack(s, 'room:join', { roomId })).toEqual({ ok: true });
    expect(await ack(sStranger, 'room:join', { roomId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await send(sStranger, roomId)).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await receives(sB, sOwner, roomId)).toBe(true);

    // The owner (instance one) removes b (socket on instance two).
    await one.http.delete(`/api/v1/groups/${g.id}/members/${b.user.id}`).set(bearer(owner.accessToken)).expect(204);
    expect(await receives(sB, sOwner, roomId)).toBe(false);
    expect(await send(sB, roomId)).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await ack(sB, 'room:join', { roomId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await receives(sC, sOwner, roomId)).toBe(true);

    // Back in: the room can be joined again.
    await join(g.id, b);
    expect(await ack(sB, 'room:join', { roomId })).toEqual({ ok: true });
    expect(await receives(sB, sOwner, roomId)).toBe(true);

    // c leaves by itself through instance two; the owner's socket on instance one stays.
    await two.http.delete(`/api/v1/groups/${g.id}/members/${c.user.id}`).set(bearer(c.accessToken)).expect(204);
    expect(await receives(sC, sOwner, roomId)).toBe(false);

    // Deletion: every member's socket leaves, wherever it is; the room takes no more messages.
    const gone = next(sB, 'message:new', () => true, 800).then(
      () => 'received',
      () => 'nothing',
    );
    await two.http.delete(`/api/v1/groups/${g.id}`).set(bearer(owner.accessToken)).expect(204);
    expect(await send(sOwner, roomId)).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await gone).toBe('nothing');
    expect(await ack(sB, 'room:join', { roomId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });
});
