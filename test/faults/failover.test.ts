import { QueryTypes } from 'sequelize';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { TestContext, bearer, signup, type TestInstance } from '../helpers/context';
import { CuttableProxy, eventually } from '../helpers/faults';
import { makeOwner } from '../helpers/fixtures';
import { SseClient } from './sse-client';

/**
 * Issue 9 "kill one of two instances while clients chat and stream". Instance A is reached through
 * a TCP proxy: cutting it drops every client connection at once with no goodbye (what clients see
 * when a machine dies), and A is then shut down. Clients fail over to B by themselves, as a real
 * client behind a balancer would: rejoin rooms, catch up with `?after=`, resume the stream with
 * Last-Event-ID, and resend unacknowledged messages with the same clientId.
 */

let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
let proxyA: CuttableProxy;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  a = await ctx.instance();
  b = await ctx.instance();
  proxyA = new CuttableProxy('127.0.0.1', Number(new URL(a.url).port));
  await proxyA.start();
}, 60_000);
afterAll(async () => {
  await proxyA.cut();
  await ctx.close();
});

interface Msg {
  id: number;
  roomId: number;
  senderId: number;
  clientId: string;
}

/** A chat client that fails over from one URL to the next and never loses or doubles a message. */
class ChatClient {
  socket: Socket | null = null;
  /** Every message:new event as delivered, duplicates included. */
  readonly live: Msg[] = [];
  /** What the client shows: by id, from live events, acks and catch-up. */
  readonly seen = new Map<number, Msg>();
  lastId = 0;
  reconnects = 0;
  /** Messages whose first send was not acknowledged (the connection died under it). */
  readonly resent = new Set<string>();

  constructor(
    readonly token: string,
    readonly roomId: number,
    private readonly urls: string[],
  ) {}

