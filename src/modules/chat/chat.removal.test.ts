import type { Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeMeetup } from '../../../test/helpers/fixtures';
import { ack, connectSocket } from '../../../test/helpers/socket';
import { inTransaction } from '../../infra/db';
import { ChatRepository } from './chat.repository';
import type { ChatService } from './chat.service';

/**
 * A batch reads membership before it locks its rooms. A removal that commits in between must still
 * win: the removed member's send is refused, never stored after the removal (API.md: a removed member
 * leaves the chat room at once).
 */
const clients: ClientSocket[] = [];
let ctx: TestContext;
let a: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  a = await ctx.instance();
});
afterEach(() => jest.restoreAllMocks());
afterAll(async () => {
  for (const s of clients.splice(0)) s.disconnect();
  await ctx.close();
});

it('refuses the send of a member removed between the batch’s membership read and its room lock', async () => {
  const host = await signup(a);
  const guest = await signup(a);
  const m = await makeMeetup(a, host);
  await a.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(guest.accessToken)).expect(201);
  const socket = await connectSocket(a.url, guest.accessToken, clients);
  expect(await ack(socket, 'room:join', { roomId: m.chatRoomId })).toEqual({ ok: true });

  // The removal commits after the batch read the membership, just before it locks the room.
  const chat = a.pawmate.services.chat as ChatService;
  const original = ChatRepository.prototype.lockRooms;
  let removed = false;
  jest.spyOn(ChatRepository.prototype, 'lockRooms').mockImplementation(async function (this: ChatRepository, ids, t) {
    if (!removed) {
      removed = true;
      const after = await inTransaction(a.sequelize, (rt) => chat.removeMember(rt, m.chatRoomId, guest.user.id));
      after();
    }
    return original.call(this, ids, t);
  });

  const reply = await ack(socket, 'message:send', {
    roomId: m.chatRoomId,
    body: 'after my removal',
    clientId: 'late-1',
  });
  expect(removed).toBe(true);
  expect(reply).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  const stored = await a.sequelize.query('SELECT id FROM chat_messages WHERE roomId = ? AND senderId = ?', {
    replacements: [m.chatRoomId, guest.user.id],
    type: QueryTypes.SELECT,
  });
  expect(stored).toEqual([]);

  // The host, still a member, sends as before.
  jest.restoreAllMocks();
  const hostSocket = await connectSocket(a.url, host.accessToken, clients);
  expect(await ack(hostSocket, 'room:join', { roomId: m.chatRoomId })).toEqual({ ok: true });
  expect(
    (await ack(hostSocket, 'message:send', { roomId: m.chatRoomId, body: 'still here', clientId: 'h-1' })).ok,
  ).toBe(true);
});
