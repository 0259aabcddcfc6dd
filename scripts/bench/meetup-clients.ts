/**
 * Socket.io load generator for the live-location benchmark, one of two processes:
 *   node dist/scripts/bench/meetup-clients.js <index>
 * Driven over IPC by scripts/bench/meetups.ts:
 *  - connect { sockets: [{ url, token, userId, meetupId }], points: { [meetupId]: { lat, lng } }, concurrency }:
 *    WebSocket-only connections; location:nearby needs no room join (it goes to the user's sockets);
 *  - run { startAt, durationMs, intervalMs, jitterMs, measure }: from `startAt` (epoch ms, shared by both
 *    processes) every socket sends `location:update` intervalMs + [0, jitterMs) ms after the previous
 *    update's ack, with a random first phase, for durationMs; resolves once every ack is in; with
 *    `measure`, receipts of updates sent from startAt on are counted and timed;
 *  - collect: what receivers saw since the last collect (and stop measuring);
 *  - close.
 *
 * Fan-out latency needs the send time at the receiver, but `location:nearby` carries only positions:
 * the send time travels in the latitude's low digits (see live-codec.ts). A receiver counts a
 * participant's position once, the first time it sees one newer than the last it saw from that
 * participant (snapshots repeat everybody's last position), and ignores its own.
 */
import { io, type Socket } from 'socket.io-client';
import { serveIpc } from './ipc';
import { decodeSentAt, encodeLat } from './live-codec';

interface SocketSpec {
  url: string;
  token: string;
  userId: number;
  meetupId: number;
}

interface Client extends SocketSpec {
  socket: Socket;
  /** Per sender: the newest send time (epoch ms) seen in a snapshot. */
  seen: Map<number, number>;
}

const ACK_TIMEOUT_MS = 15_000;

const clients: Client[] = [];
let points = new Map<number, { lat: number; lng: number }>();
let events = 0;
let deliveries = 0;
let latencies: number[] = [];
/** Receipts of updates sent before this (warm-up, previous runs) are not measured. */
let measureFrom = Infinity;
const now = () => performance.timeOrigin + performance.now();

function onNearby(c: Client, msg: { meetupId?: number; participants?: { userId: number; lat: number }[] }) {
  const at = now();
  events++;
  const point = points.get(Number(msg?.meetupId));
  if (!point || !Array.isArray(msg.participants)) return;
  for (const p of msg.participants) {
    if (p.userId === c.userId) continue;
    const sentAt = decodeSentAt(point.lat, p.lat, at);
    if (sentAt === null) continue;
    const last = c.seen.get(p.userId) ?? 0;
    // Only a newer position counts: snapshots repeat everyone's last one, and may arrive out of order.
    if (sentAt <= last) continue;
    c.seen.set(p.userId, sentAt);
    if (sentAt < measureFrom) continue;
    deliveries++;
    // The send time is rounded to 0.1 ms, so a receipt within that may come out a hair negative.
    latencies.push(Math.max(0, Math.round((at - sentAt) * 10) / 10));
  }
}

