import { pipelinePerKey, type Redis } from '../../infra/redis';

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

  /** The entries' members by room key. */
  private byKey(entries: PresenceEntry[]): Map<string, string[]> {
    const rooms = new Map<string, string[]>();
    for (const e of entries) {
      const key = this.key(e.roomId);
      rooms.set(key, [...(rooms.get(key) ?? []), Presence.member(e)]);
    }
    return rooms;
  }

  /**
   * Adds or refreshes entries, and drops the expired ones: one pipeline for a whole heartbeat (on a
   * cluster, one per room, since rooms live in different slots).
   */
  async touch(entries: PresenceEntry[]): Promise<void> {
    if (!entries.length) return;
    const now = this.now();
    const expiry = now + PRESENCE_TTL_MS;
    const rooms = this.byKey(entries);
    await pipelinePerKey(this.redis, rooms.keys(), (pipe, key) => {
      for (const member of rooms.get(key)!) pipe.zadd(key, expiry, member);
      pipe.zremrangebyscore(key, '-inf', now);
      // An idle room's key disappears on its own once nobody refreshes it.
      pipe.pexpire(key, PRESENCE_TTL_MS * 2);
    });
  }

  async remove(entries: PresenceEntry[]): Promise<void> {
    if (!entries.length) return;
    const rooms = this.byKey(entries);
    await pipelinePerKey(this.redis, rooms.keys(), (pipe, key) => pipe.zrem(key, ...rooms.get(key)!));
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
