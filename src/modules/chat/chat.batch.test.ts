import type { Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { openDirectRoom } from '../../../test/helpers/fixtures';
import { pollUntil } from '../../../test/helpers/faults';
import { ack, connectSocket, joinedSocket, record } from '../../../test/helpers/socket';
import { createLogger } from '../../infra/logger';
import { ChatBatchStatements } from './chat.batch-statements';
import { ChatRepository } from './chat.repository';
import { GroupCommit, type BatchedSend } from './chat.batch';

/**
 * Group commit (chat.batch.ts, chat.send.ts): many rooms' sends share one transaction and one
 * multi-row insert; per-room order, exactly-once by clientId and unread counts must hold.
 */

const clients: ClientSocket[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const eventually = (check: () => boolean | Promise<boolean>) => pollUntil(check, 10_000);

let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
type User = Awaited<ReturnType<typeof signup>>;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  // A wider window than the default, so the test's concurrent sends surely share batches; two batches
  // in flight per instance, so a room's later sends must wait for its committing batch for per-room
  // order to hold.
  // No room owners: both instances commit sends to the same rooms, so their batches meet on the room
  // locks (what owners avoid in the common case, and what must still hold when a send is committed
  // where it arrived; chat.owners.test.ts covers the owners).
  a = await ctx.instance({ chatBatch: { windowMs: 40, maxBatch: 200, maxInFlight: 2 }, chatRoomOwners: false });
  b = await ctx.instance({ chatBatch: { windowMs: 40, maxBatch: 200, maxInFlight: 2 }, chatRoomOwners: false });
});
afterEach(() => {
  jest.restoreAllMocks();
  for (const s of clients.splice(0)) s.disconnect();
});
afterAll(() => ctx.close());

/** Every multi-row insert's rows, as the repository was asked (both instances share the prototype). */
function spyInserts(): Array<Array<{ roomId: number; clientId: string }>> {
  const calls: Array<Array<{ roomId: number; clientId: string }>> = [];
  const original = ChatBatchStatements.prototype.insertMessages;
  jest.spyOn(ChatBatchStatements.prototype, 'insertMessages').mockImplementation(function (
    this: ChatBatchStatements,
    rows,
  ) {
    calls.push(rows.map((r) => ({ roomId: r.roomId, clientId: r.clientId })));
    return original.call(this, rows);
  });
  return calls;
}

const directRoom = (x: User, y: User): Promise<number> => openDirectRoom(a, x, y);

it('commits concurrent sends to many rooms through two instances in shared batches: each once, in order per sender, unread counts exact', async () => {
  const ROOMS = 10;
  const PER_SOCKET = 5;
  const pairs: Array<{ x: User; y: User; roomId: number; xs: ClientSocket; ys: ClientSocket }> = [];
  for (let i = 0; i < ROOMS; i++) {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    pairs.push({
      x,
      y,
      roomId,
      xs: await joinedSocket(a.url, x.accessToken, roomId, clients),
      ys: await joinedSocket(b.url, y.accessToken, roomId, clients),
    });
  }
  const received = new Map<ClientSocket, Array<{ id: number; body: string }>>();
  for (const p of pairs) for (const s of [p.xs, p.ys]) received.set(s, record(s, 'message:new'));
  const inserts = spyInserts();

  // Every socket sends its messages back to back without waiting for acks: x on instance a, y on b.
  const sent = pairs.flatMap((p, r) =>
    [p.xs, p.ys].map((socket, side) => ({
      socket,
      roomId: p.roomId,
      acks: Array.from({ length: PER_SOCKET }, (_x, k) =>
        ack(socket, 'message:send', {
          roomId: p.roomId,
          body: `r${r} s${side} #${k}`,
          clientId: `r${r}-s${side}-${k}`,
        }),
      ),
    })),
  );
  const acked = await Promise.all(sent.map(async (s) => ({ ...s, replies: await Promise.all(s.acks) })));

  for (const s of acked) {
    expect(s.replies.every((r) => r.ok)).toBe(true);
    const ids = s.replies.map((r) => r.message.id as number);
    // A socket's sends reach the batcher in emit order, and a batch inserts in arrival order.
    expect(ids).toEqual([...ids].sort((p, q) => p - q));
  }
  const allIds = acked.flatMap((s) => s.replies.map((r) => r.message.id as number));
  expect(new Set(allIds).size).toBe(ROOMS * 2 * PER_SOCKET);
  // Batches held several rooms' messages: fewer inserts than messages, and some with many rooms.
  expect(inserts.flat()).toHaveLength(allIds.length);
  expect(inserts.length).toBeLessThan(allIds.length);
  expect(Math.max(...inserts.map((rows) => new Set(rows.map((r) => r.roomId)).size))).toBeGreaterThan(1);

  for (const [i, p] of pairs.entries()) {
    const mine = (socket: ClientSocket) => acked.find((s) => s.socket === socket)!.replies.map((r) => r.message.id);
    // Each member got the other's messages once each, in id order, and none of its own.
    await eventually(() => received.get(p.ys)!.length >= PER_SOCKET && received.get(p.xs)!.length >= PER_SOCKET);
    await sleep(100);
    expect(received.get(p.ys)!.map((m) => m.id)).toEqual(mine(p.xs));
    expect(received.get(p.xs)!.map((m) => m.id)).toEqual(mine(p.ys));
    // History after 0 is every message of the room in id order; unread is exactly the other's five.
    const history = await b.http
      .get(`/api/v1/chat/rooms/${p.roomId}/messages?after=0&limit=100`)
      .set(bearer(p.y.accessToken))
      .expect(200);
    expect(history.body.items.map((m: { id: number }) => m.id)).toEqual(
      [...mine(p.xs), ...mine(p.ys)].sort((x, y) => x - y),
    );
    const room = await a.http.get(`/api/v1/chat/rooms/${p.roomId}`).set(bearer(p.y.accessToken)).expect(200);
    expect(room.body.unreadCount).toBe(PER_SOCKET);
    expect(room.body.lastMessage.id).toBe(Math.max(...mine(p.xs), ...mine(p.ys)));
    if (i === 0) expect(room.body.lastMessage.roomId).toBe(p.roomId);
  }
});

