import type { ClientEvent } from '../../infra/realtime/socket';
import type { Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { openDirectRoom } from '../../../test/helpers/fixtures';
import { pollUntil as eventually } from '../../../test/helpers/faults';
import { keysMatching, signup, bearer, PASSWORD, startContext } from '../../../test/helpers/context';
import { ack, connectSocket, next, record } from '../../../test/helpers/socket';
import { Presence, PRESENCE_TTL_MS } from './chat.presence';

// This file's own socket events (the maps are checked at compile time; see src/infra/realtime/socket.ts).
declare module '../../infra/realtime/socket' {
  interface ClientToServerEvents {
    'echo:test': ClientEvent<{ n: number }>;
  }
  interface ServerToClientEvents {
    'custom:event': (payload: { hello: number }) => void;
  }
}

// --- Socket.io client helpers ---------------------------------------------------------------------

const clients: ClientSocket[] = [];

/** WebSocket only, as a deployment without sticky sessions would configure its clients. */
const connect = (inst: TestInstance, token: string | undefined) => connectSocket(inst.url, token, clients);

function refused(inst: TestInstance, token: string | undefined): Promise<Error> {
  return connect(inst, token).then(
    () => {
      throw new Error('the connection was accepted');
    },
    (err: Error) => err,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- setup ---------------------------------------------------------------------------------------

let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
type User = Awaited<ReturnType<typeof signup>>;

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
});
afterEach(() => {
  for (const s of clients.splice(0)) s.disconnect();
});
afterAll(async () => {
  await ctx.close();
});

const chatOf = (inst: TestInstance) => inst.pawmate.services.chat;

/** The per-user send limit lives in Redis; tests that send in bulk reset it between batches. */
async function resetSendLimits() {
  const keys = await keysMatching(a.redis, `${ctx.config.redisPrefix}rl:chat-send*`);
  await Promise.all(keys.map((k) => a.redis.del(k)));
}

const directRoom = (x: User, y: User, inst = a): Promise<number> => openDirectRoom(inst, x, y);

let seq = 0;
const clientId = () => `c-${process.pid}-${seq++}`;

function restSend(inst: TestInstance, u: User, roomId: number, body: string, cid = clientId()) {
  return inst.http
    .post(`/api/v1/chat/rooms/${roomId}/messages`)
    .set(bearer(u.accessToken))
    .send({ body, clientId: cid });
}

// --- tests ---------------------------------------------------------------------------------------

describe('socket handshake', () => {
  it('refuses a missing, malformed or forged token with UNAUTHENTICATED', async () => {
    const u = await signup(a);
    expect((await refused(a, undefined)).message).toBe('UNAUTHENTICATED');
    expect((await refused(a, 'not-a-jwt')).message).toBe('UNAUTHENTICATED');
    expect((await refused(b, `${u.accessToken.slice(0, -3)}abc`)).message).toBe('UNAUTHENTICATED');
    const ok = await connect(b, u.accessToken);
    expect(ok.connected).toBe(true);
  });
});

describe('direct rooms (REST)', () => {
  it('gets or creates one room per pair: 201 then 200 from either side, with the contract shape', async () => {
    const [x, y] = [await signup(a, { nickname: 'Xena' }), await signup(a, { nickname: 'Yuri' })];
    const first = await a.http
      .post('/api/v1/chat/rooms')
      .set(bearer(x.accessToken))
      .send({ type: 'direct', userId: y.user.id })
      .expect(201);
    expect(first.body).toEqual({
      id: expect.any(Number),
      type: 'direct',
      members: expect.arrayContaining([
        expect.objectContaining({ id: x.user.id, nickname: 'Xena' }),
        expect.objectContaining({ id: y.user.id, nickname: 'Yuri' }),
      ]),
      memberCount: 2,
      lastMessage: null,
      unreadCount: 0,
      lastActivityAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(first.body.members[0]).not.toHaveProperty('email');
    const again = await b.http
      .post('/api/v1/chat/rooms')
      .set(bearer(y.accessToken))
      .send({ type: 'direct', userId: x.user.id })
      .expect(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('refuses yourself (400 body.userId), an unknown or deleted user (404) and other types (400 body.type)', async () => {
    const x = await signup(a);
    const self = await a.http
      .post('/api/v1/chat/rooms')
      .set(bearer(x.accessToken))
      .send({ type: 'direct', userId: x.user.id })
      .expect(400);
    expect(self.body.errors[0].path).toBe('body.userId');
    const missing = await a.http
      .post('/api/v1/chat/rooms')
      .set(bearer(x.accessToken))
      .send({ type: 'direct', userId: 999999 })
      .expect(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    const gone = await signup(a);
    await a.http.delete('/api/v1/users/me').set(bearer(gone.accessToken)).expect(204);
    await a.http
      .post('/api/v1/chat/rooms')
      .set(bearer(x.accessToken))
      .send({ type: 'direct', userId: gone.user.id })
      .expect(404);
    const type = await a.http
      .post('/api/v1/chat/rooms')
      .set(bearer(x.accessToken))
      .send({ type: 'meetup', userId: 1 })
      .expect(400);
    expect(type.body.errors.map((e: { path: string }) => e.path)).toContain('body.type');
    await a.http.post('/api/v1/chat/rooms').send({ type: 'direct', userId: 1 }).expect(401);
  });

  it('creates exactly one room under concurrent creates through two instances', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const inst = i % 2 ? a : b;
        const [me, other] = i % 3 ? [x, y] : [y, x];
        return inst.http
          .post('/api/v1/chat/rooms')
          .set(bearer(me.accessToken))
          .send({ type: 'direct', userId: other.user.id });
      }),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const [row] = await a.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM chat_rooms WHERE userLowId = ? AND userHighId = ?',
      {
        replacements: [Math.min(x.user.id, y.user.id), Math.max(x.user.id, y.user.id)],
        type: QueryTypes.SELECT,
      },
    );
    expect(Number(row.n)).toBe(1);
    const [members] = await a.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM chat_members WHERE roomId = ?',
      {
        replacements: [results[0].body.id],
        type: QueryTypes.SELECT,
      },
    );
    expect(Number(members.n)).toBe(2);
  });
});

describe('membership', () => {
  it('answers 404 on REST and NOT_FOUND on the socket to non-members', async () => {
    const [x, y, z] = [await signup(a), await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    await restSend(a, x, roomId, 'private').expect(201);
    for (const req of [
      b.http.get(`/api/v1/chat/rooms/${roomId}`),
      b.http.get(`/api/v1/chat/rooms/${roomId}/messages`),
      b.http.post(`/api/v1/chat/rooms/${roomId}/messages`).send({ body: 'hi', clientId: 'x1' }),
      b.http.post(`/api/v1/chat/rooms/${roomId}/read`).send({ messageId: 1 }),
      b.http.get('/api/v1/chat/rooms/4000000'),
    ]) {
      const res = await req.set(bearer(z.accessToken));
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
    const zs = await connect(b, z.accessToken);
    for (const [event, payload] of [
      ['room:join', { roomId }],
      ['message:send', { roomId, body: 'hi', clientId: 'z1' }],
      ['message:read', { roomId, messageId: 1 }],
      ['typing', { roomId }],
    ] as const) {
      expect(await ack(zs, event, payload)).toEqual({ ok: false, code: 'NOT_FOUND', message: expect.any(String) });
    }
    const list = await b.http.get('/api/v1/chat/rooms').set(bearer(z.accessToken)).expect(200);
    expect(list.body).toEqual({ items: [], nextCursor: null });
    const [{ n }] = await a.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE roomId = ?', {
      replacements: [roomId],
      type: QueryTypes.SELECT,
    });
    expect(Number(n)).toBe(1);
  });
});

describe('delivery across instances', () => {
  it('delivers a socket message to a member on the other instance, once, and acks the sender with it', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const xs = await connect(a, x.accessToken);
    const ys = await connect(b, y.accessToken);
    expect(await ack(xs, 'room:join', { roomId })).toEqual({ ok: true });
    expect(await ack(ys, 'room:join', { roomId })).toEqual({ ok: true });
    const seenByY = record(ys, 'message:new');
    const seenByX = record(xs, 'message:new');

    const cid = clientId();
    const arrival = next(ys, 'message:new');
    const res = await ack(xs, 'message:send', { roomId, body: '  hello from A  ', clientId: cid });
    expect(res).toEqual({
      ok: true,
      message: {
        id: expect.any(Number),
        roomId,
        senderId: x.user.id,
        body: 'hello from A',
        clientId: cid,
        createdAt: expect.any(String),
        hidden: false,
      },
    });
    expect(await arrival).toEqual(res.message);

    // The same clientId again: the stored message, and no second broadcast.
    const again = await ack(xs, 'message:send', { roomId, body: 'hello again?', clientId: cid });
    expect(again).toEqual({ ok: true, message: res.message });
    const rest = await restSend(b, x, roomId, 'different body', cid).expect(200);
    expect(rest.body).toEqual(res.message);

    // A REST send reaches the sockets too (both members, including the sender's socket).
    const viaRest = await restSend(b, y, roomId, 'from REST').expect(201);
    await eventually(() => seenByX.length === 1 && seenByY.length === 2);
    await sleep(200);
    expect(seenByY.map((m) => m.id)).toEqual([res.message.id, viaRest.body.id]);
    expect(seenByX.map((m) => m.id)).toEqual([viaRest.body.id]);

    const [{ n }] = await a.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE roomId = ?', {
      replacements: [roomId],
      type: QueryTypes.SELECT,
    });
    expect(Number(n)).toBe(2);
  });

  it('stops delivering after room:leave and counts presence across instances', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const ys1 = await connect(b, y.accessToken);
    const ys2 = await connect(a, y.accessToken);
    await ack(ys1, 'room:join', { roomId });
    await ack(ys2, 'room:join', { roomId });
    expect([...(await chatOf(a).presentUsers(roomId))]).toEqual([y.user.id]);
    await ack(ys1, 'room:leave', { roomId });
    // One tab left; the other keeps the user present.
    expect(await chatOf(b).isPresent(roomId, y.user.id)).toBe(true);
    const seen1 = record(ys1, 'message:new');
    const got2 = next(ys2, 'message:new');
    await restSend(a, x, roomId, 'after leave').expect(201);
    await got2;
    await sleep(150);
    expect(seen1).toEqual([]);
    ys2.disconnect();
    await eventually(async () => !(await chatOf(a).isPresent(roomId, y.user.id)));
  });
});

