import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { TestContext } from '../helpers/context';
import { raw } from './raw';

/**
 * Slowloris against the real entry point (src/server.ts sets headersTimeout 10 s, requestTimeout
 * 30 s; the TestContext instances use a bare http.createServer without them). Node enforces both
 * from a periodic check (`connectionsCheckingInterval`, 30 s by default, not changed by server.ts),
 * so a slow client is cut between the timeout and the timeout + 30 s: the bounds below say that.
 * The slow-body half takes up to a minute, so it runs only with ABUSE_SLOW_BODY=1 (docs/RELIABILITY.md).
 */
const SLOW_BODY = process.env.ABUSE_SLOW_BODY === '1';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await new TestContext().setup();
}, 60_000);
afterAll(() => ctx.close());

const ROOT = path.resolve(__dirname, '..', '..');

async function startServer() {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      REDIS_PREFIX: ctx.config.redisPrefix,
      JWT_SECRET: ctx.config.jwtSecret,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 25_000);
    child.stdout.on('data', () => {
      const m = /"port":(\d+)[^\n]*pawmate listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`server exited early:\n${out}`)));
  });
  return { child, port };
}

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
    for (let i = 0; i < 50; i++) slow.push(slowClient(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaa\r\n'));
    // Headers complete, body dribbles: one byte a second of a declared 1000-byte body.
    const bodyClient = SLOW_BODY ? slowClient(
      srv.port,
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
      '{"email":"a@b.c"               ',
    ) : null;
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
    process.stdout.write(`slowloris: slow headers cut after ${Math.min(...headerCuts)}–${Math.max(...headerCuts)} ms` + (bodyClient ? `, slow body after ${bodyCut} ms` : '') + '\n');
    const still = await raw(`http://127.0.0.1:${srv.port}`, { method: 'GET', path: '/healthz', timeoutMs: 2000 });
    expect(still.status).toBe(200);
  } finally {
    for (const s of slow) s.stop();
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
  }
}, 90_000);
