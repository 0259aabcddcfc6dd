import { randomBytes } from 'node:crypto';
import type { Socket as ClientSocket } from 'socket.io-client';
import { type TestContext, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import { pollUntil } from '../../../test/helpers/faults';
import { ack, joinedSocket, record } from '../../../test/helpers/socket';
import { createLogger } from '../../infra/logger';
import { connectRedis, createRedis } from '../../infra/redis';
import { EventBus } from '../../infra/realtime/bus';
import { AppError, InvalidFields, NotFound, Unavailable, fieldError } from '../../errors';
import type { BatchedSend } from './chat.batch';
import { CHAT_SENDS_CHANNEL, RoomOwners } from './chat.owners';
import type { SendResult } from './chat.send';
import { ChatService } from './chat.service';
import { openDirectRoom } from '../../../test/helpers/fixtures';

/**
 * Room owners (chat.owners.ts): each room's sends are committed by one instance whichever instance
 * got them, and a send whose owner fails or does not answer still gets its own answer.
 */

const clients: ClientSocket[] = [];
const cleanups: Array<() => unknown> = [];
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
  // Each instance reads the live set once a second: let both see each other.
  await new Promise((r) => setTimeout(r, 1500));
});
afterEach(() => {
  jest.restoreAllMocks();
  for (const s of clients.splice(0)) s.disconnect();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await ctx.close();
});

it("commits every room's sends on one instance, whichever instance got them, in order and once each", async () => {
  const ROOMS = 12;
  const PER_SOCKET = 4;
  const committedBy = new Map<number, Set<string>>();
  const names = new Map<ChatService, string>([
    [a.pawmate.services.chat, 'a'],
    [b.pawmate.services.chat, 'b'],
  ]);
  const original = ChatService.prototype.commitHere;
  jest.spyOn(ChatService.prototype, 'commitHere').mockImplementation(function (this: ChatService, send: BatchedSend) {
    const set = committedBy.get(send.roomId) ?? new Set<string>();
    set.add(names.get(this) ?? '?');
    committedBy.set(send.roomId, set);
    return original.call(this, send);
  });

  const pairs: Array<{ roomId: number; xs: ClientSocket; ys: ClientSocket }> = [];
  for (let i = 0; i < ROOMS; i++) {
    const [x, y] = [await signup(a), await signup(b)];
    const roomId = await openDirectRoom(a, x, y);
    pairs.push({
      roomId,
      xs: await joinedSocket(a.url, x.accessToken, roomId, clients),
      ys: await joinedSocket(b.url, y.accessToken, roomId, clients),
    });
  }
  const received = new Map<ClientSocket, Array<{ id: number }>>();
  for (const p of pairs) for (const s of [p.xs, p.ys]) received.set(s, record(s, 'message:new'));

  // Both members of every room send at once without waiting: one of them is always on a non-owner.
  const acked = await Promise.all(
    pairs.flatMap((p, r) =>
      [p.xs, p.ys].map(async (socket, side) => ({
        socket,
        replies: await Promise.all(
          Array.from({ length: PER_SOCKET }, (_x, k) =>
            ack(socket, 'message:send', {
              roomId: p.roomId,
              body: `r${r} s${side} #${k}`,
              clientId: `o${r}-${side}-${k}`,
            }),
          ),
        ),
      })),
    ),
  );
  for (const s of acked) {
    expect(s.replies.every((r) => r.ok)).toBe(true);
    const ids = s.replies.map((r) => r.message.id as number);
    expect(ids).toEqual([...ids].sort((p, q) => p - q));
  }
  expect(new Set(acked.flatMap((s) => s.replies.map((r) => r.message.id))).size).toBe(ROOMS * 2 * PER_SOCKET);
  // One committing instance per room, and both instances own some of the rooms.
  for (const p of pairs) expect(committedBy.get(p.roomId)?.size).toBe(1);
  const owners = pairs.map((p) => [...committedBy.get(p.roomId)!][0]);
  expect(new Set(owners)).toEqual(new Set(['a', 'b']));
  // Each member got the other's messages once each, in id order.
  for (const p of pairs) {
    const sentBy = (socket: ClientSocket) => acked.find((s) => s.socket === socket)!.replies.map((r) => r.message.id);
    await pollUntil(() => received.get(p.xs)!.length >= PER_SOCKET && received.get(p.ys)!.length >= PER_SOCKET, 10_000);
    expect(received.get(p.ys)!.map((m) => m.id)).toEqual(sentBy(p.xs));
    expect(received.get(p.xs)!.map((m) => m.id)).toEqual(sentBy(p.ys));
  }
  const metrics = await a.http.get('/metrics');
  expect(metrics.text).toMatch(/pawmate_chat_sends_forwarded_total\{event="forwarded"\} [1-9]/);
});

