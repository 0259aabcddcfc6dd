import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { lingerBeforeClose } from './linger';

/**
 * The bounds of the lingering close: a server that answers 413 at once and closes (as the upload
 * guard does), with small limits so the cut is quick to see.
 */
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('Connection', 'close');
    req.resume();
    res.statusCode = 413;
    res.end('too large');
  });
  lingerBeforeClose(server, { maxBytes: 2 * 1024 * 1024, maxMs: 500 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));

/** Declares `declared` bytes, writes `sent` of them without reading, then reads what is left. */
function upload(declared: number, sent: number): Promise<{ reply: string; error: string | null; ms: number }> {
  const started = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  let reply = '';
  return new Promise((resolve) => {
    const done = (error: string | null) => resolve({ reply, error, ms: performance.now() - started });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('connect', () => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
      socket.write(Buffer.alloc(sent), () => {
        socket.on('data', (c: Buffer) => (reply += c.toString()));
        socket.on('end', () => done(null));
        socket.resume();
      });
    });
  });
}

it('reads and discards the rest of a body within the byte bound, so the answer is readable', async () => {
  const r = await upload(1024 * 1024 + 100, 1024 * 1024 + 100);
  expect(r.error).toBeNull();
  expect(r.reply).toMatch(/^HTTP\/1\.1 413 /);
});

it('cuts a body past the byte bound (the client may then see a reset)', async () => {
  const r = await upload(64 * 1024 * 1024, 64 * 1024 * 1024);
  expect(r.error).not.toBeNull();
});

it('cuts a client that stops sending after the time bound', async () => {
  const connections = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
  // Half-open allowed: this client keeps its side open after our FIN, as a stalled uploader would.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString()));
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
  socket.write(Buffer.alloc(1024));
  await new Promise((r) => setTimeout(r, 200));
  expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  expect(await connections()).toBe(1); // still reading what may come
  await new Promise((r) => setTimeout(r, 700));
  expect(await connections()).toBe(0); // cut at maxMs
  socket.destroy();
});
