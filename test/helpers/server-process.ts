import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from './context';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Everything the process printed so far (stdout and stderr). */
  output: () => string;
}

/** The environment of a production-like server on the test context's database and Redis prefix. */
export function entryPointEnv(ctx: TestContext, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    DATABASE_URL: ctx.config.databaseUrl,
    REDIS_URL: ctx.config.redisUrl,
    REDIS_PREFIX: ctx.config.redisPrefix,
    JWT_SECRET: ctx.config.jwtSecret,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Spawns the real entry point (src/server.ts, with its timeouts and signal handling). */
export function spawnEntryPoint(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/server.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts the entry point and waits for its "listening" log line. */
export async function startEntryPoint(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawnEntryPoint(env);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const m = /"port":(\d+)[^\n]*pawmate listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`server exited early:\n${out}`)));
  });
  return { child, port, exited, output: () => out };
}
