import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { answerClientErrors } from './client-error';

/**
 * Node's own refusals (400 malformed, 408 too slow, 431 headers too large) on a real server with
 * short timeouts, so the 408 arrives in well under a second.
 */
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer(
    { connectionsCheckingInterval: 100, headersTimeout: 300, requestTimeout: 300 },
    (_req, res) => res.end('ok'),
  );
  answerClientErrors(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));

/** Writes raw bytes, reads until the server closes; returns status line, headers and body. */
async function rawExchange(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  const socket = net.connect(port, '127.0.0.1');
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString()));
  await new Promise((r) => socket.once('connect', r));
  socket.write(bytes);
  await new Promise((r) => socket.once('close', r));
  const [head, body] = [reply.slice(0, reply.indexOf('\r\n\r\n')), reply.slice(reply.indexOf('\r\n\r\n') + 4)];
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

it('answers a malformed request with a 400 problem carrying the client’s X-Request-Id', async () => {
  const r = await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-41\r\nBad Header\r\n\r\n');
  expect(r.status).toBe(400);
  expect(r.headers['x-request-id']).toBe('trace-41');
  expect(r.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
});

it('mints an id when the client sent none, or an unsafe one', async () => {
  const none = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
  expect(none.status).toBe(400);
  expect(none.headers['x-request-id']).toMatch(UUID);
  const unsafe = await rawExchange('GET / HTTP/1.1\r\nX-Request-Id: a b<script>\r\nBad Header\r\n\r\n');
  expect(unsafe.headers['x-request-id']).toMatch(UUID);
});

it('answers headers past the limit with a 431 problem and an id', async () => {
  const r = await rawExchange(`GET /?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  expect(r.status).toBe(431);
  expect(r.headers['x-request-id']).toMatch(UUID);
  expect(r.body).toMatchObject({ status: 431, code: 'PAYLOAD_TOO_LARGE' });
});

it('answers a request that never finishes its headers with a 408 problem and an id', async () => {
  const r = await rawExchange('GET / HTTP/1.1\r\nHost: x\r\n');
  expect(r.status).toBe(408);
  expect(r.headers['x-request-id']).toMatch(UUID);
  expect(r.body).toMatchObject({ status: 408 });
});
