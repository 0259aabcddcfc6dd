import type { Redis } from '../../infra/redis';
import type { Clock } from '../../infra/clock';
import { haversineMeters } from '../../infra/geo';
import { Conflict, NotFound, RateLimited } from '../../errors';
import type { Blocks } from '../safety/safety.service';
import type { MeetupsRepository } from './meetups.repository';

/** Sharing opens this long before the start and closes at `endsAt`. */
export const LIVE_OPENS_BEFORE_MS = 30 * 60 * 1000;
/** One update per user per this window, across every socket and instance. */
export const LIVE_MIN_INTERVAL_MS = 2000;
/** A position older than this is no longer shown (the phone went quiet). */
export const LIVE_STALE_MS = 2 * 60 * 1000;

export interface LivePosition {
  userId: number;
  lat: number;
  lng: number;
  distanceToMeetingPointM: number;
  updatedAt: string;
}

export interface LiveSnapshot {
  meetupId: number;
  participants: LivePosition[];
}

/** Delivers `location:nearby` to every socket of these users, on every instance (chat's emitToUsers). */
export type EmitToUsers = (userIds: number[], event: 'location:nearby', payload: LiveSnapshot) => void;

/**
 * Live location during a meetup (issue 8). Positions live only in Redis: one hash per meetup
 * (`${prefix}meetup:<id>:loc`, field = user id, value = { lat, lng, at }) whose TTL never reaches past
 * the end of the sharing window and is cut short when nobody sends any more, so nothing of the
 * positions survives the meetup. MySQL is read for the rules (participant, window) and never written.
 *
 * Every snapshot keeps only current participants: someone who left, or whose removal from the hash
 * failed, vanishes from what others see at once.
 */
