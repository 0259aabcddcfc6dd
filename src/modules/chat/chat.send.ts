import { randomUUID } from 'node:crypto';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Outbox } from '../../infra/outbox';
import { Conflict, Forbidden, NotFound } from '../../errors';
import type { ChatRepository, MessageRow } from './chat.repository';
import type { BatchOutcome, BatchedSend } from './chat.batch';
import { RELAY_GRACE_MS, TOPIC_CHAT_RELAY, type ChatRelay, type RelayItem } from './chat.relay';
import type { ChatBlocks, ChatMessage } from './chat.service';

export const TOPIC_CHAT_NOTIFY = 'chat.message.notify';
/** Rows of one message each, written before group commit (a batch's notifications now ride on its relay row). */
export type ChatNotifyPayload = { messageId: number } | { messageIds: number[] };
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_CHAT_NOTIFY]: ChatNotifyPayload;
  }
}

export interface SendResult {
  row: MessageRow;
  created: boolean;
}

export interface BatchWriterDeps {
  sequelize: Sequelize;
  repo: ChatRepository;
  outbox: Outbox;
  clock: Clock;
  blocks: ChatBlocks;
  relay: ChatRelay;
  /** A stored row as its sender reads it (what the broadcast carries). */
  present(row: MessageRow): ChatMessage;
  /** Told how long each step of a committed batch took (metrics: where a batch's time goes). */
  observePhase?: (phase: BatchPhase, seconds: number) => void;
}

/**
 * A batch's steps, in order: `begin` (a pooled connection and START TRANSACTION), `checks` (stored
 * clientIds in the transaction, membership and blocks beside it: before the locks), `lock` (the room
 * locks, including waiting for another instance's batch on a room), `insert`, `readback` (the
 * inserted rows' ids: nothing where they are known consecutive), `touch` (rooms' activity), `outbox`,
 * `commit`, and `publish` (the broadcast's Redis script, after the commit). The metrics add `queue`:
 * per send, its wait for a batch.
 */
export type BatchPhase =
  'checks' | 'begin' | 'lock' | 'insert' | 'readback' | 'touch' | 'outbox' | 'commit' | 'publish';

/** Times a batch's steps; each `mark` closes the step that began at the previous one. */
class PhaseClock {
  private last = performance.now();
  private readonly seen: Array<[BatchPhase, number]> = [];
  mark(phase: BatchPhase): void {
    const now = performance.now();
    this.seen.push([phase, (now - this.last) / 1000]);
    this.last = now;
  }
  report(observe?: (phase: BatchPhase, seconds: number) => void): void {
    if (observe) for (const [phase, seconds] of this.seen) observe(phase, seconds);
  }
}

const keyOf = (m: { roomId: number; senderId: number; clientId: string }) => `${m.roomId}:${m.senderId}:${m.clientId}`;

/** Who may send where, read beside the transaction (BatchWriter.access). */
interface Access {
  isMember: Set<string>;
  /** Each room's `membersVersion` as the membership was read (see the chat_rooms migration). */
  versionOf: Map<number, number>;
  /** The other party of a 1:1 room, whose block stops the chat. */
  otherOf(s: BatchedSend): number | undefined;
  /** Blocked pairs among the senders and their 1:1 rooms' other parties, keyed `low:high`. */
  blocked: Set<string>;
}

/**
 * Writes a batch of sends in one transaction: the batch's rooms locked once each (in id order), the
 * checks for every send in a fixed number of queries, one multi-row insert, one update of the rooms'
 * activity, and the outbox rows (notifications, the broadcast's fallback). Then, after the commit,
 * the broadcast. Under the room locks a room's ids follow commit order (an `after` catch-up never
 * skips a late commit), and a clientId already stored, or repeated within the batch, returns the one
 * stored message (exactly once; the UNIQUE key stays the last word).
 */
export class BatchWriter {
  /** Asked of the server once (it is a startup setting), on the first batch. */
  private consecutive: Promise<boolean> | null = null;

  constructor(private readonly deps: BatchWriterDeps) {}

  private consecutiveIds(): Promise<boolean> {
    this.consecutive ??= this.deps.repo.autoIncrementIsConsecutive().catch(() => {
      this.consecutive = null; // asked again next time; read back meanwhile
      return false;
    });
    return this.consecutive;
  }

