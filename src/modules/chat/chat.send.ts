import { randomUUID } from 'node:crypto';
import type { Clock } from '../../infra/clock';
import { isDuplicateKey } from '../../infra/db';
import type { Outbox } from '../../infra/outbox';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { ScriptedTransaction, ScriptedTransactions } from '../../infra/sql-script';
import { Conflict, Forbidden, NotFound } from '../../errors';
import type { ChatRepository, MessageRow } from './chat.repository';
import type { BatchOutcome, BatchedSend } from './chat.batch';
import {
  lockedRooms,
  messageRows,
  senderAccess,
  type ChatBatchStatements,
  type LockedRoom,
  type SenderAccess,
} from './chat.batch-statements';
import {
  RELAY_GRACE_MS,
  TOPIC_CHAT_RELAY,
  relayRowPayloadSql,
  type ChatRelay,
  type RelayItem,
  type RelayRowId,
} from './chat.relay';
import type { ChatMessage } from './chat.service';

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
  /** The batch's transactions, a packet of statements per round trip. */
  scripts: ScriptedTransactions;
  statements: ChatBatchStatements;
  repo: ChatRepository;
  outbox: Outbox;
  clock: Clock;
  relay: ChatRelay;
  /** A stored row as its sender reads it (what the broadcast carries). */
  present(row: MessageRow): ChatMessage;
  /** Told how long each step of a committed batch took (metrics: where a batch's time goes). */
  observePhase?: (phase: BatchPhase, seconds: number) => void;
}

/**
 * A batch's steps, in order: `begin` (a pooled connection), `checks` (the first packet: the room locks,
 * including waiting for another batch on a room, then membership, blocks and already stored clientIds
 * under them), `write` (the second packet: the insert, the rooms' activity, the outbox row and the
 * commit) and `publish` (the broadcast's Redis script, after the commit). The metrics add `queue`:
 * per send, its wait for a batch.
 */
export type BatchPhase = 'begin' | 'checks' | 'write' | 'publish';

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

/** What the first packet learnt, under the room locks. */
interface Checked {
  rooms: Map<number, LockedRoom>;
  access: Map<string, SenderAccess>;
  stored: Map<string, MessageRow>;
}

