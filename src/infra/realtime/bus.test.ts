import { useFileRedis } from '../../../test/helpers/context';
import { createLogger } from '../logger';
import type { Redis } from '../redis';
import { EventBus } from './bus';

declare module './bus' {
  interface BusChannels {
    'test.bus-close': { n: number };
  }
}

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
let pub: Redis;
const prefix = useFileRedis((client) => (pub = client));

/** Timers keeping the process alive (a test runner waits for them before it can exit). */
const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

it('closes once: a second close of a closed bus leaves no timer keeping the process up', async () => {
  const bus = new EventBus(url, prefix, pub, createLogger('silent'));
  await bus.connect();
  await bus.subscribe('test.bus-close', () => undefined);
  const channel = bus.channel('test.bus-close');
  await bus.close();
  // Redis drops the subscriber's channel once the connection is gone.
  for (let i = 0; ; i++) {
    const [, n] = (await pub.pubsub('NUMSUB', channel)) as [string, number];
    if (Number(n) === 0) break;
    if (i > 100) throw new Error('the subscriber connection did not close');
    await new Promise((r) => setTimeout(r, 20));
  }
  const before = refTimers();
  await bus.close();
  expect(refTimers()).toBe(before);
});
