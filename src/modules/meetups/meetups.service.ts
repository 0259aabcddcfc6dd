import Joi from 'joi';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { CLAIM_TX, inTransaction } from '../../infra/db';
import type { DomainEvents } from '../../infra/domain-events';
import type { DomainEventMap } from '../events';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { GeoIndex, RebuildProgress } from '../../infra/geo';
import type { HealableIndex } from '../../infra/geo-heal';
import { localTime } from '../../infra/time-text';
import { type Outbox } from '../../infra/outbox';
import { Conflict, Forbidden, InvalidFields, NotFound, fieldError, type FieldError } from '../../errors';
import type { UsersService } from '../users/users.service';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService, NotifyInput } from '../notifications/notifications.service';
import type { Blocks } from '../safety/safety.service';
import type { MeetupBase, MeetupNearbyReads, MeetupRow, MeetupWrite, MeetupsRepository } from './meetups.repository';
import type { MeetupTagIndexes, TagGeoChange } from './meetups.tag-index';
import { hostRatingOf, sizesOf, toMeetup, type HostRating, type Meetup } from './meetups.presenter';
import { MeetupSearch, type NearbyPage, type NearbyQuery } from './meetups.search';
import { cursorDate, cursorId, decodeCursor, paginate } from '../../http/cursor';
import { DEFAULT_DURATION_MS, MAX_AHEAD_MS, MAX_DURATION_MS, type PetSize } from './meetups.schemas';
import type { LiveLocations } from './meetups.live';

/** Outbox topic: a meetup's point or index membership changed; the payload is its new state and version. */
export const TOPIC_GEO_MEETUP = 'geo.meetup';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_GEO_MEETUP]: GeoMeetupChange;
  }
}

/** A meetup's versioned geo change (the outbox payload of TOPIC_GEO_MEETUP), as the tag indexes read it too. */
export type GeoMeetupChange = TagGeoChange;

export const REMINDER_BEFORE_MS = 3600 * 1000;
/** Attendance and host ratings are taken up to this long after the start. */
export const FOLLOW_UP_MS = 7 * 24 * 3600 * 1000;
const SWEEP_BATCH = 100;
/** Scheduled meetups a user may host that have not ended yet (spam and abuse limit). */
export const MAX_OPEN_HOSTED = 20;

export interface CreateInput {
  title: string;
  description: string;
  location: { lat: number; lng: number };
  address: string;
  startsAt: Date;
  endsAt?: Date;
  capacity: number;
  tags: string[];
  petSizes: PetSize[];
}

export type UpdateInput = Partial<CreateInput>;

export interface MeetupsDeps {
  /** The safety module's block checks (services.safety.blocks), when present. */
  blocks?: Pick<Blocks, 'notBlockedSql' | 'between'>;
  sequelize: Sequelize;
  repo: MeetupsRepository;
  /** The nearby distance search's filter query (plain mysql2 pool). */
  nearbyReads: MeetupNearbyReads;
  users: UsersService;
  chat: ChatService;
  notifications: NotificationsService;
  geo: GeoIndex;
  /** One geo index per vocabulary tag, fed with the main one. */
  tagIndexes: MeetupTagIndexes;
  outbox: Outbox;
  clock: Clock;
  /** SERVICE_TZ: times in notification (and mail) text are written in it. */
  serviceTz: string;
  logger: Logger;
  /** Live positions: cancel and leave clear them. */
  live: LiveLocations;
  /** `meetup.hosted` once the host marks the first attendee other than themself. */
  events: DomainEvents<DomainEventMap>;
}

const mineCursor = Joi.object({ t: cursorDate, i: cursorId });

const ms = (d: Date | string) => new Date(d).getTime();

export class MeetupsService {
  readonly search: MeetupSearch;

  constructor(private readonly d: MeetupsDeps) {
    this.search = new MeetupSearch(d.geo, d.repo, d.nearbyReads, d.tagIndexes, d.clock);
  }

  get geo(): GeoIndex {
    return this.d.geo;
  }

  get tagIndexes(): MeetupTagIndexes {
    return this.d.tagIndexes;
  }

  // --- create, read, edit, cancel ----------------------------------------------------------------