describe('idempotency under concurrency', () => {
  it('stores one message for concurrent sends with one clientId through both instances and broadcasts it once', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const ys = await connect(b, y.accessToken);
    await ack(ys, 'room:join', { roomId });
    const seen = record(ys, 'message:new');
    const cid = clientId();
    const xs = await connect(a, x.accessToken);
    const [viaSocket, ...viaRest] = await Promise.all([
      ack(xs, 'message:send', { roomId, body: 'once', clientId: cid }),
      ...Array.from({ length: 5 }, (_, i) => restSend(i % 2 ? a : b, x, roomId, 'once', cid)),
    ]);
    const statuses = viaRest.map((r) => r.status);
    expect(statuses.every((st) => st === 200 || st === 201)).toBe(true);
    // One winner: a REST call answered 201, or the socket did and every REST call got 200.
    expect(statuses.filter((st) => st === 201).length).toBeLessThanOrEqual(1);
    expect(viaSocket.ok).toBe(true);
    expect(new Set([viaSocket.message.id, ...viaRest.map((r) => r.body.id)]).size).toBe(1);
    const [{ n }] = await a.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE roomId = ?', {
      replacements: [roomId],
      type: QueryTypes.SELECT,
    });
    expect(Number(n)).toBe(1);
    await eventually(() => seen.length >= 1);
    await sleep(200);
    expect(seen.map((m) => m.id)).toEqual([viaSocket.message.id]);
  });
});