  async commit(sends: BatchedSend[]): Promise<BatchOutcome<SendResult>[]> {
    const key = randomUUID();
    let clock = new PhaseClock();
    const attempt = () => {
      clock = new PhaseClock();
      // Membership and blocks on a pooled connection of their own while the transaction begins.
      const access = this.access(sends);
      access.catch(() => undefined); // awaited in the transaction; unhandled only if it never began
      return inTransaction(this.deps.sequelize, (t) => this.write(sends, access, key, t, clock));
    };
    // A repeat that committed after our clientId read trips the UNIQUE key; once more, the read sees it.
    const { outcomes, relay } = await attempt().catch((err) => {
      if (!(err instanceof UniqueConstraintError)) throw err;
      return attempt();
    });
    clock.mark('commit');
    if (relay.length) {
      const done = clock;
      void this.deps.relay.publishAfterCommit(key, relay).then(() => {
        done.mark('publish');
        done.report(this.deps.observePhase);
      });
    } else clock.report(this.deps.observePhase);
    return outcomes;
  }

  /**
   * Membership and blocks, read while the transaction begins, on another pooled connection: every
   * round trip taken off the transaction's sequence is one less in the batch's latency. They are plain
   * reads, as they were inside the transaction before the locks: a block added in the few milliseconds
   * before the commit is treated as before it. What must be exact is under the locks: a closed room,
   * and a member removed meanwhile (the rooms' `membersVersion`, see recheckMembers); or the UNIQUE
   * key's (a repeated clientId).
   */
  private async access(sends: BatchedSend[]): Promise<Access> {
    const { repo } = this.deps;
    void this.consecutiveIds(); // answered before the insert needs it, not under the locks
    const roomIds = [...new Set(sends.map((s) => s.roomId))];
    const asked = new Map(sends.map((s) => [`${s.roomId}:${s.userId}`, { roomId: s.roomId, userId: s.userId }]));
    const members = await repo.batchMembers([...asked.values()], roomIds);
    const isMember = new Set(members.map((m) => `${m.roomId}:${m.userId}`));
    const versionOf = new Map(members.map((m) => [m.roomId, m.membersVersion]));
    // A listing room is a 1:1 trade chat: a block between its parties stops it as it stops a direct one.
    const oneToOne = new Set(members.filter((m) => m.type === 'direct' || m.type === 'listing').map((m) => m.roomId));
    const byRoom = new Map<number, number[]>();
    for (const m of members) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m.userId]);
    // The other party of a 1:1 room, whose block stops the chat.
    const otherOf = (s: BatchedSend) =>
      oneToOne.has(s.roomId) ? byRoom.get(s.roomId)?.find((id) => id !== s.userId) : undefined;
    const pairs: Array<[number, number]> = [];
    for (const s of sends) {
      const other = otherOf(s);
      if (other !== undefined && isMember.has(`${s.roomId}:${s.userId}`)) pairs.push([s.userId, other]);
    }
    const blocked = pairs.length ? await this.deps.blocks.blockedPairs(pairs) : new Set<string>();
    return { isMember, versionOf, otherOf, blocked };
  }

  /**
   * Membership read again, under the room locks, in the rooms whose `membersVersion` moved since it was
   * first read: a removal committed in between, and the removed member's send must be refused (the
   * contract's "leaves the chat room at once"). Under READ COMMITTED this read sees that commit.
   */
  private async recheckMembers(
    sends: BatchedSend[],
    rooms: Map<number, { membersVersion: number }>,
    access: Access,
    t: Transaction,
  ): Promise<void> {
    const moved = sends.filter(
      (s) =>
        access.isMember.has(`${s.roomId}:${s.userId}`) &&
        rooms.get(s.roomId)?.membersVersion !== access.versionOf.get(s.roomId),
    );
    if (!moved.length) return;
    const pairs = moved.map((s) => ({ roomId: s.roomId, userId: s.userId }));
    const still = new Set(
      (await this.deps.repo.batchMembers(pairs, [...new Set(pairs.map((p) => p.roomId))], t)).map(
        (m) => `${m.roomId}:${m.userId}`,
      ),
    );
    for (const p of pairs) if (!still.has(`${p.roomId}:${p.userId}`)) access.isMember.delete(`${p.roomId}:${p.userId}`);
  }

  private async write(
    sends: BatchedSend[],
    access: Promise<Access>,
    relayKey: string,
    t: Transaction,
    clock: PhaseClock,
  ): Promise<{ outcomes: BatchOutcome<SendResult>[]; relay: RelayItem[] }> {
    const { repo } = this.deps;
    clock.mark('begin');
    // Already stored: a clientId repeated by a batch that committed before this read. One that commits
    // after it (and before our insert) trips the UNIQUE key: the batch fails and is tried once more,
    // this read then finding it.
    const [checked, storedRows] = await Promise.all([
      access,
      repo.findByClientIds(
        sends.map((s) => ({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId })),
        t,
      ),
    ]);
    const stored = new Map(storedRows.map((r) => [keyOf(r), r]));
    clock.mark('checks');
    const roomIds = [...new Set(sends.map((s) => s.roomId))].sort((x, y) => x - y);
    const pairKey = (x: number, y: number) => `${Math.min(x, y)}:${Math.max(x, y)}`;
    // A locking read: a closing of the room (post deleted) that committed before it is seen.
    const rooms = await repo.lockRooms(roomIds, t);
    clock.mark('lock');
    await this.recheckMembers(sends, rooms, checked, t);
    const { isMember, otherOf, blocked } = checked;
    const refusal = (s: BatchedSend): Error | null => {
      const room = rooms.get(s.roomId);
      if (!room || !isMember.has(`${s.roomId}:${s.userId}`)) return NotFound('Chat room');
      if (room.closedAt) return Conflict('This chat room is closed: its post was deleted');
      const other = otherOf(s);
      if (other !== undefined && blocked.has(pairKey(s.userId, other)))
        return Forbidden('You cannot chat with this user');
      return null;
    };

    const outcomes: BatchOutcome<SendResult>[] = [];
    const accepted: Array<{ i: number; key: string; s: BatchedSend }> = [];
    sends.forEach((s, i) => {
      const error = refusal(s);
      if (error) outcomes[i] = { ok: false, error };
      else accepted.push({ i, key: keyOf({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId }), s });
    });
    if (!accepted.length) return { outcomes, relay: [] };

    // The first send of each new key is inserted; a repeat (stored, or earlier in this batch) gets its row.
    const fresh = new Map<string, BatchedSend>();
    for (const { key, s } of accepted) if (!stored.has(key) && !fresh.has(key)) fresh.set(key, s);
    const now = this.deps.clock.now();
    const relay: RelayItem[] = [];
    if (fresh.size) {
      const rows = [...fresh.values()].map((s) => ({
        roomId: s.roomId,
        senderId: s.userId,
        body: s.body,
        clientId: s.clientId,
        createdAt: now,
      }));
      const { firstId, inserted: count } = await repo.insertMessages(rows, t);
      clock.mark('insert');
      // The ids of a multi-row insert, without reading the rows back under the locks where the server
      // guarantees them consecutive (see ChatRepository.autoIncrementIsConsecutive); else read back.
      const inserted: MessageRow[] =
        count === rows.length && (await this.consecutiveIds())
          ? rows.map((r, i) => ({ ...r, id: firstId + i, hiddenAt: null, removedAt: null }))
          : await repo.findByClientIds(
              rows.map((r) => ({ roomId: r.roomId, senderId: r.senderId, clientId: r.clientId })),
              t,
            );
      const lastIds = new Map<number, number>();
      for (const row of inserted) {
        const k = keyOf(row);
        if (!fresh.has(k) || stored.has(k)) continue;
        stored.set(k, row);
        relay.push({
          message: this.deps.present(row),
          ...(fresh.get(k)!.socketId ? { except: fresh.get(k)!.socketId } : {}),
        });
        lastIds.set(row.roomId, Math.max(lastIds.get(row.roomId) ?? 0, row.id));
      }
      relay.sort((x, y) => x.message.id - y.message.id);
      clock.mark('readback');
      await repo.touchRooms(lastIds, now, t);
      clock.mark('touch');
      // One row for the batch's after-commit work, due a second later: the broadcast if this instance
      // has not published it by then, and the notifications of absent members.
      await this.deps.outbox.addMany(
        t,
        TOPIC_CHAT_RELAY,
        [
          {
            key: relayKey,
            messages: relay.map((r) => ({ id: r.message.id, ...(r.except ? { except: r.except } : {}) })),
          },
        ],
        { delayMs: RELAY_GRACE_MS },
      );
      clock.mark('outbox');
    }
    for (const { i, key, s } of accepted) {
      // Created only for the send that inserted it; a repeat in the same batch reads the same row.
      outcomes[i] = { ok: true, value: { row: stored.get(key)!, created: fresh.get(key) === s } };
    }
    return { outcomes, relay };
  }
}
