import type { Logger } from '../../infra/logger';

/** One send waiting for its batch. */
export interface BatchedSend {
  userId: number;
  roomId: number;
  body: string;
  clientId: string;
  /** The sending socket, left out of the broadcast (its ack carries the message). */
  socketId?: string;
}

/** What a batch's commit answers for each of its sends, in the same order: a result or that send's own error. */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface GroupCommitOptions {
  /** How long the first send of an idle instance waits for others to share its transaction. */
  windowMs: number;
  /** Sends per transaction at most; a full queue is committed without waiting for the window. */
  maxBatch: number;
  /** Batches committing at once on this instance (their room locks are taken in batch order). */
  maxInFlight?: number;
  /** Told of every batch committed: its sends and how long its commit took (metrics). */
  observe?: (size: number, seconds: number) => void;
}

/**
 * Orders the room locks of concurrent batches: a batch takes its locks only once the previous batch
 * has all of its own, so where two batches share a room the earlier one inserts first (arrival order).
 */
export interface LockTurn {
  /** Resolves when the previous batch holds its locks (or ended). */
  previous: Promise<void>;
  /** Call once this batch holds its locks (or failed before): the next batch may take its own. */
  done(): void;
}

const freeTurn: LockTurn = { previous: Promise.resolve(), done: () => undefined };

interface Waiting<R> {
  send: BatchedSend;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for chat sends on one instance: sends queue here and are written by ONE transaction
 * per batch (one multi-row insert, one lock per room for the whole batch) instead of one transaction
 * and one room lock each. At most `maxInFlight` batches commit at once: what arrives meanwhile waits
 * and goes into the next, so batches grow with the load by themselves. Batches take their room locks
 * in turn (LockTurn), so arrival order on this instance is insert order within a room.
 *
 * `commit` answers every send of the batch (a send's own refusal, e.g. not a member, is its outcome
 * and does not fail the others). When the whole batch fails (an error that is nobody's in
 * particular), each send is committed again on its own, so one bad send cannot fail unrelated ones
 * and every send gets its own answer.
 */
export class GroupCommit<R> {
  private queue: Waiting<R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<Promise<void>>();
  private lastLocked: Promise<void> = Promise.resolve();

  constructor(
    private readonly commit: (sends: BatchedSend[], turn: LockTurn) => Promise<BatchOutcome<R>[]>,
    private readonly opts: GroupCommitOptions,
    private readonly logger: Logger,
  ) {}

  submit(send: BatchedSend): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ send, resolve, reject });
      if (this.running.size >= this.maxInFlight) return; // a running batch's end takes the queue
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  /** Resolves once every send queued so far has been answered (shutdown). */
  async drain(): Promise<void> {
    while (this.running.size || this.queue.length) {
      this.flush();
      await Promise.all(this.running);
    }
  }

  private get maxInFlight(): number {
    return this.opts.maxInFlight ?? 1;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running.size >= this.maxInFlight || !this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    const previous = this.lastLocked;
    let done!: () => void;
    this.lastLocked = new Promise<void>((resolve) => (done = resolve));
    const running: Promise<void> = this.run(batch, { previous, done }).finally(() => {
      done();
      this.running.delete(running);
      // These waited for a whole commit already: no window for them.
      if (this.queue.length) this.flush();
    });
    this.running.add(running);
  }

  private async run(batch: Waiting<R>[], turn: LockTurn): Promise<void> {
    let outcomes: BatchOutcome<R>[];
    const started = performance.now();
    try {
      outcomes = await this.commit(
        batch.map((w) => w.send),
        turn,
      );
      this.opts.observe?.(batch.length, (performance.now() - started) / 1000);
    } catch (err) {
      turn.done();
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      this.logger.warn(
        { err: (err as Error).message, size: batch.length },
        'chat batch failed; committing its sends one by one',
      );
      // In order, so a room's ids still follow arrival order.
      for (const w of batch) await this.run([w], freeTurn);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }
}