/**
 * Writes a batch of sends in one transaction of two round trips (src/infra/sql-script.ts): first the
 * batch's rooms locked once each (in id order) and, under those locks, who may send and what is
 * already stored; then one multi-row insert, the rooms' activity, the outbox row (notifications, the
 * broadcast's fallback) and the commit. Then, after the commit, the broadcast.
 *
 * Every insert into a room and every member removal holds the room's lock, so what the first packet
 * reads is exact until the commit: a room's ids follow commit order (an `after` catch-up never skips a
 * late commit), a member removed before the lock cannot send, and a clientId already stored, or repeated
 * within the batch, returns the one stored message (exactly once; the UNIQUE key stays the last word).
 * Blocks are read there too: a block committed a moment after that read applies to the next batch.
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
    const consecutive = await this.consecutiveIds();
    let clock = new PhaseClock();
    const attempt = () => {
      clock = new PhaseClock();
      return this.deps.scripts.run((tx) => this.write(sends, consecutive, key, tx, clock));
    };
    // A repeat that committed without our room lock would trip the UNIQUE key: once more, the read sees it.
    const { outcomes, relay } = await attempt().catch((err) => {
      if (!isDuplicateKey(err)) throw err;
      return attempt();
    });
    if (relay.length) {
      const done = clock;
      void this.deps.relay.publishAfterCommit(key, relay).then(() => {
        done.mark('publish');
        done.report(this.deps.observePhase);
      });
    } else clock.report(this.deps.observePhase);
    return outcomes;
  }

  /** The first packet: locks, then membership, blocks and stored clientIds under them. */
  private async check(sends: BatchedSend[], tx: ScriptedTransaction): Promise<Checked> {
    const { statements } = this.deps;
    const roomIds = [...new Set(sends.map((s) => s.roomId))].sort((x, y) => x - y);
    const pairs = [
      ...new Map(sends.map((s) => [`${s.roomId}:${s.userId}`, { roomId: s.roomId, userId: s.userId }])).values(),
    ];
    const [rooms, access, stored] = (await tx.send([
      statements.lockRooms(roomIds),
      statements.senderAccess(pairs),
      statements.storedMessages(sends.map((s) => ({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId }))),
    ])) as RowDataPacket[][];
    return {
      rooms: lockedRooms(rooms),
      access: senderAccess(access),
      stored: new Map(messageRows(stored).map((r) => [keyOf(r), r])),
    };
  }

  private refusal(s: BatchedSend, checked: Checked): Error | null {
    const room = checked.rooms.get(s.roomId);
    const access = checked.access.get(`${s.roomId}:${s.userId}`);
    if (!room || !access) return NotFound('Chat room');
    if (room.closedAt) return Conflict('This chat room is closed: its post was deleted');
    if (access.blocked) return Forbidden('You cannot chat with this user');
    return null;
  }

  private async write(
    sends: BatchedSend[],
    consecutive: boolean,
    relayKey: string,
    tx: ScriptedTransaction,
    clock: PhaseClock,
  ): Promise<{ outcomes: BatchOutcome<SendResult>[]; relay: RelayItem[] }> {
    clock.mark('begin');
    const checked = await this.check(sends, tx);
    clock.mark('checks');
    const { stored } = checked;
    const outcomes: BatchOutcome<SendResult>[] = [];
    const accepted: Array<{ i: number; key: string; s: BatchedSend }> = [];
    sends.forEach((s, i) => {
      const error = this.refusal(s, checked);
      if (error) outcomes[i] = { ok: false, error };
      else accepted.push({ i, key: keyOf({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId }), s });
    });

    // The first send of each new key is inserted; a repeat (stored, or earlier in this batch) gets its row.
    const fresh = new Map<string, BatchedSend>();
    for (const { key, s } of accepted) if (!stored.has(key) && !fresh.has(key)) fresh.set(key, s);
    const relay: RelayItem[] = [];
    if (!fresh.size) {
      await tx.send([], { commit: true });
    } else {
      const now = this.deps.clock.now();
      const rows = [...fresh.values()].map((s) => ({
        roomId: s.roomId,
        senderId: s.userId,
        body: s.body,
        clientId: s.clientId,
        createdAt: now,
      }));
      const inserted = await this.insert(rows, consecutive, relayKey, fresh, now, tx);
      clock.mark('write');
      for (const row of inserted) {
        const k = keyOf(row);
        stored.set(k, row);
        const except = fresh.get(k)!.socketId;
        relay.push({ message: this.deps.present(row), ...(except ? { except } : {}) });
      }
      relay.sort((x, y) => x.message.id - y.message.id);
    }
    for (const { i, key, s } of accepted) {
      // Created only for the send that inserted it; a repeat in the same batch reads the same row.
      outcomes[i] = { ok: true, value: { row: stored.get(key)!, created: fresh.get(key) === s } };
    }
    return { outcomes, relay };
  }

  /**
   * The second packet, with the commit. Where the server gives a multi-row insert consecutive ids
   * (ChatRepository.autoIncrementIsConsecutive) the outbox row takes them from the insert's first id in
   * the same packet; elsewhere the rows are read back first (one more round trip).
   */
  private async insert(
    rows: Array<Omit<MessageRow, 'id' | 'hiddenAt' | 'removedAt'>>,
    consecutive: boolean,
    relayKey: string,
    fresh: Map<string, BatchedSend>,
    now: Date,
    tx: ScriptedTransaction,
  ): Promise<MessageRow[]> {
    const { statements, outbox } = this.deps;
    const roomIds = [...new Set(rows.map((r) => r.roomId))];
    const relayRow = (ids: RelayRowId[]) =>
      outbox.delayedRowStatement(
        TOPIC_CHAT_RELAY,
        relayRowPayloadSql(
          relayKey,
          rows.map((r, i) => ({ id: ids[i], except: fresh.get(keyOf(r))!.socketId })),
        ),
        RELAY_GRACE_MS,
      );
    const afterInsert = (ids: RelayRowId[]) => [statements.touchRooms(roomIds, now), relayRow(ids)];
    if (consecutive) {
      const [header] = (await tx.send(
        [
          statements.insertMessages(rows),
          statements.rememberFirstId(),
          ...afterInsert(rows.map((_, i) => ({ firstIdPlus: i }))),
        ],
        { commit: true },
      )) as ResultSetHeader[];
      // Without IGNORE the insert wrote every row or failed the packet: ids are first, first + 1, …
      return rows.map((r, i) => ({ ...r, id: header.insertId + i, hiddenAt: null, removedAt: null }));
    }
    const [, back] = (await tx.send([statements.insertMessages(rows), statements.storedMessages(rows)])) as [
      ResultSetHeader,
      RowDataPacket[],
    ];
    const byKey = new Map(messageRows(back).map((r) => [keyOf(r), r]));
    const inserted = rows.map((r) => byKey.get(keyOf(r))!);
    await tx.send(afterInsert(inserted.map((r) => r.id)), { commit: true });
    return inserted;
  }
}
