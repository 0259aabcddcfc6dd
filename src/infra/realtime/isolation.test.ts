import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { createLogger } from '../logger';
import { channelNamespace, connectRedis, createRedis, type Redis } from '../redis';
import { EventBus } from './bus';
import { createSocketServer, type SocketServer } from './socket';

// This file's own channel (the map is checked at compile time; see BusChannels).
declare module './bus' {
  interface BusChannels {
    'test.isolation': { from: string };
  }
  interface BusKeyedChannels {
    'test.keyed': { n: string };
  }
}
declare module './socket' {
  interface ServerToClientEvents {
    news: (message: string) => void;
  }
}

/**
 * Two deployments on one Redis server that differ only by the database index of REDIS_URL (same
 * REDIS_PREFIX): keys are apart by nature, pub/sub is one space for the whole server, so channels
 * must carry the index. Each side also has a same-database peer that must hear it (the control).
 */
const BASE = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0');
const urlOfDb = (db: number) => Object.assign(new URL(BASE), { pathname: `/${db}` }).toString();
const DB_A = urlOfDb(0);
const DB_B = urlOfDb(1);
const prefix = `iso${randomBytes(3).toString('hex')}:`;
const logger = createLogger('silent');

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function bus(url: string): Promise<EventBus> {
  const pub: Redis = createRedis(url);
  await connectRedis(pub);
  const b = new EventBus(url, prefix, pub, logger);
  await b.connect();
  cleanups.push(
    () => pub.disconnect(),
    () => b.close(),
  );
  return b;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('derives distinct channel namespaces from the database index', () => {
  expect(channelNamespace('redis://h:6379/0', 'pm:')).toBe('pm:db0:');
  expect(channelNamespace('redis://h:6379/3', 'pm:')).toBe('pm:db3:');
  expect(channelNamespace('redis://h:6379', 'pm:')).toBe('pm:db0:');
});

it('keeps bus messages inside the deployment whose REDIS_URL names the same database', async () => {
  const [a, aPeer, b] = await Promise.all([bus(DB_A), bus(DB_A), bus(DB_B)]);
  const heard = { a: [] as string[], aPeer: [] as string[], b: [] as string[] };
  await a.subscribe('test.isolation', (m: { from: string }) => heard.a.push(m.from));
  await aPeer.subscribe('test.isolation', (m: { from: string }) => heard.aPeer.push(m.from));
  await b.subscribe('test.isolation', (m: { from: string }) => heard.b.push(m.from));
  await a.publish('test.isolation', { from: 'a' });
  await b.publish('test.isolation', { from: 'b' });
  // Markers published last: once each side has its own, anything crossing over would have arrived too
  // (Redis delivers a channel's messages to a subscriber in publish order).
  await a.publish('test.isolation', { from: 'a-end' });
  await b.publish('test.isolation', { from: 'b-end' });
  await until(() => heard.a.includes('a-end') && heard.aPeer.includes('a-end') && heard.b.includes('b-end'), 'markers');
  expect(heard.a).toEqual(['a', 'a-end']);
  expect(heard.aPeer).toEqual(['a', 'a-end']);
  expect(heard.b).toEqual(['b', 'b-end']);
});

it('delivers a keyed message only to the buses that joined its key, until their last holder leaves', async () => {
  const [a, aPeer, b] = await Promise.all([bus(DB_A), bus(DB_A), bus(DB_B)]);
  const heard = { a: [] as string[], aPeer: [] as string[], b: [] as string[] };
  const ka = a.keyed('test.keyed', (key, m) => heard.a.push(`${key}:${m.n}`));
  const kp = aPeer.keyed('test.keyed', (key, m) => heard.aPeer.push(`${key}:${m.n}`));
  const kb = b.keyed('test.keyed', (key, m) => heard.b.push(`${key}:${m.n}`));
  // Two holders of key 1 on A share one subscription; B (another database) joins key 1 too.
  await Promise.all([ka.join(1), ka.join(1), kp.join(2), kb.join(1)]);
  expect(a.keyedCount).toBe(1);
  await a.publishKeyed('test.keyed', [
    [1, { n: 'x' }],
    [2, { n: 'y' }],
    [3, { n: 'nobody' }],
  ]);
  await until(() => heard.a.length === 1 && heard.aPeer.length === 1, 'keyed messages');
  ka.leave(1); // one holder left: still subscribed
  await a.publishKeyed('test.keyed', [[1, { n: 'still' }]]);
  await until(() => heard.a.includes('1:still'), 'message after one leave');
  ka.leave(1);
  const redis = createRedis(DB_A);
  await connectRedis(redis);
  cleanups.push(() => redis.disconnect());
  const channel = a.keyedChannel('test.keyed', 1);
  await until(() => a.keyedCount === 0, 'local leave');
  for (let i = 0; i < 100 && Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]) > 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  await a.publishKeyed('test.keyed', [
    [1, { n: 'gone' }],
    [2, { n: 'end' }],
  ]);
  await until(() => heard.aPeer.includes('2:end'), 'marker');
  await new Promise((r) => setTimeout(r, 100));
  expect(heard.a).toEqual(['1:x', '1:still']);
  expect(heard.aPeer).toEqual(['2:y', '2:end']);
  expect(heard.b).toEqual([]);
});

async function socketServer(url: string): Promise<{ io: SocketServer; url: string }> {
  const server = http.createServer();
  const io = createSocketServer(server, { redisUrl: url, redisPrefix: prefix, corsOrigins: [], logger });
  io.io.on('connection', (s) => void s.join('room-1'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () => new Promise((r) => server.close(r)),
    () => io.close(),
  );
  return { io, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function client(url: string): Promise<ClientSocket> {
  const socket = connectClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  cleanups.push(() => socket.disconnect());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  // Joined server-side on connection; give the adapter its SUBSCRIBE round trip.
  await new Promise((r) => setTimeout(r, 200));
  return socket;
}

it('keeps Socket.io room emits inside the deployment (the Redis adapter channels)', async () => {
  const [a, aPeer, b] = await Promise.all([socketServer(DB_A), socketServer(DB_A), socketServer(DB_B)]);
  const [onPeer, onB] = await Promise.all([client(aPeer.url), client(b.url)]);
  const heard = { peer: [] as string[], b: [] as string[] };
  onPeer.on('news', (m: string) => heard.peer.push(m));
  onB.on('news', (m: string) => heard.b.push(m));
  a.io.io.to('room-1').emit('news', 'from-a');
  b.io.io.to('room-1').emit('news', 'b-end');
  await until(() => heard.peer.includes('from-a') && heard.b.includes('b-end'), 'room emits');
  // One more round from A after B's own marker: a crossing emit would have reached B by now.
  a.io.io.to('room-1').emit('news', 'a-end');
  await until(() => heard.peer.includes('a-end'), 'second emit');
  await new Promise((r) => setTimeout(r, 100));
  expect(heard.b).toEqual(['b-end']);
  expect(heard.peer).toEqual(['from-a', 'a-end']);
});
