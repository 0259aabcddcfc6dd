import net from 'node:net';
import { TestContext, type TestInstance } from './helpers/context';
import { CuttableProxy, HoldingProxy } from './helpers/faults';
import { entryPointEnv, spawnEntryPoint, startEntryPoint } from './helpers/server-process';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await new TestContext().setup();
});
afterAll(() => ctx.close());

const serverEnv = () => entryPointEnv(ctx, { SHUTDOWN_TIMEOUT_MS: '5000' });

describe('the server process', () => {
  it('refuses to start with one readable line naming a bad variable', async () => {
    // Variables already in the environment win over a developer's .env, so this is deterministic.
    const child = spawnEntryPoint({ ...serverEnv(), DATABASE_URL: 'postgres://db.example/pawmate' });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: DATABASE_URL /)]);
  }, 60_000); // ts-node compiles the entry point first: over 30 s on a loaded 2-core machine

  it('finishes an in-flight request on SIGTERM, refuses new ones, and exits 0', async () => {
    const srv = await startEntryPoint(serverEnv());
    // An in-flight request: headers and half the body sent before the signal.
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'whatever password' });
    const socket = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (c: Buffer) => (response += c.toString()));
    socket.write(
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    socket.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 200));

    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    // New connections are refused once the server stopped listening.
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);

    socket.write(body.slice(10));
    const code = await srv.exited;
    expect(response).toMatch(/^HTTP\/1\.1 401/);
    expect(code).toBe(0);
    expect(srv.output()).toContain('shutdown complete');
  }, 40_000);
});

/**
 * A graceful stop while Redis is unreachable or silent. Libraries send commands during close without
 * awaiting them (the Socket.io adapter's UNSUBSCRIBEs); when the connection closes before their
 * replies, each fails with "Connection is closed", and a failure nobody handles is an unhandled
 * rejection: logged as an error by the server, and a failed test file under Jest.
 */
describe('an app instance stopping', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const through = async (proxy: { port: number }): Promise<TestInstance> => {
    const redis = new URL(ctx.config.redisUrl);
    redis.host = `127.0.0.1:${proxy.port}`;
    return ctx.instance({ redisUrl: redis.toString() });
  };

  it('while Redis holds every reply leaves no unhandled rejection', async () => {
    const redis = new URL(ctx.config.redisUrl);
    const proxy = new HoldingProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    const inst = await through(proxy);
    // The start's background work (the geo heal's first read) has had its answer: nothing but the stop
    // itself talks to Redis while held.
    await inst.redis.ping();
    proxy.hold();
    await inst.close();
    // The held connections drop now: whatever was sent during the stop fails here.
    await proxy.close();
    await sleep(300);
  });

  it('after its Redis connections dropped leaves no unhandled rejection', async () => {
    const redis = new URL(ctx.config.redisUrl);
    const proxy = new CuttableProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    const inst = await through(proxy);
    await proxy.cut();
    await inst.close();
    await sleep(300);
  });
});
