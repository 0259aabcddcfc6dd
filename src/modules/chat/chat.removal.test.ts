import type { Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { type TestContext, bearer, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import { eventually } from '../../../test/helpers/faults';
import { makeMeetup } from '../../../test/helpers/fixtures';
import { ack, connectSocket } from '../../../test/helpers/socket';
import { inTransaction } from '../../infra/db';
import type { ChatService } from './chat.service';

/**
 * A batch reads membership under its room locks, and a removal takes the room's lock too. A removal
 * that commits while the batch waits for that lock must still win: the removed member's send is
 * refused, never stored after the removal (API.md: a removed member leaves the chat room at once).
 */
const clients: ClientSocket[] = [];
let ctx: TestContext;
let a: TestInstance;

beforeAll(async () => {
  [ctx, a] = await startContext();
});
afterAll(async () => {
  for (const s of clients.splice(0)) s.disconnect();
  await ctx.close();
});

it('refuses the send of a member whose removal commits while the batch waits for the room lock', async () => {
  const host = await signup(a);
  const guest = await signup(a);
  const m = await makeMeetup(a, host);
  await a.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(guest.accessToken)).expect(201);
  const socket = await connectSocket(a.url, guest.accessToken, clients);
  expect(await ack(socket, 'room:join', { roomId: m.chatRoomId })).toEqual({ ok: true });

  // The removal holds the room's lock, uncommitted, while the send's batch arrives and waits for it.
  const chat = a.pawmate.services.chat as ChatService;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const removing = new Promise<void>((resolve) => (locked = resolve));
  const removal = inTransaction(a.sequelize, async (rt) => {
    const after = await chat.removeMember(rt, m.chatRoomId, guest.user.id);
    locked();
    await held;
    return after;
  });
  await removing;
  const sending = ack(socket, 'message:send', { roomId: m.chatRoomId, body: 'after my removal', clientId: 'late-1' });
  await eventually(
    async () => {
      const [{ n }] = await a.sequelize.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
        { type: QueryTypes.SELECT },
      );
      return Number(n) > 0;
    },
    10_000,
    'the batch waiting for the room lock',
  );
  release();
  (await removal)();

  const reply = await sending;
  expect(reply).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  const stored = await a.sequelize.query('SELECT id FROM chat_messages WHERE roomId = ? AND senderId = ?', {
    replacements: [m.chatRoomId, guest.user.id],
    type: QueryTypes.SELECT,
  });
  expect(stored).toEqual([]);

  // The host, still a member, sends as before.
  const hostSocket = await connectSocket(a.url, host.accessToken, clients);
  expect(await ack(hostSocket, 'room:join', { roomId: m.chatRoomId })).toEqual({ ok: true });
  expect(
    (await ack(hostSocket, 'message:send', { roomId: m.chatRoomId, body: 'still here', clientId: 'h-1' })).ok,
  ).toBe(true);
});
