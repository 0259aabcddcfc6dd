import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { createSequelize } from '../../src/infra/db';
import { dropDatabase, ensureDatabase, migrator } from '../../src/infra/migrator';

export interface LoadEnv {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
}

/** A fresh database and an empty Redis namespace: a run never depends on what an earlier one left. */
export async function freshStores(env: LoadEnv, log: (s: string) => void): Promise<void> {
  log(`preparing a fresh ${env.databaseUrl}`);
  await dropDatabase(env.databaseUrl);
  await ensureDatabase(env.databaseUrl);
  const sequelize = createSequelize(env.databaseUrl, 1);
  await migrator(sequelize).up();
  await sequelize.close();
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.redisPrefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

export interface Server {
  child: ChildProcess;
  url: string;
  logFile: string;
}

/** Forks the compiled entry point and waits for its IPC `ready` message, which carries the port. */
async function forkServer(env: NodeJS.ProcessEnv, index: number): Promise<Server> {
  const logFile = path.join(os.tmpdir(), `pawmate-load-server-${index}.log`);
  const out = fs.openSync(logFile, 'w');
  const child = fork(path.resolve(__dirname, '..', '..', 'src', 'server.js'), [], {
    env,
    stdio: ['ignore', out, out, 'ipc'],
  });
  fs.closeSync(out);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port?: number }) => resolve(Number(m.port)));
    child.once('exit', (code) => reject(new Error(`server ${index} exited with ${code}; see ${logFile}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, logFile };
}

/** Two instances on one database and one Redis namespace (same JWT key: any token works on both). */
export async function startServers(env: LoadEnv, count = 2): Promise<Server[]> {
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: env.redisPrefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    // The load measures the service, not bcrypt at production cost (the bench keeps the same choice).
    BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
    // One IP sends everything here; the limits have their own tests.
    RATE_LIMIT_AUTH_GENERAL_PER_MIN: '100000000',
    RATE_LIMIT_AUTH_MAX: '100000000',
    RATE_LIMIT_AUTH_IP_MAX: '100000000',
    // A soak outlives the 15-minute default; tokens made during setup must last the whole run.
    ACCESS_TOKEN_TTL_SEC: '7200',
    DB_POOL_MAX: '10',
  };
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) servers.push(await forkServer(base, i));
  return servers;
}

export async function stopServers(servers: Server[]): Promise<Array<number | null>> {
  return Promise.all(
    servers.map(
      (s) =>
        new Promise<number | null>((resolve) => {
          if (s.child.exitCode !== null) return resolve(s.child.exitCode);
          const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
          s.child.once('exit', (code) => {
            clearTimeout(timer);
            resolve(code);
          });
          s.child.kill('SIGTERM');
        }),
    ),
  );
}

export interface Sample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  lagSec: number;
  lagP99Sec: number;
  openSockets: number;
  openStreams: number;
}

const metric = (text: string, name: string, labels = ''): number => {
  const re = new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : '(?:\\{[^}]*\\})?'} ([0-9.eE+-]+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
};

/** Reads the figures the report needs from an instance's /metrics. */
export async function sample(server: Server): Promise<Sample> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return {
    at: Date.now(),
    rssBytes: metric(text, 'pawmate_process_resident_memory_bytes'),
    heapUsedBytes: metric(text, 'pawmate_nodejs_heap_size_used_bytes'),
    lagSec: metric(text, 'pawmate_nodejs_eventloop_lag_seconds'),
    lagP99Sec: metric(text, 'pawmate_nodejs_eventloop_lag_p99_seconds'),
    openSockets: metric(text, 'pawmate_open_sockets'),
    openStreams: metric(text, 'pawmate_sse_open_streams', 'hub="notifications"'),
  };
}