  /** The host is the first participant and the only member of the new chat room, all in one transaction. */
  async create(hostId: number, input: CreateInput): Promise<Meetup> {
    const now = this.d.clock.now();
    const startsAt = input.startsAt;
    const endsAt = input.endsAt ?? new Date(ms(startsAt) + DEFAULT_DURATION_MS);
    this.checkTimes(startsAt, endsAt, now, { startsAt: true, endsAt: input.endsAt !== undefined });
    const data: MeetupWrite = {
      title: input.title,
      description: input.description ?? '',
      lat: input.location.lat,
      lng: input.location.lng,
      address: input.address,
      startsAt,
      endsAt,
      capacity: input.capacity,
      tags: input.tags ?? [],
      petSizes: input.petSizes,
    };
    const { id, change } = await inTransaction(this.d.sequelize, async (t) => {
      // The host's account row serializes their creates, so the limit cannot be raced past.
      if (!(await this.d.users.findById(hostId, t, true))) throw NotFound('User');
      if ((await this.d.repo.countOpenHosted(hostId, now, t)) >= MAX_OPEN_HOSTED) {
        throw Conflict(`A user may host at most ${MAX_OPEN_HOSTED} meetups that have not ended yet`);
      }
      const id = await this.d.repo.insert(hostId, data, now, t);
      await this.d.repo.replaceTags(id, data.tags, t);
      await this.d.repo.insertParticipant(id, hostId, now, t);
      const { roomId } = await this.d.chat.createRoomInTx(t, { type: 'meetup', memberIds: [hostId], meetupId: id });
      await this.d.repo.setChatRoom(id, roomId, t);
      return { id, change: await this.recordGeoChange(id, t) };
    });
    await this.afterGeoChange(change);
    return this.view(id);
  }

  /**
   * Meetups are public to signed-in users (a cancelled one too, with its status), like their search,
   * except between the host and a user on either side of a block: 404, as a blocked author's post.
   */
  async get(id: number, viewerId: number): Promise<Meetup> {
    const row = await this.d.repo.findById(id);
    if (!row || (await this.blockedWithHost(viewerId, row.hostId))) throw NotFound('Meetup');
    return this.view(id, row);
  }

  /** True when `userId` and the host are on either side of a block (the host's own meetup never is). */
  private async blockedWithHost(userId: number, hostId: number, t?: Transaction): Promise<boolean> {
    return userId !== hostId && !!this.d.blocks && (await this.d.blocks.between(userId, hostId, t));
  }

  /**
   * Host only: participants who are not the host get 403, everyone else 404. Not after the start nor
   * once cancelled (409). Capacity never below the current participant count (409). A new start or end
   * notifies the other participants; moving the start re-arms the one-hour reminder.
   */
  async update(userId: number, id: number, changes: UpdateInput): Promise<Meetup> {
    const result = await inTransaction(this.d.sequelize, async (t) => {
      const m = await this.requireHost(await this.d.repo.lockRow(id, t), userId, t, 'edit');
      const now = this.d.clock.now();
      this.requireOpen(m, now, 'edited');
      const startsAt = changes.startsAt ?? new Date(m.startsAt);
      // A new start without a new end keeps the meetup's length.
      const endsAt =
        changes.endsAt ??
        (changes.startsAt ? new Date(ms(startsAt) + ms(m.endsAt) - ms(m.startsAt)) : new Date(m.endsAt));
      this.checkTimes(startsAt, endsAt, now, {
        startsAt: changes.startsAt !== undefined,
        endsAt: changes.endsAt !== undefined,
      });
      const capacity = changes.capacity ?? m.capacity;
      if (capacity < m.participantCount) {
        throw Conflict(`The capacity cannot be below the ${m.participantCount} participants who already joined`);
      }
      const data: MeetupWrite = {
        title: changes.title ?? m.title,
        description: changes.description ?? m.description,
        lat: changes.location?.lat ?? m.lat,
        lng: changes.location?.lng ?? m.lng,
        address: changes.address ?? m.address,
        startsAt,
        endsAt,
        capacity,
        tags: changes.tags ?? m.tags,
        petSizes: changes.petSizes ?? sizesOf(m),
      };
      const moved = data.lat !== m.lat || data.lng !== m.lng;
      // A tag's own index must learn of a change in the vocabulary tags the meetup is found under (see
      // MeetupTagIndexes): a new geo version, like a move.
      let untagged: string[] = [];
      let retagged = false;
      if (changes.tags) {
        const before = await this.d.repo.vocabularyTagsOf(id, t);
        await this.d.repo.replaceTags(id, data.tags, t);
        const after = await this.d.repo.vocabularyTagsOf(id, t);
        untagged = before.filter((tag) => !after.includes(tag));
        retagged = untagged.length > 0 || after.some((tag) => !before.includes(tag));
      }
      const startMoved = ms(startsAt) !== ms(m.startsAt);
      const rescheduled = startMoved || ms(endsAt) !== ms(m.endsAt);
      await this.d.repo.update(id, data, { moved: moved || retagged, rescheduled: startMoved }, now, t);
      const change = moved || retagged ? await this.recordGeoChange(id, t, untagged) : null;
      if (rescheduled) {
        await this.notifyParticipants(t, id, m.hostId, {
          type: 'meetup.reminder',
          title: `Meetup rescheduled: ${data.title}`,
          body: `Now ${this.when(startsAt)} – ${this.when(endsAt)}, ${data.address}`,
          data: { meetupId: id, reason: 'rescheduled', startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() },
        });
      }
      return change;
    });
    if (result) await this.afterGeoChange(result);
    return this.view(id);
  }

