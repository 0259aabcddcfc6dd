import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { SseHub, type SseStream } from './sse';
import { AppError } from '../../errors';
import { scrubUrl } from '../logger';

/** The hub on its own, behind a bare Express route, with a raw HTTP client. */
let server: http.Server;
let url: string;
let hub: SseHub;
let registry: Registry;
const opened: SseStream[] = [];
const closedStreams: SseStream[] = [];
let registerError: unknown = null;

interface RawClient {
  text: () => string;
  ended: () => boolean;
  res: http.IncomingMessage;
  close: () => void;
}

function connect(key: number, session: number, pause = false): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/s?key=${key}&session=${session}`, { agent: false }, (res) => {
      let body = '';
      let done = false;
      res.setEncoding('utf8');
      if (pause) res.pause();
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (done = true));
      res.on('close', () => (done = true));
      resolve({ text: () => body, ended: () => done, res, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

const until = async (pred: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeEach(async () => {
  registry = new Registry();
  hub = new SseHub({
    name: 'test',
    pingMs: 50,
    maxBufferedBytes: 64 * 1024,
    maxStreamsPerKey: 2,
    registry,
    retryBaseMs: 1000,
    retryJitterMs: 500,
    onClose: (s) => closedStreams.push(s),
  });
  const app = express();
  app.get('/s', (req, res) => {
    // What the app's middleware sets on every answer: an id, a document-only and a general security header.
    res.setHeader('X-Request-Id', 'rid-1');
    res.setHeader('Content-Security-Policy', "default-src 'self'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      const s = hub.register(Number(req.query.key), Number(req.query.session), res);
      hub.begin(s, res);
      opened.push(s);
    } catch (err) {
      registerError = err;
      // The hub refuses with application errors; this stand-in route answers them as the HTTP layer would.
      const code = (err as AppError).code;
      res.status(code === 'RATE_LIMITED' ? 429 : code === 'UNAVAILABLE' ? 503 : 500).end();
    }
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  hub.stop();
  opened.splice(0);
  closedStreams.splice(0);
  registerError = null;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('starts with a jittered retry line and sends a ping comment on its interval', async () => {
  const c = await connect(1, 1);
  expect(c.res.headers['content-type']).toMatch(/^text\/event-stream/);
  expect(c.res.headers['x-accel-buffering']).toBe('no');
  await until(() => c.text().includes(': ping\n\n'));
  const retry = Number(/^retry: (\d+)\n\n/.exec(c.text())?.[1]);
  expect(retry).toBeGreaterThanOrEqual(1000);
  expect(retry).toBeLessThan(1500);
  c.close();
});

it("answers with the stream's headers and the app's, without the document-only ones", async () => {
  const c = await connect(1, 1);
  expect(c.res.headers).toMatchObject({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-request-id': 'rid-1',
    'x-content-type-options': 'nosniff',
  });
  expect(c.res.headers['content-security-policy']).toBeUndefined();
  // Names go out as the app set them.
  expect(c.res.rawHeaders).toEqual(expect.arrayContaining(['X-Request-Id', 'X-Content-Type-Options']));
  c.close();
});

it("calls the hub's close handler once per stream, whoever ends it", async () => {
  const left = await connect(1, 1);
  const closed = await connect(2, 2);
  const dropped = await connect(3, 3);
  await until(() => opened.length === 3);
  const [s1, s2, s3] = opened;
  left.close();
  await until(() => closedStreams.length === 1);
  s2.close();
  s3.drop('test');
  s2.close();
  expect(closedStreams).toEqual([s1, s2, s3]);
  await until(() => closed.ended() && dropped.ended());
  await new Promise((r) => setTimeout(r, 50));
  expect(closedStreams).toHaveLength(3);
});

it('writes events as id/event/data blocks with one JSON data line', async () => {
  const c = await connect(1, 1);
  await until(() => opened.length === 1);
  opened[0].send({ id: 42, event: 'notification', data: { body: 'two\nlines' } });
  await until(() => c.text().includes('id: 42'));
  expect(c.text()).toContain('id: 42\nevent: notification\ndata: {"body":"two\\nlines"}\n\n');
  c.close();
});

it('cuts a client that stops reading once its queued bytes pass the cap', async () => {
  const c = await connect(1, 1, true);
  await until(() => opened.length === 1);
  const s = opened[0];
  const chunk = { pad: 'x'.repeat(10_000) };
  let writes = 0;
  // The kernel takes a few MB first; after that the process queue grows until the cap.
  while (!s.closed && writes < 2000) {
    s.send({ event: 'big', data: chunk });
    writes++;
  }
  expect(s.closed).toBe(true);
  expect(hub.size).toBe(0);
  const metrics = await registry.getMetricsAsJSON();
  const drops = metrics.find((m) => m.name === 'pawmate_sse_drops_total')!;
  expect(drops.values).toEqual([expect.objectContaining({ labels: { hub: 'test', reason: 'buffer' }, value: 1 })]);
  c.close();
});

it('caps streams per key, closes streams by login, and counts open streams', async () => {
  const a1 = await connect(7, 100);
  const a2 = await connect(7, 200);
  await until(() => opened.length === 2);
  const third = await connect(7, 300);
  expect(third.res.statusCode).toBe(429);
  expect((registerError as AppError).code).toBe('RATE_LIMITED');
  const other = await connect(8, 100);
  await until(() => opened.length === 3);
  const gauge = async () =>
    (await registry.getMetricsAsJSON()).find((m) => m.name === 'pawmate_sse_open_streams')!.values[0].value;
  expect(await gauge()).toBe(3);

  expect(hub.closeSessions([100], 7)).toBe(1);
  await until(() => a1.ended());
  expect(a2.ended()).toBe(false);
  expect(other.ended()).toBe(false);
  expect(await gauge()).toBe(2);
  a2.close();
  other.close();
});

it('ends every stream with a retry hint on stop and refuses new ones with 503', async () => {
  const c = await connect(1, 1);
  await until(() => opened.length === 1);
  hub.stop();
  await until(() => c.ended());
  expect(c.text().match(/retry: \d+/g)).toHaveLength(2);
  const late = await connect(1, 2);
  expect(late.res.statusCode).toBe(503);
});

it('keeps access tokens out of logged URLs', () => {
  expect(scrubUrl('/api/v1/notifications/stream?lastEventId=3&access_token=eyJ.secret.sig')).toBe(
    '/api/v1/notifications/stream?lastEventId=3&access_token=[redacted]',
  );
  expect(scrubUrl('/api/v1/auth/oauth/kakao/callback?code=abc123&state=s3cr3t&iss=x')).toBe(
    '/api/v1/auth/oauth/kakao/callback?code=[redacted]&state=[redacted]&iss=x',
  );
});