  async connect(i = 0): Promise<void> {
    const url = this.urls[Math.min(i, this.urls.length - 1)];
    const socket = connectSocket(url, {
      transports: ['websocket'],
      auth: { token: this.token },
      reconnection: false,
      forceNew: true,
    });
    this.socket = socket;
    socket.on('message:new', (m: Msg) => {
      this.live.push(m);
      this.keep(m);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = await socket.timeout(5000).emitWithAck('room:join', { roomId: this.roomId });
    if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
    await this.catchUp(url);
    socket.once('disconnect', () => {
      this.reconnects++;
      // The next URL: the failed instance is not tried again (its address no longer answers).
      void this.retryConnect(i + 1);
    });
  }

  private async retryConnect(i: number) {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await this.connect(i);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  keep(m: Msg) {
    if (m.roomId !== this.roomId) return;
    this.seen.set(m.id, m);
    this.lastId = Math.max(this.lastId, m.id);
  }

  async catchUp(url: string) {
    let after = this.lastId;
    for (;;) {
      // `after` must be an id; a client that has seen nothing yet reads the newest page instead.
      const q = after > 0 ? `after=${after}&limit=100` : 'limit=100';
      const res = await fetch(`${url}/api/v1/chat/rooms/${this.roomId}/messages?${q}`, { headers: bearer(this.token) });
      if (res.status !== 200) throw new Error(`catch-up ${res.status}`);
      const page = (await res.json()) as { items: Msg[]; nextCursor: string | null };
      for (const m of page.items) this.keep(m);
      if (!page.nextCursor || after === 0) return;
      after = Number(page.nextCursor);
    }
  }

  /** A full reload of the room's history (what an app does when it opens the room). */
  async catchUpAll(url: string) {
    const saved = this.lastId;
    this.lastId = 0;
    await this.catchUp(url);
    this.lastId = Math.max(saved, this.lastId);
  }

  /** Sends until acknowledged, over whichever connection is up; the clientId makes resends safe. */
  async send(clientId: string): Promise<Msg> {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (attempt > 0) this.resent.add(clientId);
      const socket = this.socket;
      if (socket?.connected) {
        try {
          const ack = await socket
            .timeout(2000)
            .emitWithAck('message:send', { roomId: this.roomId, body: `m ${clientId}`, clientId });
          if (ack.ok) {
            this.keep(ack.message);
            return ack.message as Msg;
          }
          if (ack.code !== 'RATE_LIMITED' && ack.code !== 'UNAVAILABLE')
            throw new Error(`send refused: ${JSON.stringify(ack)}`);
        } catch (err) {
          if ((err as Error).message.startsWith('send refused')) throw err;
          // timed out: the connection died under it; resend after the failover
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`message ${clientId} never acknowledged`);
  }

  close() {
    this.socket?.removeAllListeners('disconnect');
    this.socket?.close();
  }
}

it('loses and doubles nothing when an instance dies under chatting and streaming clients', async () => {
  const viaA = `http://127.0.0.1:${proxyA.port}`;
  const u1 = await signup(a);
  const u2 = await signup(b);
  const room = (
    await b.http
      .post('/api/v1/chat/rooms')
      .set(bearer(u2.accessToken))
      .send({ type: 'direct', userId: u1.user.id })
      .expect(201)
  ).body;
  // u1 is also a sitter: each reservation request from the owner is one notification for u1.
  const sitterProfile = await a.http
    .put('/api/v1/sitters/me')
    .set(bearer(u1.accessToken))
    .send({
      headline: 'Sitter',
      bio: '',
      services: ['boarding'],
      prices: { boarding: 10000 },
      acceptedSizes: ['small'],
      maxPets: 2,
      location: { lat: 37.55, lng: 126.92 },
      address: 'Seoul',
    })
    .expect(200);
  const { owner, pet } = await makeOwner(b);

  // u1 lives on A (through the proxy), u2 on B.
  const c1 = new ChatClient(u1.accessToken, room.id, [viaA, b.url]);
  const c2 = new ChatClient(u2.accessToken, room.id, [b.url]);
  await c1.connect();
  await c2.connect();
  const stream = new SseClient(u1.accessToken);
  expect(await stream.connect(viaA)).toBe(200);
  let streamReconnects = 0;
  let finished = false;
  const resume = () => {
    if (finished) return;
    streamReconnects++;
    void (async () => {
      for (let i = 0; i < 50; i++) {
        try {
          if ((await stream.connect(b.url)) === 200) {
            stream.onClose(resume);
            return;
          }
        } catch {
          // B not reachable yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  };
  stream.onClose(resume);

  // Under the per-socket limit (20 per 10 s), so every wait below is the failover's, not the limiter's.
  const PER_CLIENT = 18;
  const RESERVATIONS = 12;
  const base = new Date(Date.now() + 30 * 86_400_000);
  const day = (i: number) => new Date(base.getTime() + i * 3 * 86_400_000).toISOString().slice(0, 10);
  let killed = false;
  const traffic = Promise.all([
    (async () => {
      for (let i = 0; i < PER_CLIENT; i++) {
        await c1.send(`u1-${i}`);
        await new Promise((r) => setTimeout(r, 60));
      }
    })(),
    (async () => {
      for (let i = 0; i < PER_CLIENT; i++) {
        await c2.send(`u2-${i}`);
        await new Promise((r) => setTimeout(r, 60));
      }
    })(),
    (async () => {
      for (let i = 0; i < RESERVATIONS; i++) {
        await b.http
          .post('/api/v1/reservations')
          .set(bearer(owner.accessToken))
          .send({
            sitterId: sitterProfile.body.id,
            service: 'boarding',
            petIds: [pet.id],
            startDate: day(i),
            endDate: day(i),
          })
          .expect(201);
        await new Promise((r) => setTimeout(r, 80));
      }
    })(),
    (async () => {
      await new Promise((r) => setTimeout(r, 500));
      await proxyA.cut();
      killed = true;
      await a.close();
    })(),
  ]);
  await traffic;
  expect(killed).toBe(true);

  const stored = await b.sequelize.query<Msg>(
    'SELECT id, roomId, senderId, clientId FROM chat_messages WHERE roomId = ? ORDER BY id',
    {
      replacements: [room.id],
      type: QueryTypes.SELECT,
    },
  );
  expect(stored).toHaveLength(2 * PER_CLIENT);
  expect(new Set(stored.map((m) => `${m.senderId}:${m.clientId}`)).size).toBe(2 * PER_CLIENT);

  // Both clients end up showing exactly the stored messages (after a last catch-up, as an app does on resume).
  await c1.catchUp(b.url);
  await c2.catchUp(b.url);
  expect([...c1.seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((m) => m.id));
  // Known gap (reported in docs/RELIABILITY.md): fan-out is best effort after commit, so a message
  // that committed on A just before A died is never broadcast (the resend through B finds it stored
  // and, per API.md, does not broadcast a repeated clientId). A client that stayed connected to B
  // has moved its `after` past that id and cannot notice. Only such messages may be missing there.
  const missingOnC2 = stored.filter((m) => !c2.seen.has(m.id));
  for (const m of missingOnC2) expect(m.senderId === u1.user.id && c1.resent.has(m.clientId)).toBe(true);
  await c2.catchUpAll(b.url);
  expect([...c2.seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((m) => m.id));
  // Live delivery never doubled a message (a resend with the same clientId is not broadcast again).
  for (const c of [c1, c2]) expect(new Set(c.live.map((m) => m.id)).size).toBe(c.live.length);
  expect(c1.reconnects).toBeGreaterThanOrEqual(1);

  // Every notification reached the stream exactly once, across the failover.
  const [{ n }] = await b.sequelize.query<{ n: number }>(
    "SELECT COUNT(*) AS n FROM notifications WHERE recipientId = ? AND type = 'reservation.requested'",
    {
      replacements: [u1.user.id],
      type: QueryTypes.SELECT,
    },
  );
  expect(Number(n)).toBe(RESERVATIONS);
  await eventually(
    async () => stream.notifications().filter((x) => x.type === 'reservation.requested').length >= RESERVATIONS,
    15_000,
    'notifications streamed',
  );
  const ids = stream.notifications().map((x) => x.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(stream.notifications().filter((x) => x.type === 'reservation.requested')).toHaveLength(RESERVATIONS);
  expect(streamReconnects).toBeGreaterThanOrEqual(1);
  process.stdout.write(
    `failover: ${stored.length} messages, ${RESERVATIONS} notifications, socket reconnects ${c1.reconnects}, stream reconnects ${streamReconnects}, committed-but-not-broadcast ${missingOnC2.length}\n`,
  );

  c1.close();
  c2.close();
  finished = true;
  stream.close();
}, 90_000);
