import { createHash } from 'node:crypto';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { CLAIM_TX, inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { DomainEvents } from '../../infra/domain-events';
import type { DomainEventMap } from '../events';
import { type Outbox } from '../../infra/outbox';
import { templates } from '../../infra/mail/templates';
import { Conflict, Forbidden, NotFound, ValidationFailed } from '../../errors';
import { decodeIdCursor, paginate } from '../../http/cursor';
import type { UsersService } from '../users/users.service';
import type { Blocks } from '../safety/safety.service';
import type { PetsService } from '../pets/pets.service';
import type { Pet } from '../pets/pets.presenter';
import type { BookableSitter, SittersService } from '../sitters/sitters.service';
import { addDays, dayIn, daysBetween } from '../sitters/sitters.days';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService } from '../notifications/notifications.service';
import { TOPIC_MAIL } from '../auth/auth.service';
import {
  ReservationsRepository,
  type Party,
  type ReservationRow,
  type ReservationStatus,
} from './reservations.repository';
import { presentReservations, type Reservation } from './reservations.presenter';

export const MAX_DAYS = 30;
const REQUEST_TTL_MS = 48 * 3600 * 1000;
const AUTO_COMPLETE_AFTER_DAYS = 7;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const IDEMPOTENCY_SCOPE = 'reservations.create';
const SWEEP_BATCH = 100;

export type Service = ReservationRow['service'];

export interface CreateInput {
  sitterId: number;
  service: Service;
  petIds: number[];
  startDate: string;
  endDate: string;
  note?: string;
}

export type Action = 'accept' | 'reject' | 'cancel' | 'complete';

/** Which party may take each action (API.md "Reservations"). */
const ACTOR: Record<Action, 'sitter' | 'either'> = {
  accept: 'sitter',
  reject: 'sitter',
  cancel: 'either',
  complete: 'sitter',
};

export interface ReservationsDeps {
  sequelize: Sequelize;
  repo: ReservationsRepository;
  users: UsersService;
  pets: PetsService;
  sitters: SittersService;
  chat: ChatService;
  notifications: NotificationsService;
  /** The safety module's block check: no new reservation between users on either side of a block. */
  blocks?: Blocks;
  outbox: Outbox;
  clock: Clock;
  serviceTz: string;
  logger: Logger;
  /** `sitter.reviewed` in the review's transaction. */
  events: DomainEvents<DomainEventMap>;
}

