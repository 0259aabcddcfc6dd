import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './helpers/faults';
import { readEnvFileInDevelopment } from '../src/env-file';

/**
 * The real entry point started in a directory holding a `.env`: the file fills in what the
 * environment lacks in development, and is ignored in production.
 */
const ROOT = path.resolve(__dirname, '..');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-envfile-'));
  fs.writeFileSync(path.join(dir, '.env'), `JWT_SECRET=${randomBytes(32).toString('hex')}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs src/server.ts in `dir` until it exits; MySQL and Redis point at a closed port so it never gets far. */
async function run(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const closed = await freePort();
  const { JWT_SECRET: _ignored, NODE_ENV: _mode, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), path.join(ROOT, 'src/server.ts')],
    {
      cwd: dir,
      env: {
        ...inherited,
        DATABASE_URL: `mysql://root@127.0.0.1:${closed}/pawmate`,
        REDIS_URL: `redis://127.0.0.1:${closed}/0`,
        LOG_LEVEL: 'error',
        // ts-node looks for its tsconfig from the working directory, which is the temp dir here.
        TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

describe('.env', () => {
  it('is ignored in production: a secret missing from the environment is not taken from the file', async () => {
    const { code, output } = await run({ NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration: JWT_SECRET is required');
  }, 60_000);

  it('is read in development (NODE_ENV unset or development), and never overrides the environment', () => {
    const file = path.join(dir, '.env');
    const secret = /^JWT_SECRET=(.*)$/m.exec(fs.readFileSync(file, 'utf8'))![1];
    const unset: NodeJS.ProcessEnv = {};
    expect(readEnvFileInDevelopment(unset, file)).toBe(true);
    expect(unset.JWT_SECRET).toBe(secret);
    const dev: NodeJS.ProcessEnv = { NODE_ENV: 'development', JWT_SECRET: 'set-by-the-operator' };
    readEnvFileInDevelopment(dev, file);
    expect(dev.JWT_SECRET).toBe('set-by-the-operator');
    for (const mode of ['production', 'test']) {
      const env: NodeJS.ProcessEnv = { NODE_ENV: mode };
      expect(readEnvFileInDevelopment(env, file)).toBe(false);
      expect(env.JWT_SECRET).toBeUndefined();
    }
  });
});