describe('history paging', () => {
  it('pages 120+ messages with before (newest first) and after (oldest first), each exactly once', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const anchor = (await restSend(a, x, roomId, 'anchor').expect(201)).body;
    const sent: number[] = [];
    for (let batch = 0; batch < 4; batch++) {
      await resetSendLimits();
      for (let i = 0; i < 15; i++) {
        const [s1, s2] = await Promise.all([
          restSend(a, x, roomId, `x ${batch}.${i}`),
          restSend(b, y, roomId, `y ${batch}.${i}`),
        ]);
        expect([s1.status, s2.status]).toEqual([201, 201]);
        sent.push(s1.body.id, s2.body.id);
      }
    }
    sent.sort((p, q) => p - q);
    expect(sent.length).toBe(120);

    const newestFirst: number[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const q: string = before ? `?before=${before}&limit=25` : '?limit=25';
      const res = await b.http.get(`/api/v1/chat/rooms/${roomId}/messages${q}`).set(bearer(y.accessToken)).expect(200);
      newestFirst.push(...res.body.items.map((m: { id: number }) => m.id));
      before = res.body.nextCursor;
      if (before !== null) expect(before).toBe(String(res.body.items[res.body.items.length - 1].id));
      pages++;
    } while (before !== null);
    expect(pages).toBe(5); // 121 messages in pages of 25
    expect(newestFirst).toEqual([...sent].reverse().concat(anchor.id));

    const oldestFirst: number[] = [];
    let after: string | null = String(anchor.id);
    while (after !== null) {
      const res: { body: any } = await a.http
        .get(`/api/v1/chat/rooms/${roomId}/messages?after=${after}&limit=50`)
        .set(bearer(x.accessToken))
        .expect(200);
      oldestFirst.push(...res.body.items.map((m: { id: number }) => m.id));
      after = res.body.nextCursor;
    }
    expect(oldestFirst).toEqual(sent);
  });

  it('never lets an `after` catch-up skip a message that committed late under concurrent sends', async () => {
    const users = [await signup(a), await signup(b)];
    const roomId = await directRoom(users[0], users[1]);
    const anchor = (await restSend(a, users[0], roomId, 'start').expect(201)).body.id as number;
    await resetSendLimits();
    const seen: number[] = [];
    let last = anchor;
    let done = false;
    const reader = (async () => {
      while (!done) {
        const res = await b.http
          .get(`/api/v1/chat/rooms/${roomId}/messages?after=${last}&limit=100`)
          .set(bearer(users[1].accessToken));
        for (const m of res.body.items) seen.push(m.id);
        if (res.body.items.length) last = res.body.items[res.body.items.length - 1].id;
      }
    })();
    const sends = await Promise.all(
      Array.from({ length: 40 }, (_, i) => restSend(i % 2 ? a : b, users[i % 2], roomId, `race ${i}`)),
    );
    done = true;
    await reader;
    const final = await b.http
      .get(`/api/v1/chat/rooms/${roomId}/messages?after=${last}&limit=100`)
      .set(bearer(users[1].accessToken));
    seen.push(...final.body.items.map((m: { id: number }) => m.id));
    const ids = sends.map((s) => s.body.id as number).sort((p, q) => p - q);
    expect(sends.every((s) => s.status === 201)).toBe(true);
    expect(seen).toEqual(ids);
  });

  it('validates the query: before and after together, non-integers, limits', async () => {
    const [x, y] = [await signup(a), await signup(a)];
    const roomId = await directRoom(x, y);
    const base = `/api/v1/chat/rooms/${roomId}/messages`;
    const both = await a.http.get(`${base}?before=5&after=2`).set(bearer(x.accessToken)).expect(400);
    expect(both.body.errors[0].path).toBe('query.after');
    for (const [q, path] of [
      ['before=abc', 'query.before'],
      ['after=-1', 'query.after'], // after=0 is "from the first message" (routes.test.ts)
      ['limit=101', 'query.limit'],
    ]) {
      const res = await a.http.get(`${base}?${q}`).set(bearer(x.accessToken)).expect(400);
      expect(res.body.errors[0].path).toBe(path);
    }
    const empty = await a.http.get(base).set(bearer(x.accessToken)).expect(200);
    expect(empty.body).toEqual({ items: [], nextCursor: null });
  });
});

