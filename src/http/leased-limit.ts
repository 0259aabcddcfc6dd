import type { Redis } from '../infra/redis';
import { luaScript } from '../infra/redis';
import { RateLimited } from '../errors';

/**
 * Takes up to ARGV[1] points of a fixed window (ARGV[2] points per ARGV[3] ms) from the counter
 * KEYS[1]: answers the points granted (0 when the window is spent) and the window's ms left. The
 * counter is the one rate-limiter-flexible keeps (an integer with the window as its TTL), so both
 * can count the same key.
 */
const TAKE_LEASE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
local grant = math.max(0, math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used))
if grant > 0 then redis.call('INCRBY', KEYS[1], grant) end
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {grant, ttl}`;

/** Points this instance holds for one key until its window ends (ms, this instance's clock). */
interface Lease {
  left: number;
  until: number;
  /** Redis said the window has no points left for anyone: refused here until it ends. */
  spent: boolean;
}

export interface LeasedLimitOptions {
  /** Points per window, across every instance. */
  points: number;
  durationSec: number;
  /** Points taken from Redis at a time. */
  leaseSize: number;
}

/**
 * A fixed-window limit per key (a user) that holds across instances without a Redis round trip per
 * point: an instance takes points from the shared counter a lease at a time (up to `leaseSize`,
 * never more than the window has left) and spends them locally until the window ends. A window
 * spent is remembered locally too, so a client hammering past its limit costs Redis one call per
 * window, not one per attempt.
 *
 * What this trades: nothing is ever admitted past the limit (every point spent was counted in
 * Redis first), but points leased by one instance and not spent there are lost to the others for
 * the rest of the window, so a client using several instances at once may be refused up to
 * `leaseSize - 1` points early per other instance. A chat send is one point, and the 60-per-10-s
 * send limit loses at most 4 per extra instance that way.
 */
export class LeasedLimiter {
  private readonly leases = new Map<string, Lease>();
  /** Keys whose lease is being asked for: the others wait for that answer rather than ask again. */
  private readonly asking = new Map<string, Promise<void>>();
  private readonly take: (...keysThenArgs: Array<string | number>) => Promise<unknown>;
  private nextSweep = 0;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    private readonly opts: LeasedLimitOptions,
  ) {
    this.take = luaScript(redis, 'takeLease', 1, TAKE_LEASE);
  }

  /** Spends one point of `key`: RATE_LIMITED (429, Retry-After) past the limit; Redis down goes up as it is. */
  async consume(key: string | number): Promise<void> {
    const k = String(key);
    for (;;) {
      const now = Date.now();
      this.sweep(now);
      const lease = this.leases.get(k);
      if (lease && lease.until > now) {
        if (lease.left > 0) {
          lease.left--;
          return;
        }
        if (lease.spent) throw RateLimited((lease.until - now) / 1000);
        // This lease is used up, the window may not be: ask for another.
      }
      const asking = this.asking.get(k);
      if (asking) {
        await asking;
        continue;
      }
      const ask = this.renew(k).finally(() => this.asking.delete(k));
      this.asking.set(k, ask);
      await ask;
    }
  }

  /** Takes a lease from Redis; a window with nothing left is remembered as a lease of 0 until it ends. */
  private async renew(k: string): Promise<void> {
    const { points, durationSec, leaseSize } = this.opts;
    const [grant, ttl] = (await this.take(`${this.keyPrefix}:${k}`, leaseSize, points, durationSec * 1000)) as [
      number,
      number,
    ];
    // The consume that asked takes its point in its next turn of the loop, like any other waiting for it.
    this.leases.set(k, { left: grant, until: Date.now() + Math.max(ttl, 1), spent: grant === 0 });
  }

  /** Forgets ended windows, once per window (the map holds only the keys active in the last one). */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.opts.durationSec * 1000;
    for (const [k, lease] of this.leases) if (lease.until <= now) this.leases.delete(k);
  }
}