it('stores a clientId repeated within one batch once, answers every repeat with it, and broadcasts it once', async () => {
  const c = await ctx.instance({ chatBatch: { windowMs: 500, maxBatch: 200, maxInFlight: 1 }, chatRoomOwners: false });
  const [x, y] = [await signup(c), await signup(a)];
  const roomId = await directRoom(x, y);
  const ys = await joinedSocket(a.url, y.accessToken, roomId, clients);
  const seen = record<{ id: number; clientId: string }>(ys, 'message:new');
  const xs = await connectSocket(c.url, x.accessToken, clients);
  const inserts = spyInserts();

  const payload = { roomId, body: 'only once', clientId: 'dup-in-window' };
  const [s1, s2, other, r1, r2] = await Promise.all([
    ack(xs, 'message:send', payload),
    ack(xs, 'message:send', payload),
    ack(xs, 'message:send', { roomId, body: 'another', clientId: 'other-in-window' }),
    c.http.post(`/api/v1/chat/rooms/${roomId}/messages`).set(bearer(x.accessToken)).send(payload),
    c.http.post(`/api/v1/chat/rooms/${roomId}/messages`).set(bearer(x.accessToken)).send(payload),
  ]);
  expect([s1.ok, s2.ok, other.ok]).toEqual([true, true, true]);
  const ids = [s1.message.id, s2.message.id, r1.body.id, r2.body.id];
  expect(new Set(ids).size).toBe(1);
  expect(other.message.id).not.toBe(ids[0]);
  // At most one answer says "created" (the REST ones tell: 201 vs 200).
  expect([r1.status, r2.status].filter((st) => st === 201).length).toBeLessThanOrEqual(1);
  expect([r1.status, r2.status].every((st) => st === 200 || st === 201)).toBe(true);
  // They shared one batch, whose insert held the clientId once.
  const withDup = inserts.filter((rows) => rows.some((r) => r.clientId === payload.clientId));
  expect(withDup).toHaveLength(1);
  expect(withDup[0].filter((r) => r.clientId === payload.clientId)).toHaveLength(1);
  expect(withDup[0].map((r) => r.clientId)).toContain('other-in-window');
  const [{ n }] = await a.sequelize.query<{ n: number }>(
    'SELECT COUNT(*) AS n FROM chat_messages WHERE roomId = ? AND clientId = ?',
    { replacements: [roomId, payload.clientId], type: QueryTypes.SELECT },
  );
  expect(Number(n)).toBe(1);
  await eventually(() => seen.length >= 2);
  await sleep(300);
  expect(seen.map((m) => m.clientId).sort()).toEqual(['dup-in-window', 'other-in-window']);
  // A repeat after the batch committed is answered from the database (200), still one row.
  const later = await c.http.post(`/api/v1/chat/rooms/${roomId}/messages`).set(bearer(x.accessToken)).send(payload);
  expect([later.status, later.body.id]).toEqual([200, ids[0]]);
});

