import { randomUUID } from 'node:crypto';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Outbox } from '../../infra/outbox';
import { Conflict, Forbidden, NotFound } from '../../errors';
import type { ChatRepository, MessageRow, RoomRow } from './chat.repository';
import type { BatchOutcome, BatchedSend, LockTurn } from './chat.batch';
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
}

const keyOf = (m: { roomId: number; senderId: number; clientId: string }) => `${m.roomId}:${m.senderId}:${m.clientId}`;

/**
 * Writes a batch of sends in one transaction: the batch's rooms locked once each (in id order), the
 * checks for every send in a fixed number of queries, one multi-row insert, one update of the rooms'
 * activity, and the outbox rows (notifications, the broadcast's fallback). Then, after the commit,
 * the broadcast. Under the room locks a room's ids follow commit order (an `after` catch-up never
 * skips a late commit), and a clientId already stored, or repeated within the batch, returns the one
 * stored message (exactly once; the UNIQUE key stays the last word).
 */
export class BatchWriter {
  constructor(private readonly deps: BatchWriterDeps) {}

  async commit(sends: BatchedSend[], turn: LockTurn): Promise<BatchOutcome<SendResult>[]> {
    const key = randomUUID();
    const attempt = () => inTransaction(this.deps.sequelize, (t) => this.write(sends, key, turn, t));
    // A repeat that committed after our clientId read trips the UNIQUE key; once more, the read sees it.
    const { outcomes, relay } = await attempt().catch((err) => {
      if (!(err instanceof UniqueConstraintError)) throw err;
      return attempt();
    });
    if (relay.length) this.deps.relay.publishAfterCommit(key, relay);
    return outcomes;
  }

  private async write(
    sends: BatchedSend[],
    relayKey: string,
    turn: LockTurn,
    t: Transaction,
  ): Promise<{ outcomes: BatchOutcome<SendResult>[]; relay: RelayItem[] }> {
    const { repo } = this.deps;
    const roomIds = [...new Set(sends.map((s) => s.roomId))].sort((x, y) => x - y);
    // The checks come before the room locks, which are held until the commit: the less a batch does
    // under them, the less another instance's batch sharing its rooms waits.
    const asked = new Map(sends.map((s) => [`${s.roomId}:${s.userId}`, { roomId: s.roomId, userId: s.userId }]));
    const members = await repo.batchMembers([...asked.values()], roomIds, t);
    const isMember = new Set(members.map((m) => `${m.roomId}:${m.userId}`));
    // A listing room is a 1:1 trade chat: a block between its parties stops it as it stops a direct one.
    const oneToOne = new Set(members.filter((m) => m.type === 'direct' || m.type === 'listing').map((m) => m.roomId));
    const byRoom = new Map<number, number[]>();
    for (const m of members) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m.userId]);
    // The other party of a 1:1 room, whose block stops the chat.
    const otherOf = (s: BatchedSend) =>
      oneToOne.has(s.roomId) ? byRoom.get(s.roomId)?.find((id) => id !== s.userId) : undefined;
    const pairKey = (x: number, y: number) => `${Math.min(x, y)}:${Math.max(x, y)}`;
    const pairs: Array<[number, number]> = [];
    for (const s of sends) {
      const other = otherOf(s);
      if (other !== undefined) pairs.push([s.userId, other]);
    }
    const blocked = pairs.length ? await this.deps.blocks.blockedPairs(pairs, t) : new Set<string>();
    const candidates = sends.filter((s) => isMember.has(`${s.roomId}:${s.userId}`));
    // Already stored: a clientId repeated by a batch that committed before this read. One that commits
    // after it (and before our insert) trips the UNIQUE key: the batch fails and its sends are
    // committed again one by one, each then finding it.
    const stored = new Map(
      (candidates.length
        ? await repo.findByClientIds(
            candidates.map((s) => ({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId })),
            t,
          )
        : []
      ).map((r) => [keyOf(r), r]),
    );

    // A locking read: a closing of the room (post deleted) that committed before it is seen.
    await turn.previous;
    let rooms: Map<number, RoomRow>;
    try {
      rooms = await repo.lockRooms(roomIds, t);
    } finally {
      turn.done();
    }
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
      await repo.insertMessages(
        [...fresh.values()].map((s) => ({
          roomId: s.roomId,
          senderId: s.userId,
          body: s.body,
          clientId: s.clientId,
          createdAt: now,
        })),
        t,
      );
      const inserted = await repo.findByClientIds(
        [...fresh.values()].map((s) => ({ roomId: s.roomId, senderId: s.userId, clientId: s.clientId })),
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
      await repo.touchRooms(lastIds, now, t);
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
    }
    for (const { i, key, s } of accepted) {
      // Created only for the send that inserted it; a repeat in the same batch reads the same row.
      outcomes[i] = { ok: true, value: { row: stored.get(key)!, created: fresh.get(key) === s } };
    }
    return { outcomes, relay };
  }
}
