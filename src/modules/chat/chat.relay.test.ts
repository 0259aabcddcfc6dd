import type { Socket as ClientSocket } from 'socket.io-client';
import { type TestContext, keysMatching, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import { pollUntil } from '../../../test/helpers/faults';
import { settleOutbox } from '../../../test/helpers/outbox';
import { ack, joinedSocket, record } from '../../../test/helpers/socket';
import { RELAY_GRACE_MS } from './chat.relay';
import { HIDDEN_MESSAGE_BODY, type ChatService } from './chat.service';
import { openDirectRoom } from '../../../test/helpers/fixtures';

/**
 * The certain broadcast publishes a batch from its outbox row when its "published" mark is missing.
 * The mark can vanish after the publish went out (a Redis Cluster master dies before replicating it,
 * or a script is retried on the promoted replica): the batch is then published twice, and every
 * instance must still show it once.
 */

const clients: ClientSocket[] = [];
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
});
afterAll(async () => {
  for (const s of clients.splice(0)) s.disconnect();
  await ctx.close();
});

/** x (on instance a) and y (on b) with their direct room, and x's socket on a joined to it. */
async function directRoom() {
  const x = await signup(a);
  const y = await signup(b);
  const roomId = await openDirectRoom(a, x, y);
  return { x, y, roomId, xs: await joinedSocket(a.url, x.accessToken, roomId, clients) };
}

it('emits a batch published twice (its mark lost) once on every instance', async () => {
  const { x, y, roomId, xs } = await directRoom();
  const ys = await joinedSocket(b.url, y.accessToken, roomId, clients);
  // A second socket of the sender, on the other instance: it gets the live event too.
  const xs2 = await joinedSocket(b.url, x.accessToken, roomId, clients);
  const atY = record<{ id: number }>(ys, 'message:new');
  const atX2 = record<{ id: number }>(xs2, 'message:new');

  const reply = await ack(xs, 'message:send', { roomId, body: 'once', clientId: 'twice-published' });
  expect(reply.ok).toBe(true);
  await pollUntil(() => atY.length === 1 && atX2.length === 1, 10_000);

  // The mark vanishes before the batch's outbox row is due (it waits RELAY_GRACE_MS for the fast path).
  const marks = await keysMatching(a.redis, `${ctx.config.redisPrefix}chat:relayed:*`);
  expect(marks).toHaveLength(1);
  await a.redis.del(marks[0]);
  await new Promise((r) => setTimeout(r, RELAY_GRACE_MS + 100));
  await settleOutbox(a, ctx.clock);
  // The row published the batch again (its script set the mark anew)…
  expect(await a.redis.exists(marks[0])).toBe(1);
  // …and a published batch reaches every instance within milliseconds: give it ample time.
  await new Promise((r) => setTimeout(r, 500));
  expect(atY.map((m) => m.id)).toEqual([reply.message.id]);
  expect(atX2.map((m) => m.id)).toEqual([reply.message.id]);
});

it('re-publishes a message hidden by reports in the meantime as its placeholder, never its text', async () => {
  const { roomId, xs } = await directRoom();
  const reply = await ack(xs, 'message:send', { roomId, body: 'reported later', clientId: 'hidden-later' });
  expect(reply.ok).toBe(true);
  await a.sequelize.query('UPDATE chat_messages SET hiddenAt = NOW(3) WHERE id = ?', {
    replacements: [reply.message.id],
  });
  // What the batch's outbox row publishes when the fast path never ran.
  const chat = a.pawmate.services.chat as ChatService;
  const [again] = await chat.messagesForBroadcast([reply.message.id]);
  expect(again).toMatchObject({ id: reply.message.id, body: HIDDEN_MESSAGE_BODY, hidden: true });
});