describe('sending over REST', () => {
  it.each([
    ['body.body', { clientId: 'a1' }],
    ['body.body', { body: '   ', clientId: 'a1' }],
    ['body.body', { body: 'x'.repeat(2001), clientId: 'a1' }], // one past the limit
    ['body.body', { body: 'bell\u0007', clientId: 'a1' }],
    ['body.clientId', { body: 'ok' }],
    ['body.clientId', { body: 'ok', clientId: 'has space' }],
    ['body.clientId', { body: 'ok', clientId: 'x'.repeat(65) }],
    ['body.body', { body: 42, clientId: 'a1' }],
  ])('refuses a send with a bad %s (case %#)', async (path, payload) => {
    const [x, y] = [await signup(a), await signup(a)];
    const roomId = await directRoom(x, y);
    const res = await a.http
      .post(`/api/v1/chat/rooms/${roomId}/messages`)
      .set(bearer(x.accessToken))
      .send(payload)
      .expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('keeps newlines and tabs, accepts 2000 characters, and treats clientIds case-sensitively', async () => {
    const [x, y] = [await signup(a), await signup(a)];
    const roomId = await directRoom(x, y);
    const multi = await restSend(a, x, roomId, 'line 1\n\tline 2', 'Case').expect(201);
    expect(multi.body.body).toBe('line 1\n\tline 2');
    const other = await restSend(a, x, roomId, 'another', 'case').expect(201);
    expect(other.body.id).not.toBe(multi.body.id);
    const long = await restSend(a, x, roomId, '가'.repeat(2000)).expect(201);
    expect(long.body.body).toHaveLength(2000);
  });
});

describe('read pointers, receipts and unread counts', () => {
  it('counts others’ messages after my pointer, broadcasts receipts, and only moves forward', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const xs = await connect(a, x.accessToken);
    await ack(xs, 'room:join', { roomId });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await restSend(a, x, roomId, `m${i}`).expect(201)).body.id);
    await restSend(b, y, roomId, 'my own').expect(201);

    const roomOf = async (u: User, inst: TestInstance) =>
      (await inst.http.get(`/api/v1/chat/rooms/${roomId}`).set(bearer(u.accessToken)).expect(200)).body;
    expect((await roomOf(y, b)).unreadCount).toBe(5);
    expect((await roomOf(x, a)).unreadCount).toBe(1);

    const ys = await connect(b, y.accessToken);
    const receipt = next(xs, 'message:read');
    expect(await ack(ys, 'message:read', { roomId, messageId: ids[2] })).toEqual({ ok: true });
    expect(await receipt).toEqual({ roomId, userId: y.user.id, messageId: ids[2] });
    expect((await roomOf(y, b)).unreadCount).toBe(2);

    // Backwards: accepted, changes nothing, no receipt.
    const receipts = record(xs, 'message:read');
    await b.http
      .post(`/api/v1/chat/rooms/${roomId}/read`)
      .set(bearer(y.accessToken))
      .send({ messageId: ids[0] })
      .expect(204);
    await sleep(150);
    expect(receipts).toEqual([]);
    expect((await roomOf(y, b)).unreadCount).toBe(2);

    await b.http
      .post(`/api/v1/chat/rooms/${roomId}/read`)
      .set(bearer(y.accessToken))
      .send({ messageId: ids[4] })
      .expect(204);
    expect((await roomOf(y, b)).unreadCount).toBe(0);
    await eventually(() => receipts.length === 1);
    expect(receipts[0]).toEqual({ roomId, userId: y.user.id, messageId: ids[4] });

    // A message of another room is refused, on REST and on the socket.
    const z = await signup(a);
    const otherRoom = await directRoom(y, z, b);
    const foreign = (await restSend(a, z, otherRoom, 'elsewhere').expect(201)).body.id;
    const bad = await b.http
      .post(`/api/v1/chat/rooms/${roomId}/read`)
      .set(bearer(y.accessToken))
      .send({ messageId: foreign })
      .expect(400);
    expect(bad.body.errors[0].path).toBe('body.messageId');
    const badAck = await ack(ys, 'message:read', { roomId, messageId: foreign });
    expect(badAck).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', errors: [{ path: 'messageId' }] });
  });

  it('lists my rooms by last activity with lastMessage and unreadCount, paginated, in a fixed number of queries', async () => {
    const me = await signup(a);
    const others = [await signup(a), await signup(a), await signup(a), await signup(a), await signup(a)];
    const rooms: number[] = [];
    for (const o of others) rooms.push(await directRoom(me, o));
    // Activity order: rooms[3], rooms[1], then the untouched ones newest first.
    await restSend(a, others[1], rooms[1], 'one').expect(201);
    await sleep(5);
    await restSend(a, others[3], rooms[3], 'three-a').expect(201);
    const last = (await restSend(a, others[3], rooms[3], 'three-b').expect(201)).body;
    await sleep(5);
    await restSend(a, others[1], rooms[1], 'one-b').expect(201);

    const all = await a.http.get('/api/v1/chat/rooms?limit=100').set(bearer(me.accessToken)).expect(200);
    expect(all.body.items.map((r: { id: number }) => r.id)).toEqual([rooms[1], rooms[3], rooms[4], rooms[2], rooms[0]]);
    const r3 = all.body.items[1];
    expect(r3.lastMessage).toEqual(last);
    expect(r3.unreadCount).toBe(2);
    expect(all.body.items[0].unreadCount).toBe(2);
    expect(all.body.items[2]).toMatchObject({ lastMessage: null, unreadCount: 0 });
    expect(all.body.nextCursor).toBeNull();

    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await a.http.get(`/api/v1/chat/rooms?limit=2${q}`).set(bearer(me.accessToken)).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...res.body.items.map((r: { id: number }) => r.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.body.items.map((r: { id: number }) => r.id));

    const bad = await a.http.get('/api/v1/chat/rooms?cursor=bm90LWpzb24').set(bearer(me.accessToken)).expect(400);
    expect(bad.body.errors[0].path).toBe('query.cursor');

    // No N+1: the same number of queries for a page of 1 and a page of 5. The sends' outbox rows come
    // due a second after them and read chat tables on this pool: wait until they have run.
    await eventually(async () => {
      const [{ n }] = await a.sequelize.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM outbox WHERE processedAt IS NULL AND deadAt IS NULL',
        { type: QueryTypes.SELECT },
      );
      return Number(n) === 0;
    });
    const count = async (limit: number) => {
      const spy = jest.spyOn(a.sequelize, 'query');
      try {
        await a.http.get(`/api/v1/chat/rooms?limit=${limit}`).set(bearer(me.accessToken)).expect(200);
        // Only the data queries: the outbox poller and other background work share this pool.
        return spy.mock.calls.filter(([sql]) => /chat_|`users`/.test(String(sql))).length;
      } finally {
        spy.mockRestore();
      }
    };
    const one = await count(1);
    const five = await count(5);
    expect(five).toBe(one);
    expect(five).toBe(5); // rooms page, members, users, last messages, unread counts
  });
});

