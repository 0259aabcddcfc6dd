import { randomInt } from 'node:crypto';
import type { Redis } from '../../infra/redis';
import { waitAtMost } from '../../infra/wait-at-most';
import type { EventBus, KeyedChannels } from '../../infra/realtime/bus';
import type { Logger } from '../../infra/logger';
import { AppError, toAppError, type FieldError } from '../../errors';
import type { BatchedSend } from './chat.batch';
import type { SendResult } from './chat.send';
import type { MessageRow } from './chat.repository';

/** Keyed bus channel of one instance (the key is its id): sends forwarded to it, and answers to its own. */
export const CHAT_SENDS_CHANNEL = 'chat-sends';

export type ForwardMessage =
  | { kind: 'send'; from: number; id: number; send: BatchedSend }
  | { kind: 'done'; id: number; row: MessageRow; created: boolean }
  | {
      kind: 'failed';
      id: number;
      code: AppError['code'];
      detail: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
    };

declare module '../../infra/realtime/bus' {
  interface BusKeyedChannels {
    [CHAT_SENDS_CHANNEL]: ForwardMessage;
  }
}

/** How often an instance says it is alive, and after how long without that it owns no room. */
const HEARTBEAT_MS = 1000;
/** How long a stop waits for Redis to take this instance out of the live set. */
const LEAVE_WAIT_MS = 1000;
const ALIVE_MS = 3500;
/** A forwarded send not answered by then is committed here instead (its owner died or is cut off). */
export const FORWARD_TIMEOUT_MS = 5000;

export interface RoomOwnersDeps {
  redis: Redis;
  bus: EventBus;
  prefix: string;
  logger: Logger;
  /** Commits a send on this instance (the group commit). */
  commitHere(send: BatchedSend): Promise<SendResult>;
  /** Told of each send forwarded, and of each whose owner did not answer in time (metrics). */
  observe?: (event: 'forwarded' | 'timeout') => void;
  forwardTimeoutMs?: number;
}

