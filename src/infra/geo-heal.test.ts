import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { HoldingProxy } from '../../test/helpers/faults';
import { connectRedis, createRedis, type Redis } from './redis';
import { GeoIndex } from './geo';
import { healInBackground } from './geo-heal';

/**
 * Shutdown waits for a geo heal in flight, but not forever: a Redis whose connection stays open and
 * silent (a HoldingProxy holding every command) leaves the heal's first read unanswered, and `stop`
 * must still return within its wait, with a log line saying what it gave up on.
 */
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `t${randomBytes(4).toString('hex')}:`;
let proxy: HoldingProxy;
let redis: Redis;

beforeAll(async () => {
  proxy = await HoldingProxy.forRedis(REDIS);
  redis = createRedis(proxy.redisUrl(REDIS));
  await connectRedis(redis);
});
afterAll(async () => {
  redis.disconnect();
  await proxy.close();
});

function capturedLogger() {
  const lines: Array<{ level: number; msg: string; index?: string }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

it('stops within its wait while Redis does not answer the heal, and says so', async () => {
  const { logger, lines } = capturedLogger();
  let rebuilt = 0;
  const index = {
    name: 'stalled',
    geo: new GeoIndex(redis, prefix, 'stalled'),
    expected: async () => 1,
    rebuild: async () => ({ count: ++rebuilt }),
  };
  const healing = healInBackground(redis, index, logger, 300);
  proxy.hold();
  try {
    healing.start();
    // The heal's first read (zcard of the index) is in flight and will not be answered.
    for (let i = 0; i < 100 && !proxy.held('zcard'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.held('zcard')).toBe(1);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      healing.stop().then(() => 'stopped'),
      new Promise((r) => (timer = setTimeout(() => r('still waiting'), 5000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(lines.filter((l) => l.level === 40 && l.index === 'stalled')).toHaveLength(1);
  } finally {
    proxy.release();
  }
  // Released, the abandoned heal finishes on its own (nothing waits for it, nothing throws).
  for (let i = 0; i < 100 && !rebuilt; i++) await new Promise((r) => setTimeout(r, 10));
  expect(rebuilt).toBe(1);
});

it('waits for a heal that answers in time, without a warning', async () => {
  const { logger, lines } = capturedLogger();
  const index = {
    name: 'prompt',
    geo: new GeoIndex(redis, prefix, 'prompt'),
    expected: async () => 0,
    rebuild: async () => ({ count: 0 }),
  };
  const healing = healInBackground(redis, index, logger, 5000);
  healing.start();
  await healing.stop();
  expect(lines.filter((l) => l.level >= 40)).toEqual([]);
});
