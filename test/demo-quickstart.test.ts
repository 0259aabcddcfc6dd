import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm run demo` on a machine where nothing answers at DATABASE_URL / REDIS_URL: with mariadbd and
 * redis-server installed it starts private ones (data under PAWMATE_HOME) and serves; without them it
 * says in one line what is missing. Runs the compiled code (`--no-build`): CI builds before the tests,
 * and a missing dist/ is built here.
 */
const ROOT = path.resolve(__dirname, '..');
const DEMO = path.join(ROOT, 'scripts', 'demo.js');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('npm run demo without MariaDB or Redis', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-demo-'));
  let demo: ChildProcess | null = null;
  afterAll(() => {
    if (demo && demo.exitCode === null) demo.kill('SIGINT');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function env(extra: Record<string, string> = {}) {
    const [db, redis, http] = [await freePort(), await freePort(), await freePort()];
    return {
      ports: { db, redis, http },
      env: {
        HOME: process.env.HOME ?? tmp,
        NODE_ENV: 'development',
        DATABASE_URL: `mysql://root@127.0.0.1:${db}/pawmate_demo`,
        REDIS_URL: `redis://127.0.0.1:${redis}/0`,
        PORT: String(http),
        PUBLIC_URL: `http://127.0.0.1:${http}`,
        UPLOAD_DIR: path.join(tmp, 'uploads'),
        PAWMATE_HOME: path.join(tmp, 'home'),
        PAWMATE_ENV_FILE: path.join(tmp, '.env'),
        BCRYPT_COST: '4',
        LOG_LEVEL: 'warn',
        ...extra,
      },
    };
  }

  it('names the missing service and the command to get it, in one line, when the binaries are absent', async () => {
    const { env: e } = await env({ PATH: path.join(tmp, 'empty-bin'), PAWMATE_EXTRA_BIN_DIRS: '' });
    const res = spawnSync(process.execPath, [DEMO, '--no-build'], { env: e, encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^MariaDB is not reachable at 127\.0\.0\.1:\d+ and mariadbd is not installed: /);
    expect(lines[0]).toContain('`docker compose up -d db redis`');
    expect(lines[0]).toContain('`sudo apt-get install mariadb-server`');
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });

  it('starts private MariaDB and Redis under PAWMATE_HOME, serves, and stops them with the demo', async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'server.js'))) {
      spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
    const { env: e, ports } = await env({ PATH: process.env.PATH ?? '' });
    let output = '';
    demo = spawn(process.execPath, [DEMO, '--no-build'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (d) => (output += d));
    demo.stderr!.on('data', (d) => (output += d));
    const base = `http://127.0.0.1:${ports.http}`;
    const until = Date.now() + 200_000;
    let ready = false;
    while (!ready && Date.now() < until && demo.exitCode === null) {
      ready = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 1000));
    }
    if (!ready) throw new Error(`the demo did not serve:\n${output}`);

    expect(output).toContain(`starting a private MariaDB on 127.0.0.1:${ports.db}`);
    expect(output).toContain(`starting a private Redis on 127.0.0.1:${ports.redis}`);
    expect(fs.existsSync(path.join(e.PAWMATE_HOME, 'mariadb', 'data', 'mysql'))).toBe(true);
    expect((await fetch(`${base}/app/`)).status).toBe(200);
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@pawmate.dev', password: 'pawmate-demo' }),
    });
    expect(login.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => demo!.once('exit', resolve));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopping the private services');
    expect(await answers(ports.db)).toBe(false);
    expect(await answers(ports.redis)).toBe(false);
    // Kept for the next run.
    expect(fs.existsSync(path.join(e.PAWMATE_HOME, 'mariadb', 'data', 'pawmate_demo'))).toBe(true);
  }, 300_000);
});
