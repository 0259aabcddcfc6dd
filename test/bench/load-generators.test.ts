import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ask } from '../../scripts/bench/ipc';
import { freePort } from '../helpers/faults';

/**
 * The benchmarks' helper processes against their baselines, at toy scale: the SSE load generator
 * parses the bare fan-out and counts every event once; the chat load generator relays through two
 * plain Socket.io processes sharing a Redis adapter and sees every message at the other members.
 * Run from TypeScript through ts-node, as the compiled versions are forked by `npm run bench`.
 */
const children: ChildProcess[] = [];
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function start(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = fork(path.resolve(__dirname, '../../scripts/bench', script), args, {
    env,
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
});

describe('SSE load generator and bare fan-out', () => {
  it('opens every stream, receives one event per stream per fan-out and measures each', async () => {
    const p = await freePort();
    const bare = await start('bare-sse.ts', [String(p)]);
    const clients = await start('sse-clients.ts', [String(p), '0']);
    const opened = await ask(clients, 'open', {
      port: p,
      path: '/stream',
      tokens: Array(25).fill(null),
      concurrency: 5,
    });
    expect(opened).toMatchObject({ opened: 25, failed: 0, errors: {} });

    expect(await ask(bare, 'fanout')).toMatchObject({ sent: 25 });
    for (let i = 0; i < 50 && (await ask<{ received: number }>(clients, 'count')).received < 25; i++)
      await new Promise((r) => setTimeout(r, 50));
    await ask(bare, 'fanout');
    for (let i = 0; i < 50 && (await ask<{ received: number }>(clients, 'count')).received < 50; i++)
      await new Promise((r) => setTimeout(r, 50));

    const stats = await ask<{ receivedAt: number[]; latencies: number[]; closedEarly: number }>(clients, 'stats');
    expect(stats.receivedAt).toHaveLength(50);
    expect(stats.latencies).toHaveLength(50);
    expect(stats.latencies.every((l) => l >= 0 && l < 5000)).toBe(true);
    expect(stats.closedEarly).toBe(0);
    const memory = await ask<{ rss: number; streams: number }>(bare, 'memory');
    expect(memory.streams).toBe(25);
    expect(memory.rss).toBeGreaterThan(0);
    await ask(clients, 'close');
  });

  it('counts refused and unreachable streams as failures instead of hanging', async () => {
    const clients = await start('sse-clients.ts', ['0', '1']);
    const closedPort = await freePort(); // free when asked, so nothing listens there
    const res = await ask<{ opened: number; failed: number; errors: Record<string, number> }>(clients, 'open', {
      port: closedPort,
      path: '/stream',
      tokens: [null, null],
      concurrency: 2,
    });
    expect(res.opened).toBe(0);
    expect(res.failed).toBe(2);
    expect(res.errors.ECONNREFUSED).toBe(2);
  });
});

describe('chat load generator and the plain relay', () => {
  it('relays across two processes and reports every message once at each other member', async () => {
    const prefix = `tbench${process.pid}:`;
    const env = { ...process.env, RELAY_REDIS_URL: REDIS, RELAY_PREFIX: prefix };
    // Ports checked free below the ephemeral range: a random one there can be a busy CI's client socket.
    const p1 = await freePort();
    let p2 = await freePort();
    while (p2 === p1) p2 = await freePort();
    await start('plain-relay.ts', [String(p1)], env);
    await start('plain-relay.ts', [String(p2)], env);
    const clients = await start('chat-clients.ts', ['0']);
    // Four sockets alternating between the relays: rooms of two (1, 2) and one room of four (3).
    const sockets = [0, 1, 2, 3].map((i) => ({
      url: `http://127.0.0.1:${i % 2 ? p2 : p1}`,
      token: null,
      rooms: [i < 2 ? 1 : 2, 3],
    }));
    expect(await ask(clients, 'connect', { sockets, concurrency: 2 })).toMatchObject({ connected: 4, errors: {} });
    // The adapter subscribes asynchronously after the relay listens.
    await new Promise((r) => setTimeout(r, 500));

    const pairs = await ask<{ sent: number; acked: number; skipped: number; errors: Record<string, number> }>(
      clients,
      'run',
      {
        durationMs: 1000,
        perSocket: 4,
        roomIndex: 0,
      },
    );
    expect(pairs.sent).toBeGreaterThan(8);
    expect(pairs.acked).toBe(pairs.sent);
    expect(pairs.errors).toEqual({});
    await new Promise((r) => setTimeout(r, 300));
    const seenPairs = await ask<{ received: number; latencies: number[] }>(clients, 'collect');
    expect(seenPairs.received).toBe(pairs.acked);
    expect(seenPairs.latencies).toHaveLength(pairs.acked);

    const group = await ask<{ acked: number }>(clients, 'run', { durationMs: 1000, perSocket: 4, roomIndex: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const seenGroup = await ask<{ received: number }>(clients, 'collect');
    expect(seenGroup.received).toBe(group.acked * 3);
    await ask(clients, 'close');
  });
});