  /** Cancels (host only, before the start): participants are notified and the meetup leaves search at once. */
  async cancel(userId: number, id: number): Promise<void> {
    const change = await inTransaction(this.d.sequelize, async (t) => {
      const m = await this.requireHost(await this.d.repo.lockRow(id, t), userId, t, 'cancel');
      this.requireOpen(m, this.d.clock.now(), 'cancelled');
      await this.d.repo.cancel(id, this.d.clock.now(), t);
      const change = await this.recordGeoChange(id, t);
      await this.notifyParticipants(t, id, m.hostId, {
        type: 'meetup.cancelled',
        title: `Meetup cancelled: ${m.title}`,
        body: `${this.when(m.startsAt)}, ${m.address}`,
        data: { meetupId: id, chatRoomId: m.chatRoomId },
      });
      return change;
    });
    await this.afterGeoChange(change);
    await this.d.live.clear(id).catch(() => undefined);
  }

  /**
   * Account deletion (inside its transaction): the member's places in others' upcoming meetups are
   * given back, so the meetup is no longer held full by an account that is gone. (Their chat
   * membership goes too; their sockets are closed by the login revocation of the same deletion.)
   */
  async releaseJoinedForDeletedAccount(userId: number, t: Transaction): Promise<void> {
    const now = this.d.clock.now();
    for (const id of await this.d.repo.upcomingJoinedIds(userId, now, t)) {
      if (!(await this.d.repo.deleteParticipant(id, userId, t))) continue;
      await this.d.repo.releasePlace(id, now, t);
      const m = await this.d.repo.lockRow(id, t);
      if (m?.chatRoomId) await this.d.chat.removeMember(t, Number(m.chatRoomId), userId);
    }
  }

  /**
   * Account deletion (inside its transaction): the host's upcoming meetups are cancelled and their
   * participants told; the geo changes ride on outbox rows carried out after the deletion commits.
   */
  async cancelHostedForDeletedAccount(hostId: number, t: Transaction): Promise<void> {
    const now = this.d.clock.now();
    for (const id of await this.d.repo.upcomingHostedIds(hostId, now, t)) {
      const m = await this.locked(id, t);
      await this.d.repo.cancel(id, now, t);
      await this.recordGeoChange(id, t);
      await this.notifyParticipants(t, id, hostId, {
        type: 'meetup.cancelled',
        title: `Meetup cancelled: ${m.title}`,
        body: `${this.when(m.startsAt)}, ${m.address} (the host left Pawmate)`,
        data: { meetupId: id, chatRoomId: m.chatRoomId },
      });
    }
  }

  // --- join and leave ----------------------------------------------------------------------------