it('refuses a send that is not allowed without failing the others of its batch', async () => {
  const [x, y, z] = [await signup(a), await signup(a), await signup(a)];
  const roomXY = await directRoom(x, y);
  const roomYZ = await directRoom(y, z);
  const xs = await connectSocket(a.url, x.accessToken, clients);
  const [good, notMine] = await Promise.all([
    ack(xs, 'message:send', { roomId: roomXY, body: 'fine', clientId: 'ok-1' }),
    ack(xs, 'message:send', { roomId: roomYZ, body: 'not my room', clientId: 'no-1' }),
  ]);
  expect(good.ok).toBe(true);
  expect(notMine).toMatchObject({ ok: false, code: 'NOT_FOUND' });
});

it('reads the ids back where the server does not give a multi-row insert consecutive ids, and its relay row names them', async () => {
  // As on a server with innodb_autoinc_lock_mode = 2: the writer must not derive ids from the first.
  jest.spyOn(ChatRepository.prototype, 'autoIncrementIsConsecutive').mockResolvedValue(false);
  const fromFirstId = jest.spyOn(ChatBatchStatements.prototype, 'rememberFirstId');
  const c = await ctx.instance({ chatBatch: { windowMs: 200, maxBatch: 200, maxInFlight: 1 }, chatRoomOwners: false });
  const [x, y, z] = [await signup(c), await signup(c), await signup(c)];
  const [roomXY, roomXZ] = [await directRoom(x, y), await directRoom(x, z)];
  const xs = await connectSocket(c.url, x.accessToken, clients);
  const acks = await Promise.all([
    ack(xs, 'message:send', { roomId: roomXY, body: 'one', clientId: 'rb-1' }),
    ack(xs, 'message:send', { roomId: roomXZ, body: 'two', clientId: 'rb-2' }),
    ack(xs, 'message:send', { roomId: roomXY, body: 'three', clientId: 'rb-3' }),
  ]);
  expect(acks.map((r) => r.ok)).toEqual([true, true, true]);
  expect(fromFirstId).not.toHaveBeenCalled();
  // Read before the row is due (a second after the commit) and handled.
  const [relay] = await a.sequelize.query<{ payload: string }>(
    "SELECT payload FROM outbox WHERE topic = 'chat.messages.relay' ORDER BY id DESC LIMIT 1",
    { type: QueryTypes.SELECT },
  );
  const rows = await a.sequelize.query<{ id: number; clientId: string }>(
    "SELECT id, clientId FROM chat_messages WHERE clientId LIKE 'rb-%' ORDER BY clientId",
    { type: QueryTypes.SELECT },
  );
  expect(acks.map((r) => r.message.id)).toEqual(rows.map((r) => Number(r.id)));
  const room = await c.http.get(`/api/v1/chat/rooms/${roomXY}`).set(bearer(y.accessToken)).expect(200);
  expect(room.body.lastMessage.id).toBe(acks[2].message.id);
  const payload = JSON.parse(relay.payload) as { messages: Array<{ id: number }> };
  expect(payload.messages.map((m) => m.id).sort((p, q) => p - q)).toEqual(
    acks.map((r) => r.message.id).sort((p, q) => p - q),
  );
});