export class LiveLocations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly repo: MeetupsRepository,
    private readonly clock: Clock,
    private readonly emit: EmitToUsers,
    /** Participants on either side of a block do not see each other's position. */
    private readonly blocks?: Pick<Blocks, 'blockedPairs'>,
  ) {}

  key(meetupId: number): string {
    return `${this.prefix}meetup:${meetupId}:loc`;
  }

  private limitKey(userId: number): string {
    return `${this.prefix}meetup:loc-rl:${userId}`;
  }

  /** Stores my position and sends the fresh snapshot to the other participants; the ack gets it too. */
  async update(userId: number, meetupId: number, pos: { lat: number; lng: number }): Promise<LiveSnapshot> {
    // The limit comes first: it also shields MySQL from a client sending in a loop.
    const taken = await this.redis.set(this.limitKey(userId), '1', 'PX', LIVE_MIN_INTERVAL_MS, 'NX');
    if (taken !== 'OK') {
      const ms = await this.redis.pttl(this.limitKey(userId));
      throw RateLimited(Math.max(ms, 1) / 1000);
    }
    const { meetup, participantIds } = await this.access(userId, meetupId);
    const now = this.clock.now().getTime();
    const opens = new Date(meetup.startsAt).getTime() - LIVE_OPENS_BEFORE_MS;
    const closes = new Date(meetup.endsAt).getTime();
    if (now < opens || now >= closes) {
      throw Conflict('Live location is shared from 30 minutes before the start until the end of the meetup');
    }
    const ttlMs = Math.max(1000, Math.min(closes - now, LIVE_STALE_MS));
    await this.redis
      .multi()
      .hset(this.key(meetupId), String(userId), JSON.stringify({ lat: pos.lat, lng: pos.lng, at: now }))
      .pexpire(this.key(meetupId), ttlMs)
      .exec();
    const snapshot = await this.snapshot(meetupId, { lat: meetup.lat, lng: meetup.lng }, participantIds);
    const seen = await this.send(snapshot, participantIds, userId);
    return seen(userId);
  }

  /**
   * Sends the snapshot to every participant but `from`, each without the positions of participants on
   * either side of a block with them; answers what a given participant may see. Without blocks among
   * the participants (the usual case) everyone gets the same snapshot in one emit.
   */
  private async send(
    snapshot: LiveSnapshot,
    participantIds: number[],
    from: number,
  ): Promise<(viewerId: number) => LiveSnapshot> {
    const others = participantIds.filter((id) => id !== from);
    const shown = snapshot.participants.map((p) => p.userId);
    const pairs = others.flatMap((viewer) =>
      shown.filter((u) => u !== viewer).map((u): [number, number] => [viewer, u]),
    );
    pairs.push(...shown.filter((u) => u !== from).map((u): [number, number] => [from, u]));
    const blocked = this.blocks && pairs.length ? await this.blocks.blockedPairs(pairs) : new Set<string>();
    const pairKey = (x: number, y: number) => `${Math.min(x, y)}:${Math.max(x, y)}`;
    const seenBy = (viewerId: number): LiveSnapshot =>
      blocked.size
        ? { ...snapshot, participants: snapshot.participants.filter((p) => !blocked.has(pairKey(viewerId, p.userId))) }
        : snapshot;
    if (!blocked.size) this.emit(others, 'location:nearby', snapshot);
    else for (const viewer of others) this.emit([viewer], 'location:nearby', seenBy(viewer));
    return seenBy;
  }

  /** Stops sharing my position in this meetup; the others get a snapshot without me. */
  async stop(userId: number, meetupId: number): Promise<{ stopped: boolean }> {
    const removed = await this.redis.hdel(this.key(meetupId), String(userId));
    if (!removed) return { stopped: false };
    const m = await this.repo.findById(meetupId);
    if (m) {
      const participantIds = (await this.repo.listParticipants(meetupId)).map((p) => p.userId);
      const snapshot = await this.snapshot(meetupId, { lat: m.lat, lng: m.lng }, participantIds);
      await this.send(snapshot, participantIds, userId);
    }
    return { stopped: true };
  }

  /** After a leave (best effort: snapshots filter non-participants anyway). */
  async forget(meetupId: number, userId: number): Promise<void> {
    await this.redis.hdel(this.key(meetupId), String(userId));
  }

  /** After a cancellation. */
  async clear(meetupId: number): Promise<void> {
    await this.redis.del(this.key(meetupId));
  }

  private async access(userId: number, meetupId: number) {
    const meetup = await this.repo.findById(meetupId);
    const participantIds = meetup ? (await this.repo.listParticipants(meetupId)).map((p) => p.userId) : [];
    // Non-participants learn nothing about the meetup here (the same answer as a missing one).
    if (!meetup || !participantIds.includes(userId)) throw NotFound('Meetup');
    if (meetup.status !== 'scheduled') throw Conflict('This meetup was cancelled');
    return { meetup, participantIds };
  }

  private async snapshot(
    meetupId: number,
    point: { lat: number; lng: number },
    participantIds: number[],
  ): Promise<LiveSnapshot> {
    const raw = await this.redis.hgetall(this.key(meetupId));
    const now = this.clock.now().getTime();
    const members = new Set(participantIds);
    const participants: LivePosition[] = [];
    // Old or foreign entries are only skipped, not deleted: a delete could race a fresh HSET of the
    // same user, and the key's TTL takes them away soon anyway.
    for (const [field, value] of Object.entries(raw)) {
      let v: { lat: number; lng: number; at: number };
      try {
        v = JSON.parse(value);
      } catch {
        continue;
      }
      const userId = Number(field);
      if (!members.has(userId) || now - v.at > LIVE_STALE_MS) continue;
      participants.push({
        userId,
        lat: v.lat,
        lng: v.lng,
        distanceToMeetingPointM: Math.round(haversineMeters(point, v)),
        updatedAt: new Date(v.at).toISOString(),
      });
    }
    participants.sort((a, b) => a.userId - b.userId);
    return { meetupId, participants };
  }
}
