import { useFileRedis } from '../../test/helpers/context';
import { AppError } from '../errors';
import { type Redis } from '../infra/redis';
import { LeasedLimiter, type LeasedLimitOptions } from './leased-limit';

/** The leased limit against a real Redis: never past the limit, few round trips, windows that end. */

let redis: Redis;
const prefix = useFileRedis((client) => (redis = client));
let n = 0;

/** A fresh key space; each limiter made by `instance` stands for one instance counting it. */
function space(opts: LeasedLimitOptions) {
  const keyPrefix = `${prefix}rl${n++}`;
  return {
    counter: async (key: string) => Number(await redis.get(`${keyPrefix}:${key}`)),
    instance: () => new LeasedLimiter(redis, keyPrefix, opts),
  };
}

/** How many of the consumes were admitted, and the refusals' codes. */
async function outcomes(consumes: Array<Promise<void>>) {
  const settled = await Promise.allSettled(consumes);
  const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as AppError] : []));
  return { admitted: settled.length - refused.length, refused };
}

it('admits exactly the limit on one instance, then refuses with Retry-After without asking Redis again', async () => {
  const s = space({ points: 12, durationSec: 30, leaseSize: 5 });
  const one = s.instance();
  const { admitted, refused } = await outcomes(Array.from({ length: 20 }, () => one.consume('u')));
  expect(admitted).toBe(12);
  expect(refused).toHaveLength(8);
  expect(refused[0]).toMatchObject({ code: 'RATE_LIMITED' });
  expect(Number(refused[0].headers['Retry-After'])).toBeGreaterThanOrEqual(29);
  // Leases of 5, 5 and the 2 left; the refusals were answered from the spent window, not counted.
  expect(await s.counter('u')).toBe(12);
  await redis.del(`${prefix}rl${n - 1}:u`);
  await expect(one.consume('u')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
});

it('takes points a lease at a time: one Redis call covers several consumes, concurrent ones included', async () => {
  const s = space({ points: 60, durationSec: 30, leaseSize: 5 });
  const one = s.instance();
  await Promise.all(Array.from({ length: 4 }, () => one.consume('u')));
  expect(await s.counter('u')).toBe(5);
  await one.consume('u');
  expect(await s.counter('u')).toBe(5);
  await one.consume('u');
  expect(await s.counter('u')).toBe(10);
  // Another key has its own count.
  await one.consume('v');
  expect(await s.counter('v')).toBe(5);
});

it('never admits past the limit across instances, and loses at most a lease less one per other instance', async () => {
  const s = space({ points: 60, durationSec: 30, leaseSize: 5 });
  const instances = [s.instance(), s.instance(), s.instance()];
  const { admitted, refused } = await outcomes(
    Array.from({ length: 150 }, (_x, i) => instances[(i * 7) % 3].consume('u')),
  );
  expect(admitted).toBeLessThanOrEqual(60);
  expect(admitted).toBeGreaterThanOrEqual(60 - 4 * 2);
  expect(refused.every((e) => e.code === 'RATE_LIMITED')).toBe(true);
  expect(await s.counter('u')).toBeLessThanOrEqual(60);
});

it('admits again once the window ends', async () => {
  const s = space({ points: 2, durationSec: 1, leaseSize: 5 });
  const one = s.instance();
  await one.consume('u');
  await one.consume('u');
  await expect(one.consume('u')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  await new Promise((r) => setTimeout(r, 1100));
  await one.consume('u');
  expect(await s.counter('u')).toBe(2);
});