describe('RoomOwners over the real bus', () => {
  const logger = createLogger('silent');
  const prefix = `owners${randomBytes(3).toString('hex')}:`;

  /** An instance's owners on its own bus (`bus.close()` is what a crash does to its subscriptions). */
  async function owners(
    commitHere: (send: BatchedSend) => Promise<SendResult>,
    forwardTimeoutMs = 300,
  ): Promise<RoomOwners & { bus: EventBus }> {
    const url = ctx.config.redisUrl;
    const pub = createRedis(url);
    await connectRedis(pub);
    const bus = new EventBus(url, prefix, pub, logger);
    await bus.connect();
    const o = new RoomOwners({ redis: pub, bus, prefix, logger, commitHere, forwardTimeoutMs });
    await o.start();
    cleanups.push(
      () => pub.disconnect(),
      () => bus.close(),
      () => o.stop(),
    );
    return Object.assign(o, { bus });
  }

  const stored = async (send: BatchedSend): Promise<SendResult> => ({
    row: {
      id: 1,
      roomId: send.roomId,
      senderId: 1,
      body: '',
      clientId: send.clientId,
      createdAt: new Date(),
      hiddenAt: null,
      removedAt: null,
    },
    created: true,
  });

  /** A room `other` owns as `mine` sees the live set (it learns of `other` at its next heartbeat). */
  async function roomOwnedBy(mine: RoomOwners, other: RoomOwners): Promise<number> {
    let room = 0;
    await pollUntil(() => {
      room = Array.from({ length: 50 }, (_x, i) => i + 1).find((r) => mine.ownerOf(r) === other.self) ?? 0;
      return room > 0;
    }, 5000);
    return room;
  }

  it('commits here at once when nobody listens on the owner’s channel any more (it crashed)', async () => {
    const here: string[] = [];
    const mine = await owners(async (send) => (here.push(send.clientId), stored(send)), 30_000);
    const other = await owners(() => new Promise(() => undefined), 30_000);
    const room = await roomOwnedBy(mine, other);
    // A crash closes its Redis connections: its channel has no subscriber, though its heartbeat still
    // counts for a few seconds.
    const channel = other.bus.keyedChannel(CHAT_SENDS_CHANNEL, other.self);
    await other.bus.close();
    // Redis drops a closed connection's subscriptions as soon as it reads the close.
    await pollUntil(async () => {
      const [, n] = (await a.redis.pubsub('NUMSUB', channel)) as [string, number];
      return Number(n) === 0;
    }, 5000);
    expect(mine.ownerOf(room)).toBe(other.self);
    const result = await mine.submit({ userId: 1, roomId: room, body: 'b', clientId: 'crashed-owner' });
    expect(result.row.clientId).toBe('crashed-owner');
    expect(here).toEqual(['crashed-owner']);
  });

  it('commits here, at its next heartbeat, a send waiting on an owner that left the live set', async () => {
    const here: string[] = [];
    const mine = await owners(async (send) => (here.push(send.clientId), stored(send)), 30_000);
    let received!: () => void;
    const reached = new Promise<void>((r) => (received = r));
    const other = await owners(() => (received(), new Promise(() => undefined)), 30_000);
    const room = await roomOwnedBy(mine, other);
    const pending = mine.submit({ userId: 1, roomId: room, body: 'b', clientId: 'left-owner' });
    await reached; // the owner took it, and will never answer
    await other.stop();
    const result = await pending; // the 30 s forward timeout would fail the test's own 5 s limit
    expect(result.row.clientId).toBe('left-owner');
    expect(here).toEqual(['left-owner']);
  });

  it("answers with the owner's refusal, its hints included, and commits here when the owner does not answer", async () => {
    const here: BatchedSend[] = [];
    const mine = await owners(async (send) => (here.push(send), stored(send)));
    const refusals: Record<string, AppError> = {
      refuse: NotFound('Chat room'),
      busy: Unavailable(),
      invalid: InvalidFields([fieldError('body', 'is too long')]),
    };
    const other = await owners((send) =>
      refusals[send.body] ? Promise.reject(refusals[send.body]) : new Promise(() => undefined),
    );
    const room = await roomOwnedBy(mine, other);
    const send = (body: string, clientId: string): BatchedSend => ({ userId: 1, roomId: room, body, clientId });

    const refused = await mine.submit(send('refuse', 'c1')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'NOT_FOUND' });
    // The owner's database is away: its 503 comes back with its Retry-After.
    const unavailable = await mine.submit(send('busy', 'c0')).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ code: 'UNAVAILABLE', headers: { 'Retry-After': '5' } });
    // A refusal naming its fields keeps them.
    const invalid = await mine.submit(send('invalid', 'c3')).catch((e: unknown) => e);
    expect(invalid).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ path: 'body', message: 'body is too long' }],
    });
    expect(here).toHaveLength(0);

    const started = Date.now();
    const result = await mine.submit(send('hangs', 'c2'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(result.row.clientId).toBe('c2');
    expect(here.map((s) => s.clientId)).toEqual(['c2']);
  });
});
