/**
 * Socket.io load generator for the chat benchmark, one of several processes:
 *   node dist/scripts/bench/chat-clients.js <index>
 * Driven over IPC by scripts/bench/chat.ts:
 *  - connect { sockets: [{ url, token, rooms }], concurrency }: WebSocket-only connections, each
 *    joining its rooms with `room:join` (acknowledged);
 *  - run { durationMs, perSocket, roomIndex, maxInFlight }: every socket sends `message:send` to its
 *    rooms[roomIndex] at `perSocket` messages/s (random phase, at most maxInFlight unacknowledged);
 *    resolves once the last ack is in, with counts and timings;
 *  - collect: what the receivers saw since the last collect (`message:new` latencies);
 *  - close.
 * The send time travels in the body; receivers subtract it from their own clock (same machine),
 * with sub-millisecond precision (performance.timeOrigin + now()).
 */
import { io, type Socket } from 'socket.io-client';
import { serveIpc } from './ipc';

interface Client {
  socket: Socket;
  rooms: number[];
  inFlight: number;
}

/** After the sending window, how long to wait for acks that are still out. */
const ACK_GRACE_MS = 15_000;
const clients: Client[] = [];
let latencies: number[] = [];
let received = 0;
const index = process.argv[2] ?? '0';
const now = () => performance.timeOrigin + performance.now();

function onMessage(msg: { body?: string }) {
  const m = /^bench (\d+(?:\.\d+)?)$/.exec(msg?.body ?? '');
  if (!m) return;
  received++;
  latencies.push(Math.round((now() - Number(m[1])) * 10) / 10);
}

function connectOne(url: string, token: string | null, rooms: number[], errors: Map<string, number>): Promise<boolean> {
  const fail = (code: string) => errors.set(code, (errors.get(code) ?? 0) + 1);
  return new Promise((resolve) => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: token ? { token } : {},
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    socket.once('connect_error', (err) => {
      fail(`connect: ${err.message}`);
      socket.close();
      resolve(false);
    });
    socket.once('connect', async () => {
      socket.on('message:new', onMessage);
      for (const roomId of rooms) {
        const ack = (await socket
          .timeout(20_000)
          .emitWithAck('room:join', { roomId })
          .catch(() => ({ ok: false, code: 'TIMEOUT' }))) as {
          ok: boolean;
          code?: string;
        };
        if (!ack.ok) {
          fail(`room:join: ${ack.code}`);
          socket.close();
          return resolve(false);
        }
      }
      clients.push({ socket, rooms, inFlight: 0 });
      resolve(true);
    });
  });
}

serveIpc({
  async connect(req: { sockets: { url: string; token: string | null; rooms: number[] }[]; concurrency: number }) {
    const errors = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    let connected = 0;
    await Promise.all(
      Array.from({ length: Math.min(req.concurrency, req.sockets.length) }, async () => {
        while (next < req.sockets.length) {
          const s = req.sockets[next++];
          if (await connectOne(s.url, s.token, s.rooms, errors)) connected++;
        }
      }),
    );
    return { connected, ms: Date.now() - started, errors: Object.fromEntries(errors) };
  },

  async run(req: { durationMs: number; perSocket: number; roomIndex: number; maxInFlight?: number }) {
    const maxInFlight = req.maxInFlight ?? 2;
    const interval = 1000 / req.perSocket;
    const errors = new Map<string, number>();
    const ackMs: number[] = [];
    let sent = 0;
    let acked = 0;
    let skipped = 0;
    let seq = 0;
    let lastAck = 0;
    let outstanding = 0;
    let allAcked: (() => void) | null = null;
    const firstSend = now();
    const timers: NodeJS.Timeout[] = [];

    const sendFrom = (c: Client) => {
      if (!c.socket.connected) return void errors.set('disconnected', (errors.get('disconnected') ?? 0) + 1);
      // An instance that falls behind shows up as skipped sends rather than an unbounded queue here.
      if (c.inFlight >= maxInFlight) return void skipped++;
      c.inFlight++;
      outstanding++;
      sent++;
      const at = now();
      const payload = {
        roomId: c.rooms[req.roomIndex],
        body: `bench ${at.toFixed(3)}`,
        clientId: `b${index}-${seq++}-${Date.now().toString(36)}`,
      };
      c.socket
        .timeout(ACK_GRACE_MS)
        .emitWithAck('message:send', payload)
        .then(
          (ack: { ok: boolean; code?: string }) => {
            if (ack?.ok) {
              acked++;
              lastAck = now();
              ackMs.push(Math.round((lastAck - at) * 10) / 10);
            } else errors.set(ack?.code ?? 'bad ack', (errors.get(ack?.code ?? 'bad ack') ?? 0) + 1);
          },
          () => errors.set('ack timeout', (errors.get('ack timeout') ?? 0) + 1),
        )
        .finally(() => {
          c.inFlight--;
          outstanding--;
          if (outstanding === 0) allAcked?.();
        });
    };

    for (const c of clients) {
      // A random phase per socket: the load is spread over each interval instead of arriving in bursts.
      const start = setTimeout(() => {
        sendFrom(c);
        timers.push(setInterval(() => sendFrom(c), interval));
      }, Math.random() * interval);
      timers.push(start);
    }
    await new Promise((r) => setTimeout(r, req.durationMs));
    for (const t of timers) clearTimeout(t);
    if (outstanding > 0) await new Promise<void>((r) => (allAcked = r));
    return { sent, acked, skipped, firstSend, lastAck, ackMs, errors: Object.fromEntries(errors) };
  },

  collect() {
    const out = { received, latencies };
    received = 0;
    latencies = [];
    return out;
  },

  close() {
    for (const c of clients.splice(0)) c.socket.close();
    return true;
  },
});