describe('revocation and expiry', () => {
  it('disconnects the sockets of a login on every instance when it logs out, and refuses the token after', async () => {
    const x = await signup(a);
    const login2 = await a.http.post('/api/v1/auth/login').send({ email: x.email, password: PASSWORD }).expect(200);
    const onB = await connect(b, x.accessToken);
    const onA = await connect(a, x.accessToken);
    const otherLogin = await connect(b, login2.body.accessToken);
    const revokedB = next(onB, 'auth:revoked');
    const goneB = next<string>(onB, 'disconnect');
    const goneA = next<string>(onA, 'disconnect');
    await a.http.post('/api/v1/auth/logout').set(bearer(x.accessToken)).send({}).expect(204);
    expect(await revokedB).toEqual({ message: expect.any(String) });
    expect(await goneB).toBe('io server disconnect');
    expect(await goneA).toBe('io server disconnect');
    await sleep(100);
    expect(otherLogin.connected).toBe(true);
    expect((await refused(b, x.accessToken)).message).toBe('UNAUTHENTICATED');
  });
});

describe('socket payloads and limits', () => {
  it('answers every bad payload through the ack, and survives a missing ack', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const xs = await connect(a, x.accessToken);
    const cases: Array<[string, unknown, string]> = [
      ['message:send', {}, 'roomId'],
      ['message:send', { roomId, clientId: 'c1' }, 'body'],
      ['message:send', { roomId, body: 'hi' }, 'clientId'],
      ['message:send', { roomId: 'abc', body: 'hi', clientId: 'c1' }, 'roomId'],
      ['message:send', { roomId, body: 12, clientId: 'c1' }, 'body'],
      ['message:send', { roomId, body: 'x'.repeat(3000), clientId: 'c1' }, 'body'],
      ['message:send', { roomId, body: 'nul\u0000', clientId: 'c1' }, 'body'],
      ['message:send', 'just a string', 'payload'],
      ['room:join', { roomId: -1 }, 'roomId'],
      ['room:join', null, 'roomId'],
      ['message:read', { roomId }, 'messageId'],
      ['typing', { roomId: [1] }, 'roomId'],
    ];
    for (const [event, payload, path] of cases) {
      const res = await ack(xs, event, payload);
      expect(res).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', message: expect.any(String) });
      expect(res.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    // No ack callback: nothing to answer, nothing thrown; the socket keeps working.
    xs.emit('message:send', { roomId, body: 'no ack', clientId: 'noack-1' });
    xs.emit('room:join');
    const ok = await ack(xs, 'room:join', { roomId });
    expect(ok).toEqual({ ok: true });
    expect(await ack(xs, 'no:such-event', { roomId })).toEqual({
      ok: false,
      code: 'NOT_FOUND',
      message: expect.any(String),
    });
    expect(xs.connected).toBe(true);
  });

  it('rate-limits message:send and typing per socket (20 per 10 s) with RATE_LIMITED, and throttles typing relays', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    const xs = await connect(a, x.accessToken);
    const ys = await connect(b, y.accessToken);
    await ack(xs, 'room:join', { roomId });
    await ack(ys, 'room:join', { roomId });
    const typingSeenByY = record(ys, 'typing');
    const typingSeenByX = record(xs, 'typing');

    // Emitted at once, not one ack after another: the limiter counts each event as it arrives, in order,
    // so all 21 reach it within the 10 s window however slow the machine is (acked one by one, 21 sends
    // could outlast the window on a loaded machine, and the 21st was let through). Acks may be slow there.
    const burst = (event: string, payload: (i: number) => unknown) =>
      Promise.all(Array.from({ length: 21 }, (_, i) => xs.timeout(30_000).emitWithAck(event, payload(i))));
    const sends = await burst('message:send', (i) => ({ roomId, body: `n${i}`, clientId: `rl-${i}` }));
    expect(sends.slice(0, 20).every((r) => r.ok)).toBe(true);
    expect(sends[20]).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterSec: expect.any(Number) });

    const typing = await burst('typing', () => ({ roomId }));
    expect(typing[0]).toEqual({ ok: true, relayed: true });
    expect(typing[1]).toEqual({ ok: true, relayed: false });
    expect(typing[20]).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    await eventually(() => typingSeenByY.length === 1);
    await sleep(150);
    expect(typingSeenByY).toEqual([{ roomId, userId: x.user.id }]);
    expect(typingSeenByX).toEqual([]);

    // Another socket of another user is not affected by x's limit.
    expect((await ack(ys, 'message:send', { roomId, body: 'still fine', clientId: 'y-1' })).ok).toBe(true);
  });
});

