import type { Redis } from '../../infra/redis';

/** How long a joined socket counts as present without a heartbeat (an instance that died drops out after this). */
export const PRESENCE_TTL_MS = 30_000;
/** Heartbeat period: well under the TTL, so one missed beat does not drop anybody. */
export const PRESENCE_HEARTBEAT_MS = 10_000;

export interface PresenceEntry {
  roomId: number;
  userId: number;
  socketId: string;
}

/**
 * Who is joined to which room, on any instance, in Redis: one sorted set per room whose members are
 * `<userId>:<socketId>` scored by their expiry. One entry per socket, so a user with two tabs stays
 * present when one of them leaves; a crashed instance's entries simply age out.
 *
 * Time here is the wall clock on purpose: it measures the liveness of real connections against
 * real timers, not a business rule (the injected clock may be frozen or moved by tests).
 */
export class Presence {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  key(roomId: number): string {
    return `${this.prefix}presence:room:${roomId}`;
  }

  private static member(e: PresenceEntry): string {
    return `${e.userId}:${e.socketId}`;
  }

  /** Adds or refreshes entries (one pipeline for a whole heartbeat), and drops the expired ones. */
  async touch(entries: PresenceEntry[]): Promise<void> {
    if (!entries.length) return;
    const now = this.now();
    const expiry = now + PRESENCE_TTL_MS;
    const pipe = this.redis.pipeline();
    const keys = new Set<string>();
    for (const e of entries) {
      const key = this.key(e.roomId);
      pipe.zadd(key, expiry, Presence.member(e));
      keys.add(key);
    }
    for (const key of keys) {
      pipe.zremrangebyscore(key, '-inf', now);
      // An idle room's key disappears on its own once nobody refreshes it.
      pipe.pexpire(key, PRESENCE_TTL_MS * 2);
    }
    await pipe.exec();
  }

  async remove(entries: PresenceEntry[]): Promise<void> {
    if (!entries.length) return;
    const pipe = this.redis.pipeline();
    for (const e of entries) pipe.zrem(this.key(e.roomId), Presence.member(e));
    await pipe.exec();
  }

  /** Every entry of one user in a room (all their sockets), e.g. when they are removed from it. */
  async removeUser(roomId: number, userId: number): Promise<void> {
    const key = this.key(roomId);
    const members = (await this.redis.zrange(key, 0, -1)).filter((m) => m.startsWith(`${userId}:`));
    if (members.length) await this.redis.zrem(key, ...members);
  }

  /** Users with at least one live joined socket in the room. */
  async presentUsers(roomId: number): Promise<Set<number>> {
    const members = await this.redis.zrangebyscore(this.key(roomId), this.now(), '+inf');
    return new Set(members.map((m) => Number(m.slice(0, m.indexOf(':')))));
  }

  async isPresent(roomId: number, userId: number): Promise<boolean> {
    return (await this.presentUsers(roomId)).has(userId);
  }
}
