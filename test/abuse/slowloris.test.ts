import net from 'node:net';
import { TestContext } from '../helpers/context';
import { entryPointEnv, startEntryPoint } from '../helpers/server-process';
import { raw } from './raw';

/**
 * Slowloris against the real entry point (src/server.ts sets headersTimeout 10 s, requestTimeout
 * 30 s, and checks them every second; the TestContext instances use a bare http.createServer
 * without them). The bounds below allow Node's default 30 s check too, so they hold either way.
 * The slow-body half takes up to a minute, so it runs only with ABUSE_SLOW_BODY=1 (docs/RELIABILITY.md).
 */
const SLOW_BODY = process.env.ABUSE_SLOW_BODY === '1';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await new TestContext().setup();
}, 60_000);
afterAll(() => ctx.close());

const startServer = () => startEntryPoint(entryPointEnv(ctx));

interface Slow {
  closedAfterMs: Promise<number>;
  received: () => string;
  stop: () => void;
}

/** A client that sends `head` and then one byte of `drip` per second, forever. */
function slowClient(port: number, head: string, drip: string): Slow {
  const started = Date.now();
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let i = 0;
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write(head));
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(drip[i++ % drip.length]);
  }, 1000);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { closedAfterMs, received: () => received, stop: () => socket.destroy() };
}

it('cuts clients that send headers or a body too slowly, and keeps serving everyone else', async () => {
  const srv = await startServer();
  const slow: Slow[] = [];
  try {
    // Headers never finish: one header byte a second.
    for (let i = 0; i < 50; i++)
      slow.push(slowClient(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaa\r\n'));
    // Headers complete, body dribbles: one byte a second of a declared 1000-byte body.
    const bodyClient = SLOW_BODY
      ? slowClient(
          srv.port,
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
          '{"email":"a@b.c"               ',
        )
      : null;
    // Meanwhile a normal client is served at once.
    await new Promise((r) => setTimeout(r, 2000));
    const ok = await raw(`http://127.0.0.1:${srv.port}`, { method: 'GET', path: '/healthz', timeoutMs: 2000 });
    expect(ok.status).toBe(200);
    expect(ok.ms).toBeLessThan(1000);

    const headerCuts = await Promise.all(slow.map((s) => s.closedAfterMs));
    for (const ms of headerCuts) {
      expect(ms).toBeGreaterThanOrEqual(9_500);
      expect(ms).toBeLessThan(42_000);
    }
    expect(slow[0].received()).toMatch(/^HTTP\/1\.1 408/);
    let bodyCut = -1;
    if (bodyClient) {
      slow.push(bodyClient);
      bodyCut = await bodyClient.closedAfterMs;
      expect(bodyCut).toBeGreaterThanOrEqual(29_500);
      expect(bodyCut).toBeLessThan(62_000);
    }
    process.stdout.write(
      `slowloris: slow headers cut after ${Math.min(...headerCuts)}–${Math.max(...headerCuts)} ms` +
        (bodyClient ? `, slow body after ${bodyCut} ms` : '') +
        '\n',
    );
    const still = await raw(`http://127.0.0.1:${srv.port}`, { method: 'GET', path: '/healthz', timeoutMs: 2000 });
    expect(still.status).toBe(200);
  } finally {
    for (const s of slow) s.stop();
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
  }
}, 90_000);