  /**
   * Joins a meetup (201). The place is taken by a guarded UPDATE (`participantCount < capacity`, still
   * scheduled, not started) in the same transaction as the participant row (UNIQUE per user), so the
   * database enforces capacity under any concurrency. Already joined, full, cancelled or started: 409.
   */
  async join(userId: number, id: number): Promise<Meetup> {
    await inTransaction(this.d.sequelize, async (t) => {
      const m = await this.d.repo.findById(id, t);
      // A meetup whose host is on either side of a block with me is not there for me (as in search).
      if (!m || (await this.blockedWithHost(userId, m.hostId, t))) throw NotFound('Meetup');
      if (await this.d.repo.findParticipant(id, userId, t)) throw Conflict('You already joined this meetup');
      if (m.hostDeletedAt) throw Conflict('The host of this meetup no longer has an account');
      const now = this.d.clock.now();
      if (!(await this.d.repo.takePlace(id, now, t))) {
        const cur = await this.locked(id, t);
        if (cur.status !== 'scheduled') throw Conflict('This meetup was cancelled');
        if (ms(cur.startsAt) <= now.getTime()) throw Conflict('This meetup has already started');
        throw Conflict('This meetup is full');
      }
      try {
        await this.d.repo.insertParticipant(id, userId, now, t);
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw Conflict('You already joined this meetup');
        throw err;
      }
      if (m.chatRoomId) await this.d.chat.addMember(t, m.chatRoomId, userId);
      // We hold the row lock since the UPDATE: this is the row as this join left it, and a reminder
      // sweep either committed before us (reminderSentAt is set: we remind the late joiner here) or
      // will claim the row after our commit (and see us).
      const cur = await this.locked(id, t);
      // Inside the transaction (never a second pool connection while holding one).
      const joiner = await this.d.users.findById(userId, t);
      const inputs: NotifyInput[] = [
        {
          recipientId: m.hostId,
          type: 'meetup.joined',
          title: `${joiner?.nickname ?? 'Someone'} joined ${m.title}`,
          body: `${cur.participantCount} of ${cur.capacity} places taken`,
          data: { meetupId: id, userId, chatRoomId: m.chatRoomId },
        },
      ];
      if (cur.reminderSentAt) inputs.push(this.reminderFor(cur, userId));
      await this.d.notifications.notifyManyInTx(t, inputs);
    });
    return this.view(id);
  }

  /** Leaves before the start (204); the host cannot leave (409: cancel instead). */
  async leave(userId: number, id: number): Promise<void> {
    const afterCommit = await inTransaction(this.d.sequelize, async (t): Promise<() => void> => {
      const m = await this.d.repo.lockRow(id, t);
      const p = m ? await this.d.repo.findParticipant(id, userId, t) : null;
      if (!m || !p) throw NotFound('Participation');
      if (m.hostId === userId) throw Conflict('The host cannot leave; cancel the meetup instead');
      if (m.status !== 'scheduled') throw Conflict('This meetup was cancelled');
      if (ms(m.startsAt) <= this.d.clock.now().getTime()) throw Conflict('This meetup has already started');
      await this.d.repo.deleteParticipant(id, userId, t);
      await this.d.repo.releasePlace(id, this.d.clock.now(), t);
      return m.chatRoomId ? this.d.chat.removeMember(t, m.chatRoomId, userId) : () => undefined;
    });
    afterCommit();
    await this.d.live.forget(id, userId).catch(() => undefined);
  }

  // --- lists -------------------------------------------------------------------------------------

  /** Meetups of hosts on either side of a block with the searcher never appear. */
  async nearby(q: NearbyQuery, viewerId?: number): Promise<NearbyPage> {
    const notBlocked = viewerId && this.d.blocks ? this.d.blocks.notBlockedSql('m.hostId', viewerId) : undefined;
    return this.search.search(q, notBlocked);
  }

