import fc from 'fast-check';
import { QueryTypes } from 'sequelize';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { TestContext, signup, type TestInstance } from '../helpers/context';
import { hostileObject, malformedValue } from './arbitraries';
import { openDirectRoom } from '../helpers/fixtures';

/**
 * Property-based abuse of the Socket.io events (API.md "Socket.io" and meetups' location:update):
 * random and malformed payloads, extra arguments and missing acknowledgements. Properties: every
 * acknowledged event answers `{ ok }` within 5 s, a refusal carries a known code and never
 * INTERNAL, the connection survives, and a refused send stores nothing.
 */

const RUNS = Number(process.env.ABUSE_RUNS ?? 15);
const EVENTS = ['room:join', 'room:leave', 'message:send', 'message:read', 'typing', 'location:update'];
const CODES = new Set([
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE',
]);
const SHAPE = {
  type: 'object',
  properties: {
    roomId: { type: 'integer', minimum: 1, maximum: 10 },
    meetupId: { type: 'integer', minimum: 1, maximum: 10 },
    messageId: { type: 'integer', minimum: 1, maximum: 10 },
    body: { type: 'string', minLength: 1, maxLength: 20 },
    clientId: { type: 'string', minLength: 1, maxLength: 20 },
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lng: { type: 'number', minimum: -180, maximum: 180 },
  },
};

let ctx: TestContext;
let api: TestInstance;
let socket: Socket;
let roomId: number;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  const me = await signup(api);
  const other = await signup(api);
  roomId = await openDirectRoom(api, me, other);
  // Big enough for the 300 000-character strings: the server's own payload cap must answer, not the client's.
  socket = connectSocket(api.url, { transports: ['websocket'], auth: { token: me.accessToken }, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
}, 60_000);
afterAll(async () => {
  socket?.close();
  await ctx.close();
});

const stored = async () =>
  Number(
    (
      await api.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages', { type: QueryTypes.SELECT })
    )[0].n,
  );

it('answers every malformed event with a clean refusal and keeps the connection', async () => {
  const failures: string[] = [];
  let acked = 0;
  let cut = 0;
  let lastSent = { event: '', size: 0 };
  /** A lost connection is fine only right after an oversized frame (engine.io closes it, by design). */
  const ensureConnected = async () => {
    if (socket.connected) return;
    if (lastSent.size > 32 * 1024) cut++;
    else failures.push(`connection lost after ${lastSent.event} of ${lastSent.size} bytes`);
    socket.connect();
    await new Promise<void>((r) => socket.once('connect', () => r()));
  };
  for (const event of EVENTS) {
    const payload = fc.oneof(
      { weight: 3, arbitrary: hostileObject(SHAPE).map((o) => ({ ...o, roomId: o.roomId ?? roomId })) },
      { weight: 2, arbitrary: malformedValue },
    );
    await fc.assert(
      fc.asyncProperty(payload, fc.boolean(), fc.boolean(), async (p, withAck, extraArg) => {
        const args: unknown[] = extraArg ? [p, 'extra', 42] : [p];
        const size = Buffer.byteLength(JSON.stringify(args) ?? '');
        await ensureConnected();
        lastSent = { event, size };
        if (size > 32 * 1024) {
          // Over the server's payload cap (32 KiB) engine.io closes the connection, by design: wait
          // for that here, so the next event is not blamed for it.
          const gone = new Promise<boolean>((r) => {
            const t = setTimeout(() => r(false), 3000);
            socket.once('disconnect', () => {
              clearTimeout(t);
              r(true);
            });
          });
          socket.emit(event, ...args);
          if (!(await gone)) failures.push(`${event} of ${size} bytes: neither refused nor cut`);
          await ensureConnected();
          return true;
        }
        if (!withAck) {
          socket.emit(event, ...args);
          return true;
        }
        const before = await stored();
        let reply: { ok?: unknown; code?: unknown } | null = null;
        try {
          reply = await socket.timeout(5000).emitWithAck(event, ...args);
        } catch {
          failures.push(`${event} ${JSON.stringify(p)?.slice(0, 120)}: no acknowledgement within 5 s`);
          return true;
        }
        acked++;
        if (typeof reply?.ok !== 'boolean')
          failures.push(`${event}: ack without ok: ${JSON.stringify(reply)?.slice(0, 200)}`);
        else if (!reply.ok) {
          if (!CODES.has(String(reply.code)))
            failures.push(`${event} ${JSON.stringify(p)?.slice(0, 120)}: code ${String(reply.code)}`);
          if (event === 'message:send' && (await stored()) !== before)
            failures.push(`${event}: refused but stored a message`);
        }
        return true;
      }),
      { numRuns: RUNS },
    );
  }
  await new Promise((r) => setTimeout(r, 100));
  await ensureConnected();
  expect(failures.slice(0, 20)).toEqual([]);
  expect(acked).toBeGreaterThan(EVENTS.length * RUNS * 0.15);
  // The server is still fine for a well-formed message afterwards (a fresh socket: the fuzzing one
  // may have used up its per-socket send window).
  const fresh = connectSocket(api.url, { transports: ['websocket'], auth: socket.auth, reconnection: false });
  await new Promise<void>((r) => fresh.once('connect', () => r()));
  await fresh.timeout(5000).emitWithAck('room:join', { roomId });
  const ok = await fresh
    .timeout(5000)
    .emitWithAck('message:send', { roomId, body: 'still here', clientId: `ok-${Date.now()}` });
  fresh.close();
  expect(ok).toMatchObject({ ok: true, message: { body: 'still here' } });
  process.stdout.write(
    `socket abuse: ${EVENTS.length} events, ${acked} acknowledged refusals or answers, ${cut} oversized frames cut\n`,
  );
}, 60_000);