function connectOne(spec: SocketSpec, errors: Map<string, number>): Promise<boolean> {
  const fail = (code: string) => errors.set(code, (errors.get(code) ?? 0) + 1);
  return new Promise((resolve) => {
    const socket = io(spec.url, {
      transports: ['websocket'],
      auth: { token: spec.token },
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    socket.once('connect_error', (err) => {
      fail(`connect: ${err.message}`);
      socket.close();
      resolve(false);
    });
    socket.once('connect', () => {
      const c: Client = { ...spec, socket, seen: new Map() };
      socket.on('location:nearby', (msg) => onNearby(c, msg));
      clients.push(c);
      resolve(true);
    });
  });
}

serveIpc({
  async connect(req: {
    sockets: SocketSpec[];
    points: Record<string, { lat: number; lng: number }>;
    concurrency: number;
  }) {
    points = new Map(Object.entries(req.points).map(([id, p]) => [Number(id), p]));
    const errors = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    let connected = 0;
    await Promise.all(
      Array.from({ length: Math.min(req.concurrency, req.sockets.length) }, async () => {
        while (next < req.sockets.length) {
          if (await connectOne(req.sockets[next++], errors)) connected++;
        }
      }),
    );
    return { connected, ms: Date.now() - started, errors: Object.fromEntries(errors) };
  },

  async run(req: { startAt: number; durationMs: number; intervalMs: number; jitterMs: number; measure: boolean }) {
    const errors = new Map<string, number>();
    const count = (k: string) => errors.set(k, (errors.get(k) ?? 0) + 1);
    const ackMs: number[] = [];
    let sent = 0;
    let acked = 0;
    let lastAck = 0;
    let outstanding = 0;
    let allAcked: (() => void) | null = null;
    const stopAt = req.startAt + req.durationMs;
    const timers = new Set<NodeJS.Timeout>();
    let cpuBefore = process.cpuUsage();
    let wallBefore = now();
    // CPU over the sending window, from the shared start (the wait before it is idle).
    setTimeout(
      () => {
        cpuBefore = process.cpuUsage();
        wallBefore = now();
      },
      Math.max(0, req.startAt - Date.now()),
    );
    if (req.measure) measureFrom = req.startAt;

    /** Resolves when the update is answered (or given up on), so the next one can be timed from it. */
    const send = (c: Client): Promise<void> => {
      if (!c.socket.connected) return Promise.resolve(void count('disconnected'));
      const point = points.get(c.meetupId)!;
      const at = now();
      outstanding++;
      sent++;
      // Each participant stands at its own bearing from the meeting point, so distances differ.
      const payload = {
        meetupId: c.meetupId,
        lat: encodeLat(point.lat, at),
        lng: point.lng + ((c.userId % 20) - 10) * 0.0001,
      };
      return c.socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('location:update', payload)
        .then(
          (ack: { ok: boolean; code?: string }) => {
            if (ack?.ok) {
              acked++;
              lastAck = now();
              ackMs.push(Math.round((lastAck - at) * 10) / 10);
            } else count(ack?.code ?? 'bad ack');
          },
          () => void count('ack timeout'),
        )
        .finally(() => {
          outstanding--;
          if (outstanding === 0 && Date.now() >= stopAt) allAcked?.();
        });
    };
    // The server allows one update per 2 s per user, timed by its own receipt. Timing the next update
    // from this one's ack (which follows that receipt) keeps a well-behaved client within the limit
    // however late the server answers: a slow server shows up as fewer updates/s, not as
    // RATE_LIMITED acks. The jitter only ever lengthens the interval.
    const schedule = (c: Client, at: number) => {
      if (at >= stopAt) return;
      const t = setTimeout(
        () => {
          timers.delete(t);
          void send(c).then(() => schedule(c, Date.now() + req.intervalMs + Math.random() * req.jitterMs));
        },
        Math.max(0, at - Date.now()),
      );
      timers.add(t);
    };
    for (const c of clients) schedule(c, req.startAt + Math.random() * req.intervalMs);
    await new Promise((r) => setTimeout(r, Math.max(0, stopAt - Date.now())));
    for (const t of timers) clearTimeout(t);
    if (outstanding > 0) await new Promise<void>((r) => (allAcked = r));
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPct = Math.round(((cpu.user + cpu.system) / 1000 / (now() - wallBefore)) * 100);
    return { sent, acked, lastAck, ackMs, cpuPct, errors: Object.fromEntries(errors) };
  },

  collect() {
    const out = { events, deliveries, latencies };
    events = 0;
    deliveries = 0;
    latencies = [];
    measureFrom = Infinity;
    return out;
  },

  close() {
    for (const c of clients.splice(0)) c.socket.close();
    return true;
  },
});