  async mine(
    userId: number,
    q: { role?: 'host' | 'participant'; when: 'upcoming' | 'past'; limit: number; cursor?: string },
  ) {
    const cur = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, mineCursor) : null;
    const rows = await this.d.repo.listMine(userId, {
      role: q.role,
      when: q.when,
      now: this.d.clock.now(),
      after: cur ? { at: cur.t, id: cur.i } : null,
      limit: q.limit + 1,
    });
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({
      t: new Date(last.startsAt).toISOString(),
      i: last.id,
    }));
    return { items: items.map((r) => toMeetup(r)), nextCursor };
  }

  // --- after the start ---------------------------------------------------------------------------

  /**
   * The host marks who came, from the start until 7 days later. Every id must be a participant (400
   * naming the entry); ids already marked are accepted and left as they were (the first mark counts).
   */
  async markAttendance(
    userId: number,
    id: number,
    userIds: number[],
  ): Promise<{ marked: number[]; attended: number[] }> {
    return inTransaction(this.d.sequelize, async (t) => {
      const m = await this.requireHost(await this.d.repo.lockRow(id, t), userId, t, 'take attendance of');
      const now = this.d.clock.now();
      if (m.status !== 'scheduled') throw Conflict('This meetup was cancelled');
      if (ms(m.startsAt) > now.getTime()) throw Conflict('Attendance can be taken once the meetup has started');
      if (now.getTime() > ms(m.startsAt) + FOLLOW_UP_MS)
        throw Conflict('Attendance can be taken up to 7 days after the start');
      const before = new Map((await this.d.repo.listParticipants(id, t)).map((p) => [p.userId, p.attendedAt]));
      const errors: FieldError[] = [];
      userIds.forEach((uid, i) => {
        if (!before.has(uid))
          errors.push(fieldError(`body.userIds.${i}`, `is user ${uid}, who is not a participant of this meetup`));
      });
      if (errors.length) throw InvalidFields(errors);
      const marked = userIds.filter((uid) => !before.get(uid));
      await this.d.repo.markAttended(id, marked, now, t);
      const attended = (await this.d.repo.listParticipants(id, t)).filter((p) => p.attendedAt).map((p) => p.userId);
      // Held, for badges: the first mark of a guest. The row lock above makes "first" exact.
      const guestsBefore = [...before].filter(([uid, at]) => at && uid !== m.hostId).length;
      const guests = attended.filter((uid) => uid !== m.hostId);
      if (guestsBefore === 0 && guests.length > 0)
        await this.d.events.emit(t, 'meetup.hosted', { meetupId: id, hostId: m.hostId, attendeeIds: guests, at: now });
      return { marked: [...marked].sort((a, b) => a - b), attended: attended.sort((a, b) => a - b) };
    });
  }

  /**
   * An attended participant rates the host once (UNIQUE(meetupId, raterId)), from the start until 7
   * days later. The host cannot rate themself, nor can anyone the host did not mark as attended (403).
   */
  async rateHost(
    userId: number,
    id: number,
    rating: number,
  ): Promise<{ meetupId: number; rating: number; hostRating: HostRating; createdAt: string }> {
    const now = this.d.clock.now();
    const hostRating = await inTransaction(this.d.sequelize, async (t) => {
      const m = await this.d.repo.findById(id, t);
      if (!m) throw NotFound('Meetup');
      if (m.hostId === userId) throw Forbidden('The host cannot rate themself');
      if (m.status !== 'scheduled') throw Conflict('This meetup was cancelled');
      if (ms(m.startsAt) > now.getTime()) throw Conflict('The host can be rated once the meetup has started');
      if (now.getTime() > ms(m.startsAt) + FOLLOW_UP_MS)
        throw Conflict('The host can be rated up to 7 days after the start');
      const p = await this.d.repo.findParticipant(id, userId, t);
      if (!p) throw Forbidden('Only participants who attended can rate the host');
      if (!p.attendedAt) throw Forbidden('Only participants the host marked as attended can rate the host');
      // Ratings of one host are serialized on their summary row, so the recomputed summary is exact.
      await this.d.repo.lockHostStats(m.hostId, now, t);
      try {
        await this.d.repo.insertRating({ meetupId: id, hostId: m.hostId, raterId: userId, rating }, now, t);
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw Conflict('You already rated the host of this meetup');
        throw err;
      }
      await this.d.repo.refreshHostStats(m.hostId, now, t);
      const s = await this.d.repo.hostStats(m.hostId, t);
      return hostRatingOf(s?.ratingAvg, s?.ratingCount);
    });
    return { meetupId: id, rating, hostRating, createdAt: now.toISOString() };
  }

  /** A user's rating as a host, `{ average: null, count: 0 }` until rated; 404 for a missing account. */
  async hostRating(userId: number): Promise<HostRating> {
    await this.d.users.getPublic(userId);
    const s = await this.d.repo.hostStats(userId);
    return hostRatingOf(s?.ratingAvg, s?.ratingCount);
  }

  // --- scheduled work ----------------------------------------------------------------------------

  /**
   * One sweep, safe on any number of instances at once: rows are claimed with FOR UPDATE SKIP LOCKED
   * (READ COMMITTED) and changed inside the claim, so each reminder goes out once. Meetups that start
   * within the hour get their reminder; started ones leave the geo index.
   */
  async sweep(): Promise<{ reminded: number; unindexed: number }> {
    const now = this.d.clock.now();
    const reminded = await this.sweepBatches(async (t) => {
      const due = await this.d.repo.claimDueReminders(
        now,
        new Date(now.getTime() + REMINDER_BEFORE_MS),
        SWEEP_BATCH,
        t,
      );
      const inputs: NotifyInput[] = [];
      for (const m of due) {
        await this.d.repo.markReminded(m.id, now, t);
        for (const p of await this.d.repo.listParticipants(m.id, t)) inputs.push(this.reminderFor(m, p.userId));
      }
      // One call for the whole batch: recipients are locked in one global id order (no deadlock between sweeps).
      if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
      return due.length;
    });
    const unindexed = await this.sweepBatches(async (t) => {
      const started = await this.d.repo.claimStartedIndexed(now, SWEEP_BATCH, t);
      for (const m of started) {
        await this.d.repo.unindex(m.id, t);
        await this.recordGeoChange(m.id, t);
      }
      return started.length;
    });
    return { reminded, unindexed };
  }

  private reminderFor(
    m: Pick<MeetupBase, 'id' | 'title' | 'startsAt' | 'address' | 'chatRoomId'>,
    recipientId: number,
  ): NotifyInput {
    const startsAt = new Date(m.startsAt);
    return {
      recipientId,
      type: 'meetup.reminder',
      title: `Starting soon: ${m.title}`,
      body: `${this.when(startsAt)}, ${m.address}`,
      data: { meetupId: m.id, reason: 'starting-soon', startsAt: startsAt.toISOString(), chatRoomId: m.chatRoomId },
      // Belt and braces next to the claim: one reminder per recipient and start time, ever.
      dedupeKey: `meetup:${m.id}:reminder:${startsAt.getTime()}`,
    };
  }

  private async sweepBatches(batch: (t: Transaction) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await inTransaction(this.d.sequelize, batch, 4, CLAIM_TX);
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  // --- geo index ---------------------------------------------------------------------------------

  /** The change's outbox row, written in the writer's transaction (its state and version: no read needed later). */
  private async recordGeoChange(meetupId: number, t: Transaction, untagged: string[] = []): Promise<GeoMeetupChange> {
    const s = await this.d.repo.geoState(meetupId, t);
    const change: GeoMeetupChange = {
      meetupId,
      version: s.version,
      indexed: s.indexed,
      lat: s.lat,
      lng: s.lng,
      tags: s.tags,
      untagged,
    };
    await this.d.outbox.add(t, TOPIC_GEO_MEETUP, change);
    return change;
  }

  /** Carries out a geo change (the outbox handler, and the fast path). Idempotent and order-safe. */
  async applyGeo(change: GeoMeetupChange): Promise<void> {
    await Promise.all([
      this.d.geo.apply([
        {
          id: change.meetupId,
          version: change.version,
          point: change.indexed ? { lat: change.lat, lng: change.lng } : null,
        },
      ]),
      this.d.tagIndexes.apply(change),
    ]);
  }

  private async afterGeoChange(change: GeoMeetupChange): Promise<void> {
    try {
      await this.applyGeo(change);
    } catch (err) {
      this.d.logger.debug(
        { err: (err as Error).message, meetupId: change.meetupId },
        'geo fast path failed; the outbox will retry',
      );
    }
  }

  /** The index as the heal check sees it (rebuilt when Redis lost it; see infra/geo-heal.ts). */
  healable(): HealableIndex {
    return {
      name: 'meetups',
      geo: this.d.geo,
      expected: () => this.d.repo.countIndexed(),
      rebuild: () => this.reindexGeo(),
    };
  }

  /** Rebuilds the geo index from MySQL while the server keeps serving (see GeoIndex.rebuild). */
  reindexGeo(options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {}) {
    return reindexMeetupGeo(this.d.repo, this.d.geo, options);
  }

  // --- internals ---------------------------------------------------------------------------------

  /** An instant in notification text: SERVICE_TZ, not UTC (API fields stay ISO). */
  private when(instant: Date | string): string {
    return localTime(instant, this.d.serviceTz);
  }

  private async view(id: number, row?: MeetupRow): Promise<Meetup> {
    const m = row ?? (await this.d.repo.findById(id));
    if (!m) throw NotFound('Meetup');
    const participants = await this.d.repo.listParticipants(id);
    const users = await this.d.users.publicUsers(participants.map((p) => p.userId));
    return toMeetup(
      m,
      participants.map((p) => ({ row: p, user: users.get(p.userId) })),
    );
  }

  /** The host passes; a participant gets 403; anyone else 404 (as for a missing meetup). */
  private async requireHost(m: MeetupBase | null, userId: number, t: Transaction, action: string): Promise<MeetupBase> {
    if (m && m.hostId === userId) return m;
    if (m && (await this.d.repo.findParticipant(m.id, userId, t)))
      throw Forbidden(`Only the host can ${action} this meetup`);
    throw NotFound('Meetup');
  }

  /** The meetup row under a write lock, for code that already knows it exists (it is never deleted). */
  private async locked(id: number, t: Transaction): Promise<MeetupBase> {
    const m = await this.d.repo.lockRow(id, t);
    if (!m) throw NotFound('Meetup');
    return m;
  }

  private requireOpen(m: MeetupBase, now: Date, what: string): void {
    if (m.status !== 'scheduled') throw Conflict(`A cancelled meetup cannot be ${what}`);
    if (ms(m.startsAt) <= now.getTime()) throw Conflict(`A meetup cannot be ${what} once it has started`);
  }

  private checkTimes(startsAt: Date, endsAt: Date, now: Date, given: { startsAt: boolean; endsAt: boolean }): void {
    const errors: FieldError[] = [];
    if (given.startsAt && ms(startsAt) <= now.getTime())
      errors.push(fieldError('body.startsAt', `must be in the future (now is ${now.toISOString()})`));
    if (given.startsAt && ms(startsAt) > now.getTime() + MAX_AHEAD_MS)
      errors.push(fieldError('body.startsAt', 'must be within a year from now'));
    if (ms(endsAt) <= ms(startsAt)) errors.push(fieldError('body.endsAt', 'must be after startsAt'));
    else if (ms(endsAt) - ms(startsAt) > MAX_DURATION_MS)
      errors.push(fieldError('body.endsAt', 'must be at most 12 hours after startsAt'));
    if (errors.length) throw InvalidFields(errors);
  }

  /** Everyone in the meetup but the one who acted, in one call (recipients locked in id order). */
  private async notifyParticipants(
    t: Transaction,
    meetupId: number,
    actorId: number,
    n: Omit<NotifyInput, 'recipientId'>,
  ): Promise<void> {
    const recipients = (await this.d.repo.listParticipants(meetupId, t))
      .map((p) => p.userId)
      .filter((id) => id !== actorId);
    if (recipients.length)
      await this.d.notifications.notifyManyInTx(
        t,
        recipients.map((recipientId) => ({ ...n, recipientId })),
      );
  }
}

/** Rebuilds the meetups' geo index from MySQL (also used by the reindex CLI, which has no app). */
export function reindexMeetupGeo(
  repo: MeetupsRepository,
  geo: GeoIndex,
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
) {
  return geo.rebuildFromTable(
    { count: () => repo.countIndexed(), batch: (afterId, size) => repo.indexedGeoBatch(afterId, size) },
    options,
  );
}
