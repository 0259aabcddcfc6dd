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
  /** Told how long each send of a committed batch waited in the queue before its batch started. */
  observeQueue?: (seconds: number) => void;
}

/**
 * Orders the room locks of concurrent batches that share a room: a batch takes its locks only once
 * every earlier batch of this instance with one of its rooms has all of its own, so within a room the
 * earlier batch inserts first (arrival order). Batches with no room in common do not wait for each
 * other.
 */
export interface LockTurn {
  /** Resolves when the earlier batches sharing a room with this one hold their locks (or ended). */
  previous: Promise<void>;
  /** Call once this batch holds its locks (or failed before): later batches may take their own. */
  done(): void;
}

const freeTurn: LockTurn = { previous: Promise.resolve(), done: () => undefined };

interface Waiting<R> {
  send: BatchedSend;
  /** performance.now() at submit. */
  at: number;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for chat sends on one instance: sends queue here and are written by ONE transaction
 * per batch (one multi-row insert, one lock per room for the whole batch) instead of one transaction
 * and one room lock each. At most `maxInFlight` batches commit at once: what arrives meanwhile waits
 * and goes into the next, so batches grow with the load by themselves. Batches sharing a room take
 * their locks in turn (LockTurn), so arrival order on this instance is insert order within a room;
 * batches with disjoint rooms lock in parallel.
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
  /** Per room, the lock turn of the latest batch holding it that may not have its locks yet. */
  private readonly lockedByRoom = new Map<number, Promise<void>>();

  constructor(
    private readonly commit: (sends: BatchedSend[], turn: LockTurn) => Promise<BatchOutcome<R>[]>,
    private readonly opts: GroupCommitOptions,
    private readonly logger: Logger,
  ) {}

  submit(send: BatchedSend): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ send, at: performance.now(), resolve, reject });
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
    const { turn, done } = this.takeTurn(batch);
    const running: Promise<void> = this.run(batch, turn).finally(() => {
      done();
      this.running.delete(running);
      // These waited for a whole commit already: no window for them.
      if (this.queue.length) this.flush();
    });
    this.running.add(running);
  }

  /**
   * This batch's place in the lock order of each of its rooms: it waits for the latest earlier batch
   * of each (which waited for its own predecessors), and becomes the one later batches wait for.
   */
  private takeTurn(batch: Waiting<R>[]): { turn: LockTurn; done: () => void } {
    const rooms = [...new Set(batch.map((w) => w.send.roomId))];
    const earlier = [...new Set(rooms.map((r) => this.lockedByRoom.get(r)).filter((p) => p !== undefined))];
    let done!: () => void;
    const locked = new Promise<void>((resolve) => (done = resolve));
    for (const r of rooms) this.lockedByRoom.set(r, locked);
    void locked.then(() => {
      for (const r of rooms) if (this.lockedByRoom.get(r) === locked) this.lockedByRoom.delete(r);
    });
    const previous = earlier.length ? Promise.all(earlier).then(() => undefined) : Promise.resolve();
    return { turn: { previous, done }, done };
  }

  private async run(batch: Waiting<R>[], turn: LockTurn): Promise<void> {
    let outcomes: BatchOutcome<R>[];
    const started = performance.now();
    if (this.opts.observeQueue) for (const w of batch) this.opts.observeQueue((started - w.at) / 1000);
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
