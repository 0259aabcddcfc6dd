import net from 'node:net';
import { TestContext } from './helpers/context';
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
  });

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