it("updates a room's activity from its newest message alone, however long its history", async () => {
  const [x, y] = [await signup(a), await signup(a)];
  const roomId = await directRoom(x, y);
  await a.sequelize.query(
    `INSERT INTO chat_messages (roomId, senderId, body, clientId, createdAt)
       SELECT ?, ?, 'old', CONCAT('history-', seq), NOW(3) FROM seq_1_to_300`,
    { replacements: [roomId, x.user.id] },
  );
  // MAX(id) in the correlated subquery read every message of the room (MariaDB does not turn it into
  // one index probe there): a batch's cost grew with each room's history.
  const { sql, values } = new ChatBatchStatements(() => 'FALSE').touchRooms([roomId], new Date());
  const [[analyzed]] = (await a.sequelize.query(`ANALYZE FORMAT=JSON ${sql}`, { replacements: values })) as unknown as [
    Array<{ ANALYZE: string }>,
  ];
  const plan = JSON.stringify(JSON.parse(analyzed.ANALYZE));
  const messagesRead = [...plan.matchAll(/"table_name":"m".*?"r_rows":([\d.]+)/g)].map((m) => Number(m[1]));
  expect(messagesRead).toEqual([1]);
  const [room] = await a.sequelize.query<{ lastMessageId: number }>(
    'SELECT lastMessageId FROM chat_rooms WHERE id = ?',
    {
      replacements: [roomId],
      type: QueryTypes.SELECT,
    },
  );
  const [newest] = await a.sequelize.query<{ id: number }>('SELECT MAX(id) AS id FROM chat_messages WHERE roomId = ?', {
    replacements: [roomId],
    type: QueryTypes.SELECT,
  });
  expect(Number(room.lastMessageId)).toBe(Number(newest.id));
});

describe('GroupCommit', () => {
  const logger = createLogger('silent');
  const send = (clientId: string, roomId = 1): BatchedSend => ({ userId: 1, roomId, body: 'b', clientId });

  it('keeps a send whose room is committing for a later batch, without holding up other rooms', async () => {
    const events: string[] = [];
    // The first batch commits only when the test lets it: no timing to race on a loaded machine.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const gc = new GroupCommit<string>(
      async (sends) => {
        const ids = sends.map((s) => s.clientId).join(',');
        events.push(`start ${ids}`);
        if (sends.some((s) => s.clientId === 'slow')) await held;
        events.push(`end ${ids}`);
        return sends.map((s) => ({ ok: true as const, value: s.clientId }));
      },
      { windowMs: 1, maxBatch: 10, maxInFlight: 2 },
      logger,
    );
    const slow = gc.submit(send('slow', 1));
    await eventually(() => events.includes('start slow')); // room 1 is committing
    const later = [gc.submit(send('same-room', 1)), gc.submit(send('other-room', 2))];
    // Room 2 goes at once, beside the committing batch; room 1's second send waits for the first.
    expect(await later[1]).toBe('other-room');
    expect(events).toEqual(['start slow', 'start other-room', 'end other-room']);
    release();
    expect(await Promise.all([slow, later[0]])).toEqual(['slow', 'same-room']);
    expect(events.slice(3)).toEqual(['end slow', 'start same-room', 'end same-room']);
    await gc.drain();
  });

  it('commits what arrives during a commit as the next batch, and retries a failed batch one send at a time', async () => {
    const batches: string[][] = [];
    const gc = new GroupCommit<string>(
      async (sends) => {
        batches.push(sends.map((s) => s.clientId));
        await sleep(30);
        // A batch holding the poisoned send fails as a whole; alone, it fails with its own error.
        if (sends.some((s) => s.clientId === 'poison')) throw new Error(sends.length > 1 ? 'batch failed' : 'poison');
        return sends.map((s) => ({ ok: true as const, value: `stored ${s.clientId}` }));
      },
      { windowMs: 5, maxBatch: 3 },
      logger,
    );
    const first = gc.submit(send('a'));
    await sleep(15); // the first batch ['a'] is committing now
    const rest = ['b', 'poison', 'c', 'd'].map((id) =>
      gc.submit(send(id)).then(String, (e: Error) => `error ${e.message}`),
    );
    expect(await first).toBe('stored a');
    expect(await Promise.all(rest)).toEqual(['stored b', 'error poison', 'stored c', 'stored d']);
    // ['a'], then ['b','poison','c'] (maxBatch) failing, then each alone in order, then ['d'].
    expect(batches).toEqual([['a'], ['b', 'poison', 'c'], ['b'], ['poison'], ['c'], ['d']]);
    await gc.drain();
  });

  it('answers what was queued before a drain, and refuses what comes after it as UNAVAILABLE (shutdown)', async () => {
    const gc = new GroupCommit<string>(
      async (sends) => {
        await sleep(20);
        return sends.map((s) => ({ ok: true as const, value: s.clientId }));
      },
      { windowMs: 1, maxBatch: 10, maxInFlight: 1 },
      logger,
    );
    const queued = gc.submit(send('before'));
    const draining = gc.drain();
    await expect(gc.submit(send('after'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await draining;
    expect(await queued).toBe('before');
  });
});