/** JSON with sorted keys, so the same body always hashes the same (idempotency). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const daysOf = (start: string, end: string) =>
  Array.from({ length: daysBetween(start, end) + 1 }, (_, i) => addDays(start, i));

export class ReservationsService {
  constructor(private readonly d: ReservationsDeps) {}

  today(): string {
    return dayIn(this.d.clock.now(), this.d.serviceTz);
  }

  /** Sitter search leaves out sitters with a full day in the asked range (see the repository). */
  fullDayFilter(range: { from: string; to: string }): { where: string[]; replacements: unknown[] } {
    return this.d.repo.fullDayFilter(range);
  }

  /** Sitter profiles among `sitterIds` the owner has an accepted reservation with (sitters show them the exact home). */
  acceptedSittersOf(ownerId: number, sitterIds: number[]): Promise<Set<number>> {
    return this.d.repo.acceptedSittersOf(ownerId, sitterIds);
  }

  // --- booking -----------------------------------------------------------------------------------

  /**
   * Books days with a sitter. With an Idempotency-Key the first answer is stored with the key (in the
   * same transaction) and replayed for 24 h to the same user and body; another body is a 409.
   * Refused requests store nothing, so a retry after fixing the cause goes through.
   */
  async create(
    userId: number,
    input: CreateInput,
    idempotencyKey?: string,
  ): Promise<{ reservation: Reservation; replayed: boolean }> {
    if (!idempotencyKey)
      return {
        reservation: await inTransaction(this.d.sequelize, (t) => this.book(userId, input, t)),
        replayed: false,
      };

    const hash = createHash('sha256').update(canonical(input)).digest('hex');
    for (let attempt = 0; attempt < 3; attempt++) {
      const replay = await this.replayKey(userId, idempotencyKey, hash);
      if (replay) return { reservation: replay, replayed: true };
      try {
        const reservation = await inTransaction(this.d.sequelize, async (t) => {
          const keyId = await this.d.repo.insertKey(
            userId,
            IDEMPOTENCY_SCOPE,
            idempotencyKey,
            hash,
            this.d.clock.now(),
            t,
          );
          const booked = await this.book(userId, input, t);
          // The key row keeps the answer as sent (201 Created) for the replays.
          await this.d.repo.saveKeyResponse(keyId, 201, booked, t);
          return booked;
        });
        return { reservation, replayed: false };
      } catch (err) {
        // A concurrent request with the same key committed first: answer with its stored response.
        if (!(err instanceof UniqueConstraintError)) throw err;
      }
    }
    throw Conflict('A request with this Idempotency-Key is still in progress; retry shortly');
  }

  private async replayKey(userId: number, key: string, hash: string): Promise<Reservation | null> {
    const row = await this.d.repo.findKey(userId, IDEMPOTENCY_SCOPE, key);
    if (!row) return null;
    const expiredBefore = new Date(this.d.clock.now().getTime() - IDEMPOTENCY_TTL_MS);
    if (new Date(row.createdAt) < expiredBefore) {
      await this.d.repo.deleteKeyIfOlder(row.id, expiredBefore);
      return null;
    }
    if (row.requestHash !== hash) throw Conflict('This Idempotency-Key was used with a different request body');
    if (row.responseStatus === null || row.responseBody === null)
      throw Conflict('A request with this Idempotency-Key is still in progress');
    return JSON.parse(row.responseBody) as Reservation;
  }

  private async book(ownerId: number, input: CreateInput, t: Transaction): Promise<Reservation> {
    const today = this.today();
    this.checkDates(input.startDate, input.endDate, today);
    const pets = await this.d.pets.findOwnedPets(ownerId, input.petIds, t);
    const sitter = await this.d.sitters.lockForBooking(input.sitterId, t);
    if (!sitter) throw NotFound('Sitter');
    if (!sitter.active) throw Conflict('This sitter is not taking reservations');
    if (sitter.userId === ownerId) throw Conflict('You cannot book yourself');
    if (await this.d.blocks?.between(ownerId, sitter.userId, t))
      throw Conflict('A reservation between you and this sitter is not possible');
    const unitPrice = sitter.prices[input.service];
    if (unitPrice === null) throw Conflict(`This sitter does not offer ${input.service}`);
    const refused = pets.filter((p) => !sitter.accepts[p.size]);
    if (refused.length)
      throw Conflict(`This sitter does not take ${refused[0].size} pets (${refused.map((p) => p.name).join(', ')})`);
    if (pets.length > sitter.maxPets) throw Conflict(`This sitter takes at most ${sitter.maxPets} pet(s) at a time`);
    const unavailable = await this.d.sitters.unavailableWithin(sitter.id, input.startDate, input.endDate, t);
    if (unavailable.length) throw Conflict(`The sitter is unavailable on ${unavailable.join(', ')}`);
    await this.requireRoom(sitter, input.startDate, input.endDate, pets.length, t);

    const now = this.d.clock.now();
    const days = daysBetween(input.startDate, input.endDate) + 1;
    const id = await this.d.repo.insert(
      {
        ownerId,
        sitterId: sitter.id,
        sitterUserId: sitter.userId,
        service: input.service,
        startDate: input.startDate,
        endDate: input.endDate,
        petCount: pets.length,
        petsJson: JSON.stringify(pets),
        unitPrice,
        totalPrice: unitPrice * days * pets.length,
        note: input.note ?? null,
        expiresAt: new Date(now.getTime() + REQUEST_TTL_MS),
      },
      now,
      t,
    );
    const { roomId } = await this.d.chat.createRoomInTx(t, {
      type: 'reservation',
      memberIds: [ownerId, sitter.userId],
      reservationId: id,
    });
    await this.d.repo.setChatRoom(id, roomId, t);
    const row = await this.reread(id, t);
    await this.notify(t, row, 'requested', 'owner');
    return (await presentReservations([row], this.d.users, t))[0];
  }

  private checkDates(start: string, end: string, today: string) {
    if (start < today)
      throw ValidationFailed('startDate is in the past', [
        { path: 'body.startDate', message: `must be ${today} or later` },
      ]);
    if (end < start)
      throw ValidationFailed('endDate is before startDate', [
        { path: 'body.endDate', message: 'must not be before startDate' },
      ]);
    if (daysBetween(start, end) + 1 > MAX_DAYS) {
      throw ValidationFailed(`A reservation covers at most ${MAX_DAYS} days`, [
        { path: 'body.endDate', message: `at most ${MAX_DAYS} days after startDate` },
      ]);
    }
  }

  /** Capacity: pets already accepted on each day + these pets must fit `maxPets` (caller holds the sitter lock). */
  private async requireRoom(sitter: BookableSitter, start: string, end: string, pets: number, t: Transaction) {
    const load = await this.d.repo.bookedLoad(sitter.id, start, end, t);
    const full = [...load.entries()]
      .filter(([, booked]) => booked + pets > sitter.maxPets)
      .map(([day]) => day)
      .sort();
    if (full.length) throw Conflict(`The sitter is fully booked on ${full.join(', ')}`);
  }

  // --- reading -----------------------------------------------------------------------------------

  async get(userId: number, id: number): Promise<Reservation> {
    const { row } = this.access(await this.d.repo.findById(id), userId);
    return (await presentReservations([row], this.d.users))[0];
  }

  async list(
    userId: number,
    q: { role?: 'owner' | 'sitter'; status?: ReservationStatus; limit: number; cursor?: string },
  ) {
    const beforeId = decodeIdCursor(q.cursor);
    const rows = await this.d.repo.list(userId, { role: q.role, status: q.status, beforeId, limit: q.limit + 1 });
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({ id: last.id }));
    return { items: await presentReservations(items, this.d.users), nextCursor };
  }

  /** Strangers get 404 (ids cannot be probed); the two parties get the row and their role. */
  private access(row: ReservationRow | null, userId: number): { row: ReservationRow; role: 'owner' | 'sitter' } {
    if (row && row.ownerId === userId) return { row, role: 'owner' };
    if (row && row.sitterUserId === userId) return { row, role: 'sitter' };
    throw NotFound('Reservation');
  }

  /** A reservation this code already found (rows are never deleted), read again, optionally locked. */
  private async reread(id: number, t: Transaction, lock = false): Promise<ReservationRow> {
    const row = await this.d.repo.findById(id, t, lock);
    if (!row) throw NotFound('Reservation');
    return row;
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  async act(userId: number, id: number, action: Action, reason?: string): Promise<Reservation> {
    const row = await inTransaction(this.d.sequelize, async (t) => {
      const { row: peek, role } = this.access(await this.d.repo.findById(id, t), userId);
      if (ACTOR[action] === 'sitter' && role !== 'sitter')
        throw Forbidden(`Only the sitter can ${action} a reservation`);
      // Lock order everywhere: sitter row, then reservation row.
      const sitter = await this.d.sitters.lockForBooking(peek.sitterId, t);
      const r = await this.reread(id, t, true);
      const today = this.today();
      const now = this.d.clock.now();
      switch (action) {
        case 'accept':
          this.requireStatus(r, ['requested'], action);
          if (!sitter || !sitter.active) throw Conflict('Reactivate your sitter profile before accepting');
          await this.requireRoom(sitter, r.startDate, r.endDate, r.petCount, t);
          await this.d.repo.transition(r.id, ['requested'], 'accepted', now, t);
          await this.d.repo.addLoad(r.sitterId, daysOf(r.startDate, r.endDate), r.petCount, t);
          break;
        case 'reject':
          this.requireStatus(r, ['requested'], action);
          await this.d.repo.transition(r.id, ['requested'], 'rejected', now, t);
          break;
        case 'cancel':
          this.requireStatus(r, ['requested', 'accepted'], action);
          if (r.startDate <= today) throw Conflict('A reservation cannot be cancelled once it has started');
          await this.cancel(r, role, reason ?? null, now, t);
          break;
        case 'complete':
          this.requireStatus(r, ['accepted'], action);
          if (r.startDate > today) throw Conflict('A reservation can be completed from its start day on');
          await this.d.repo.transition(r.id, ['accepted'], 'completed', now, t);
          break;
      }
      const updated = await this.reread(id, t);
      await this.notify(t, updated, updated.status, role);
      return updated;
    });
    return (await presentReservations([row], this.d.users))[0];
  }

  private requireStatus(r: ReservationRow, allowed: ReservationStatus[], action: Action) {
    if (!allowed.includes(r.status))
      throw Conflict(`A ${r.status} reservation cannot be ${action === 'cancel' ? 'cancelled' : `${action}ed`}`);
  }

  private async cancel(r: ReservationRow, by: Party, reason: string | null, now: Date, t: Transaction) {
    const wasAccepted = r.status === 'accepted';
    await this.d.repo.transition(r.id, ['requested', 'accepted'], 'cancelled', now, t, { by, reason });
    if (wasAccepted) await this.d.repo.removeLoad(r.sitterId, r.startDate, r.endDate, r.petCount, t);
  }

  /**
   * Account deletion (inside its transaction): every open reservation of the account, as owner or as
   * sitter, is cancelled as a normal cancel would be (an accepted one gives its days back to the
   * sitter's capacity) and the other party is told. Started ones too: nobody will turn up. The
   * candidates are read with a lock before their sitters are (against the usual order), so a clash
   * with a concurrent action is a deadlock, which `inTransaction` retries.
   */
  async cancelOpenForDeletedAccount(userId: number, t: Transaction): Promise<void> {
    const now = this.d.clock.now();
    for (const open of await this.d.repo.lockOpenOf(userId, this.today(), t)) {
      const by: Party = open.ownerId === userId ? 'owner' : 'sitter';
      await this.d.sitters.lockForBooking(open.sitterId, t);
      const r = await this.reread(open.id, t, true);
      if (r.status !== 'requested' && r.status !== 'accepted') continue;
      await this.cancel(r, by, `The ${by} left Pawmate`, now, t);
      await this.notify(t, await this.reread(r.id, t), 'cancelled', by);
    }
  }

  // --- reviews -----------------------------------------------------------------------------------

  async review(userId: number, id: number, input: { rating: number; comment?: string }) {
    const result = await inTransaction(this.d.sequelize, async (t) => {
      const { row: peek, role } = this.access(await this.d.repo.findById(id, t), userId);
      // Same lock order as every other booking change: sitter row (addReview recounts under it), then reservation.
      await this.d.sitters.lockForBooking(peek.sitterId, t);
      const r = await this.reread(id, t, true);
      if (role !== 'owner') throw Forbidden('Only the owner can review a reservation');
      if (r.status !== 'completed') throw Conflict('A reservation can be reviewed once it is completed');
      let review: { id: number; createdAt: Date };
      try {
        review = await this.d.sitters.addReview(
          {
            reservationId: r.id,
            sitterId: r.sitterId,
            authorId: userId,
            rating: input.rating,
            comment: input.comment ?? null,
          },
          t,
        );
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw Conflict('This reservation has already been reviewed');
        throw err;
      }
      await this.d.notifications.notifyInTx(t, {
        recipientId: r.sitterUserId,
        type: 'review.new',
        title: `New ${input.rating}-star review`,
        body: input.comment?.slice(0, 140) ?? '',
        data: { reservationId: r.id, reviewId: review.id, rating: input.rating },
      });
      await this.d.events.emit(t, 'sitter.reviewed', {
        reservationId: r.id,
        sitterUserId: r.sitterUserId,
        authorId: userId,
        rating: input.rating,
        at: review.createdAt,
      });
      return review;
    });
    const author = (await this.d.users.publicUsers([userId])).get(userId)!;
    return {
      id: result.id,
      rating: input.rating,
      comment: input.comment ?? null,
      author,
      createdAt: result.createdAt.toISOString(),
    };
  }

  // --- scheduled work ----------------------------------------------------------------------------

  /**
   * One sweep over due-at data, safe on any number of instances at once: rows are claimed with
   * FOR UPDATE SKIP LOCKED and changed by guarded UPDATEs inside the claim, so each item fires once.
   */
  async sweep(): Promise<{ expired: number; reminded: number; completed: number }> {
    const today = this.today();
    const now = this.d.clock.now();
    const expired = await this.sweepBatches(
      (t) => this.d.repo.claimExpired(now, today, SWEEP_BATCH, t),
      async (r, t) => {
        await this.d.repo.transition(r.id, ['requested'], 'cancelled', now, t, {
          by: 'system',
          reason: 'The sitter did not answer in time',
        });
        await this.notify(t, { ...r, status: 'cancelled' }, 'cancelled', 'system');
      },
    );
    const reminded = await this.sweepBatches(
      (t) => this.d.repo.claimDueReminders(addDays(today, 1), SWEEP_BATCH, t),
      async (r, t) => {
        await this.d.repo.markReminded(r.id, now, t);
        await this.mailReminder(r, t);
      },
    );
    const completed = await this.sweepBatches(
      (t) => this.d.repo.claimAutoComplete(addDays(today, -AUTO_COMPLETE_AFTER_DAYS), SWEEP_BATCH, t),
      async (r, t) => {
        await this.d.repo.transition(r.id, ['accepted'], 'completed', now, t);
        await this.notify(t, { ...r, status: 'completed' }, 'completed', 'system');
      },
    );
    return { expired, reminded, completed };
  }

  private async sweepBatches(
    claim: (t: Transaction) => Promise<ReservationRow[]>,
    apply: (r: ReservationRow, t: Transaction) => Promise<void>,
  ) {
    let total = 0;
    for (;;) {
      const n = await inTransaction(
        this.d.sequelize,
        async (t) => {
          const rows = await claim(t);
          for (const r of rows) await apply(r, t);
          return rows.length;
        },
        4,
        CLAIM_TX,
      );
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  private async mailReminder(r: ReservationRow, t: Transaction) {
    const [owner, sitter] = await Promise.all([
      this.d.users.findById(r.ownerId, t),
      this.d.users.findById(r.sitterUserId, t),
    ]);
    for (const [to, other] of [
      [owner, sitter],
      [sitter, owner],
    ] as const) {
      if (!to) continue;
      const mail = templates.reservationReminder(
        to.email,
        to.nickname,
        other?.nickname ?? 'your Pawmate partner',
        r.service,
        r.startDate,
        r.endDate,
      );
      await this.d.outbox.add(t, TOPIC_MAIL, mail);
    }
  }

  // --- notifications -----------------------------------------------------------------------------

  /** Tells the other party (both, for the system's moves); nobody is notified of their own action. */
  private async notify(t: Transaction, r: ReservationRow, status: ReservationStatus, actor: Party) {
    const recipients =
      actor === 'system' ? [r.ownerId, r.sitterUserId] : [actor === 'owner' ? r.sitterUserId : r.ownerId];
    const pets = (JSON.parse(r.petsJson) as Pet[]).map((p) => p.name).join(', ');
    const titles: Partial<Record<ReservationStatus, string>> = {
      requested: 'New reservation request',
      accepted: 'Reservation accepted',
      rejected: 'Reservation declined',
      cancelled: 'Reservation cancelled',
      completed: 'Reservation completed',
    };
    for (const recipientId of recipients.sort((a, b) => a - b)) {
      await this.d.notifications.notifyInTx(t, {
        recipientId,
        type: `reservation.${status}` as 'reservation.requested',
        title: titles[status] ?? 'Reservation update',
        body: `${r.service.replace('_', '-')} for ${pets}, ${r.startDate} – ${r.endDate}`,
        data: { reservationId: r.id, status, chatRoomId: r.chatRoomId },
      });
    }
  }
}
