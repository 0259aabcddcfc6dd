import type { Logger } from '../../infra/logger';
import { Unavailable } from '../../errors';

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
  /** Batches committing at once on this instance (never two with a room in common). */
  maxInFlight?: number;
  /** Told of every batch committed: its sends and how long its commit took (metrics). */
  observe?: (size: number, seconds: number) => void;
  /** Told how long each send of a committed batch waited in the queue before its batch started. */
  observeQueue?: (seconds: number) => void;
}

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
 * and goes into the next, so batches grow with the load by themselves.
 *
 * No two batches committing at once on this instance have a room in common: a send whose room is in
 * a batch still committing stays queued (in arrival order) until that batch is done, and the next
 * batch takes it. So this instance's batches never wait for each other's room locks (a batch waiting
 * for one room would keep every other send in it waiting too), and within a room arrival order on
 * this instance is insert order (a later batch only starts on a room after the earlier one committed).
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
  /** Rooms of the batches committing now. */
  private readonly busyRooms = new Set<number>();
  /** Set by drain: no send is taken after it. */
  private closed = false;

  constructor(
    private readonly commit: (sends: BatchedSend[]) => Promise<BatchOutcome<R>[]>,
    private readonly opts: GroupCommitOptions,
    private readonly logger: Logger,
  ) {}

  submit(send: BatchedSend): Promise<R> {
    // Stopping: the queue was drained and the database may close; the client retries elsewhere.
    if (this.closed) return Promise.reject(Unavailable('This instance is shutting down; retry shortly'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ send, at: performance.now(), resolve, reject });
      if (this.running.size >= this.maxInFlight) return; // a running batch's end takes the queue
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  /** Resolves once every send queued so far has been answered; later sends are refused (shutdown). */
  async drain(): Promise<void> {
    this.closed = true;
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
    const batch = this.take();
    if (!batch.length) return; // every queued send's room is committing: its batch's end flushes again
    const rooms = new Set(batch.map((w) => w.send.roomId));
    for (const r of rooms) this.busyRooms.add(r);
    const running: Promise<void> = this.run(batch).finally(() => {
      for (const r of rooms) this.busyRooms.delete(r);
      this.running.delete(running);
      // These waited for a whole commit already: no window for them.
      if (this.queue.length) this.flush();
    });
    this.running.add(running);
  }

  /** Up to maxBatch queued sends, in arrival order, leaving those whose room is committing. */
  private take(): Waiting<R>[] {
    const batch: Waiting<R>[] = [];
    const left: Waiting<R>[] = [];
    for (const w of this.queue) {
      if (batch.length < this.opts.maxBatch && !this.busyRooms.has(w.send.roomId)) batch.push(w);
      else left.push(w);
    }
    this.queue = left;
    return batch;
  }

  private async run(batch: Waiting<R>[]): Promise<void> {
    let outcomes: BatchOutcome<R>[];
    const started = performance.now();
    if (this.opts.observeQueue) for (const w of batch) this.opts.observeQueue((started - w.at) / 1000);
    try {
      outcomes = await this.commit(batch.map((w) => w.send));
      this.opts.observe?.(batch.length, (performance.now() - started) / 1000);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      this.logger.warn(
        { err: (err as Error).message, size: batch.length },
        'chat batch failed; committing its sends one by one',
      );
      // In order, so a room's ids still follow arrival order.
      for (const w of batch) await this.run([w]);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }
}