describe('seams for other modules', () => {
  it('creates reservation/post rooms in a caller transaction, idempotently; a post room admits members only', async () => {
    const [owner, sitter, passer] = [await signup(a), await signup(a), await signup(b)];
    const chat = chatOf(a);
    const first = await a.sequelize.transaction((t) =>
      chat.createRoomInTx(t, { type: 'reservation', reservationId: 4242, memberIds: [owner.user.id, sitter.user.id] }),
    );
    const second = await a.sequelize.transaction((t) =>
      chat.createRoomInTx(t, { type: 'reservation', reservationId: 4242, memberIds: [owner.user.id, sitter.user.id] }),
    );
    expect(first.created).toBe(true);
    expect(second).toEqual({ roomId: first.roomId, created: false });
    const room = await a.http.get(`/api/v1/chat/rooms/${first.roomId}`).set(bearer(sitter.accessToken)).expect(200);
    expect(room.body).toMatchObject({ type: 'reservation', reservationId: 4242, memberCount: 2 });
    await b.http.get(`/api/v1/chat/rooms/${first.roomId}`).set(bearer(passer.accessToken)).expect(404);

    const post = await a.sequelize.transaction((t) =>
      chat.createRoomInTx(t, { type: 'post', postId: 77, memberIds: [owner.user.id] }),
    );
    // Open post rooms are entered through their post (community module), never by a bare join.
    const ps = await connect(b, passer.accessToken);
    expect(await ack(ps, 'room:join', { roomId: post.roomId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await chat.isMember(post.roomId, passer.user.id)).toBe(false);
    await a.sequelize.transaction((t) => chat.addMember(t, post.roomId, passer.user.id));
    expect(await ack(ps, 'room:join', { roomId: post.roomId })).toEqual({ ok: true });
    const list = await b.http.get('/api/v1/chat/rooms').set(bearer(passer.accessToken)).expect(200);
    expect(list.body.items.map((r: { id: number; postId?: number }) => [r.id, r.postId])).toEqual([[post.roomId, 77]]);
  });

  it('removeMember takes the user out of the room on every instance after commit', async () => {
    const [host, guest] = [await signup(a), await signup(b)];
    const chat = chatOf(a);
    const { roomId } = await a.sequelize.transaction((t) =>
      chat.createRoomInTx(t, { type: 'meetup', meetupId: 9001, memberIds: [host.user.id, guest.user.id] }),
    );
    const gs = await connect(b, guest.accessToken);
    await ack(gs, 'room:join', { roomId });
    const seen = record(gs, 'message:new');
    const hook = await a.sequelize.transaction((t) => chat.removeMember(t, roomId, guest.user.id));
    hook();
    await eventually(async () => !(await chat.isPresent(roomId, guest.user.id)));
    await sleep(200); // socketsLeave travels through Redis to instance B
    await restSend(a, host, roomId, 'guests gone').expect(201);
    await sleep(200);
    expect(seen).toEqual([]);
    expect(await ack(gs, 'room:join', { roomId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('runs handlers registered by later modules with validated acks, and emits to users on any instance', async () => {
    const Joi = (await import('joi')).default;
    const chat = chatOf(a);
    chat.registerSocketHandler((socket, user, tools) => {
      tools.handle(socket, 'echo:test', Joi.object({ n: Joi.number().integer().required() }), async ({ n }) => ({
        n,
        userId: user.id,
      }));
    });
    const u = await signup(a);
    const s1 = await connect(a, u.accessToken);
    expect(await ack(s1, 'echo:test', { n: 3 })).toEqual({ ok: true, n: 3, userId: u.user.id });
    expect(await ack(s1, 'echo:test', { n: 'x' })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
    const s2 = await connect(b, u.accessToken);
    const got = next(s2, 'custom:event');
    chat.emitToUsers([u.user.id], 'custom:event', { hello: 1 });
    expect(await got).toEqual({ hello: 1 });
  });
});

describe('notifications', () => {
  it('notifies members who are not joined to the room, and not those who are', async () => {
    const [x, y, z] = [await signup(a), await signup(b), await signup(a)];
    const roomId = await directRoom(x, y);
    const roomXZ = await directRoom(x, z);
    const zs = await connect(b, z.accessToken);
    await ack(zs, 'room:join', { roomId: roomXZ });
    const m1 = (await restSend(a, x, roomId, 'are you there?').expect(201)).body;
    await restSend(a, x, roomXZ, 'z is watching').expect(201);
    const listOf = async (u: User) =>
      (await a.http.get('/api/v1/notifications').set(bearer(u.accessToken)).expect(200)).body.items as Array<{
        type: string;
        data: any;
        body: string;
      }>;
    await eventually(async () => (await listOf(y)).length === 1);
    expect((await listOf(y))[0]).toMatchObject({
      type: 'chat.message',
      body: 'are you there?',
      data: { roomId, messageId: m1.id, senderId: x.user.id },
    });
    // The outbox may run a row twice after a crash: still one notification.
    await chatOf(b).notifyMembers({ messageId: m1.id });
    expect(await listOf(y)).toHaveLength(1);
    await sleep(300);
    expect(await listOf(z)).toEqual([]);
    expect(await listOf(x)).toEqual([]);
  });
});

describe('limits and presence expiry', () => {
  it('limits sends per user across instances and transports with 429 and Retry-After', async () => {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await directRoom(x, y);
    await resetSendLimits();
    const results = [];
    for (let i = 0; i < 61; i++) results.push(await restSend(i % 2 ? a : b, x, roomId, `flood ${i}`));
    expect(results.slice(0, 60).every((r) => r.status === 201)).toBe(true);
    expect(results[60].status).toBe(429);
    expect(results[60].body.code).toBe('RATE_LIMITED');
    expect(Number(results[60].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The other member is not limited by x's sends.
    await restSend(b, y, roomId, 'my turn').expect(201);
    await resetSendLimits();
  });

  it('drops a socket that stopped heartbeating (a dead instance) after the TTL, while others stay', async () => {
    let now = Date.now();
    const presence = new Presence(a.redis, ctx.config.redisPrefix, () => now);
    await presence.touch([{ roomId: 999001, userId: 1, socketId: 'dead' }]);
    now += PRESENCE_TTL_MS / 2;
    await presence.touch([{ roomId: 999001, userId: 2, socketId: 'alive' }]);
    expect([...(await presence.presentUsers(999001))].sort()).toEqual([1, 2]);
    now += PRESENCE_TTL_MS / 2 + 1;
    expect([...(await presence.presentUsers(999001))]).toEqual([2]);
    expect(await presence.isPresent(999001, 1)).toBe(false);
    await presence.removeUser(999001, 2);
    expect((await presence.presentUsers(999001)).size).toBe(0);
  });
});

describe('shutdown', () => {
  it('stop() sends a reconnect hint and closes the transport (the client may reconnect), and clears presence', async () => {
    const [x, y] = [await signup(a), await signup(a)];
    const roomId = await directRoom(x, y);
    const c = await ctx.instance();
    const xs = await connect(c, x.accessToken);
    await ack(xs, 'room:join', { roomId });
    expect(await chatOf(a).isPresent(roomId, x.user.id)).toBe(true);
    const hint = next(xs, 'server:shutdown');
    const reason = next<string>(xs, 'disconnect');
    await c.close();
    expect(await hint).toEqual({ reconnect: true });
    // "transport close" (unlike "io server disconnect") is a reason socket.io clients reconnect after.
    expect(await reason).toBe('transport close');
    expect(await chatOf(a).isPresent(roomId, x.user.id)).toBe(false);
  });
});

describe('metrics', () => {
  it('exposes open sockets, stored messages and ack latency', async () => {
    const u = await signup(a);
    await connect(a, u.accessToken);
    const text = await a.pawmate.metrics.registry.metrics();
    expect(text).toMatch(/pawmate_open_sockets \d+/);
    expect(Number(/pawmate_open_sockets (\d+)/.exec(text)![1])).toBeGreaterThanOrEqual(1);
    expect(text).toContain('pawmate_chat_messages_total');
    expect(text).toContain('pawmate_socket_ack_duration_seconds_bucket');
  });

  it('documents the chat routes in /openapi.json from the same schemas', async () => {
    const doc = (await a.http.get('/openapi.json').expect(200)).body;
    const history = doc.paths['/api/v1/chat/rooms/{id}/messages'];
    expect(Object.keys(history).sort()).toEqual(['get', 'post']);
    expect(history.get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['id', 'before', 'after', 'limit']),
    );
    expect(doc.paths['/api/v1/chat/rooms/{id}/read'].post).toBeDefined();
  });
});