/** A 32-bit mix of a room and an instance: the highest wins the room (rendezvous hashing). */
function weight(roomId: number, instance: number): number {
  let h = Math.imul(roomId ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(instance, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Each room's sends are committed by one instance, its owner, so two instances' batches never wait
 * for each other's room locks (with a member of a room of 2 on each instance, they otherwise would,
 * and a batch waiting on one room holds up every send in it). Owners are chosen by rendezvous
 * hashing over the live instances (a sorted set in Redis, refreshed every second): when one comes or
 * goes only its own rooms move. A send for another instance's room goes there on that instance's
 * bus channel and its answer comes back on ours.
 *
 * This is a placement for speed, not a guarantee anything rests on: the room locks still order every
 * commit, so a send committed by a non-owner (its owner stopped answering within
 * FORWARD_TIMEOUT_MS, or two instances briefly disagree on the live set) is as correct as any,
 * and a forwarded send that also commits late at its owner is stored once (the UNIQUE clientId).
 */
export class RoomOwners {
  /** This instance's id on the bus and in the live set. */
  readonly self = randomInt(1, 2 ** 31 - 1);
  private live: number[] = [this.self];
  private channel: KeyedChannels<typeof CHAT_SENDS_CHANNEL> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 0;
  /** Forwarded sends waiting for an answer, by id: the owner asked, and how to answer the sender. */
  private readonly pending = new Map<number, { owner: number; answer: (answer: ForwardMessage | null) => void }>();

  constructor(private readonly deps: RoomOwnersDeps) {}

  private get key(): string {
    return `${this.deps.prefix}chat:owners`;
  }

  async start(): Promise<void> {
    this.channel = this.deps.bus.keyed(CHAT_SENDS_CHANNEL, (_key, message) => this.onMessage(message));
    await this.channel.join(this.self);
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.live = [this.self];
    // Leaving the live set at once spares the others a forward timeout; if Redis does not answer, the
    // entry goes stale by itself, so the stop does not wait for it.
    await waitAtMost(this.deps.redis.zrem(this.key, String(this.self)), LEAVE_WAIT_MS);
    this.channel?.leave(this.self);
    this.channel = null;
    // Sends still waiting for another owner are committed here (stop drains them afterwards).
    for (const { answer } of this.pending.values()) answer(null);
    this.pending.clear();
  }

  /** The instance that commits this room's sends. */
  ownerOf(roomId: number): number {
    let best = this.self;
    let bestWeight = -1;
    for (const id of this.live) {
      const w = weight(roomId, id);
      if (w > bestWeight || (w === bestWeight && id > best)) [best, bestWeight] = [id, w];
    }
    return best;
  }

  /** Commits the send at its room's owner; here if that is us, or if the owner does not answer. */
  async submit(send: BatchedSend): Promise<SendResult> {
    const owner = this.ownerOf(send.roomId);
    if (owner === this.self || !this.channel) return this.deps.commitHere(send);
    const id = ++this.nextId;
    const answered = new Promise<ForwardMessage | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.deps.observe?.('timeout');
        resolve(null);
      }, this.deps.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS);
      this.pending.set(id, {
        owner,
        answer: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
      });
    });
    try {
      const [receivers] = await this.deps.bus.publishKeyed(CHAT_SENDS_CHANNEL, [
        [owner, { kind: 'send', from: this.self, id, send }],
      ]);
      if (receivers === 0) {
        // Nobody listens on the owner's channel: it died (its Redis connection closed with it) or
        // lost its bus. Its heartbeat may still count for up to ALIVE_MS; until the next beat, its
        // rooms are committed here rather than each send waiting out the forward timeout.
        this.live = this.live.filter((i) => i !== owner);
        this.answerPending(id, null);
      } else this.deps.observe?.('forwarded');
    } catch {
      this.answerPending(id, null);
    }
    const answer = await answered;
    if (!answer) return this.deps.commitHere(send);
    // The whole refusal: a 503 from the owner (its database away) keeps its Retry-After, a refusal
    // naming fields keeps them.
    if (answer.kind === 'failed') throw new AppError(answer.code, answer.detail, answer.errors, answer.headers);
    if (answer.kind !== 'done') throw new Error('unexpected forward answer');
    return { row: revive(answer.row), created: answer.created };
  }

  private onMessage(message: ForwardMessage): void {
    if (message.kind !== 'send') {
      this.answerPending(message.id, message);
      return;
    }
    const reply = (answer: ForwardMessage) =>
      this.deps.bus.publishKeyed(CHAT_SENDS_CHANNEL, [[message.from, answer]]).catch((err: Error) =>
        // The sender commits it itself after its timeout (found stored: the same row).
        this.deps.logger.warn({ err: err.message }, 'chat forwarded send: answer not published'),
      );
    this.deps.commitHere(message.send).then(
      ({ row, created }) => reply({ kind: 'done', id: message.id, row, created }),
      (err: unknown) => {
        const { error, unexpected } = toAppError(err);
        if (unexpected) this.deps.logger.error({ err }, 'chat forwarded send failed');
        return reply({
          kind: 'failed',
          id: message.id,
          code: error.code,
          detail: error.detail,
          ...(error.errors ? { errors: error.errors } : {}),
          headers: error.headers,
        });
      },
    );
  }

  private answerPending(id: number, answer: ForwardMessage | null): void {
    const entry = this.pending.get(id);
    this.pending.delete(id);
    entry?.answer(answer);
  }

  /** Says this instance is alive, and reads who else is. */
  private async beat(): Promise<void> {
    const now = Date.now();
    try {
      const [, , [, ids]] = (await this.deps.redis
        .multi()
        .zadd(this.key, now, String(this.self))
        .zremrangebyscore(this.key, 0, now - 10 * ALIVE_MS)
        .zrangebyscore(this.key, now - ALIVE_MS, '+inf')
        .exec()) as [unknown, unknown, [unknown, string[]]];
      const live = ids.map(Number).filter((id) => id > 0);
      this.live = live.includes(this.self) ? live : [...live, this.self];
      // Sends forwarded to an owner that has since left the live set (stopped, or silent for
      // ALIVE_MS) will get no answer: they are committed here now, not after the forward timeout.
      for (const [id, { owner }] of this.pending) if (!this.live.includes(owner)) this.answerPending(id, null);
    } catch (err) {
      // Without Redis nothing can be forwarded anyway: commit everything here.
      this.live = [this.self];
      this.deps.logger.warn({ err: (err as Error).message }, 'chat owners heartbeat failed');
    }
  }
}

/** A row as JSON carried it: its dates back to Dates. */
function revive(row: MessageRow): MessageRow {
  const date = (d: Date | string | null) => (d === null ? null : new Date(d));
  return { ...row, createdAt: new Date(row.createdAt), hiddenAt: date(row.hiddenAt), removedAt: date(row.removedAt) };
}
