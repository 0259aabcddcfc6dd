/**
 * Baseline for the chat benchmark: Socket.io relaying without persistence, auth or limits, with the
 * same Redis adapter as Pawmate so two of them relay across processes.
 *   RELAY_REDIS_URL=redis://… RELAY_PREFIX=bench-relay: node dist/scripts/bench/plain-relay.js <port>
 * Events mirror Pawmate's: `room:join` { roomId } → ack; `message:send` { roomId, body, clientId } →
 * ack { ok, message } and `message:new` to the room's other sockets.
 */
import http from 'node:http';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { serveIpc } from './ipc';

const portArg = process.argv[2];
const redisUrl = process.env.RELAY_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = process.env.RELAY_PREFIX ?? 'bench-relay:';
const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const server = http.createServer();
const io = new Server(server, {
  path: '/socket.io',
  serveClient: false,
  adapter: createAdapter(pub, sub, { key: `${prefix}socket.io` }),
});
let nextId = 1;

io.on('connection', (socket) => {
  socket.on('room:join', async (p: { roomId: number }, ack?: (r: unknown) => void) => {
    await socket.join(`room:${p?.roomId}`);
    ack?.({ ok: true });
  });
  socket.on('message:send', (p: { roomId: number; body: string; clientId: string }, ack?: (r: unknown) => void) => {
    const message = {
      id: nextId++,
      roomId: p.roomId,
      senderId: 0,
      body: p.body,
      clientId: p.clientId,
      createdAt: new Date().toISOString(),
    };
    socket.to(`room:${p.roomId}`).emit('message:new', message);
    ack?.({ ok: true, message });
  });
});

server.listen(Number(portArg), '127.0.0.1', () => serveIpc({ ping: () => true }));
