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
}

interface Waiting<R> {
  send: BatchedSend;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for chat sends on one instance: sends queue here and are written by ONE transaction
 * per batch (one multi-row insert, one lock per room for the whole batch) instead of one transaction
 * and one room lock each. One batch is in flight at a time: what arrives meanwhile waits for it and
 * goes into the next, so batches grow with the load by themselves and a send waits at most about one
 * window plus two commits. Arrival order on this instance is insert order, so a room's ids follow it.
 *
 * `commit` answers every send of the batch (a send's own refusal, e.g. not a member, is its outcome
 * and does not fail the others). When the whole batch fails (an error that is nobody's in
 * particular), each send is committed again on its own, so one bad send cannot fail unrelated ones
 * and every send gets its own answer.
 */
export class GroupCommit<R> {
  private queue: Waiting<R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly commit: (sends: BatchedSend[]) => Promise<BatchOutcome<R>[]>,
    private readonly opts: GroupCommitOptions,
    private readonly logger: Logger,
  ) {}

  submit(send: BatchedSend): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ send, resolve, reject });
      if (this.running) return; // the running batch's end takes the queue
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  /** Resolves once every send queued so far has been answered (shutdown). */
  async drain(): Promise<void> {
    while (this.running || this.queue.length) {
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running || !this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.running = this.run(batch).finally(() => {
      this.running = null;
      // These waited for a whole commit already: no window for them.
      if (this.queue.length) this.flush();
    });
  }

  private async run(batch: Waiting<R>[]): Promise<void> {
    let outcomes: BatchOutcome<R>[];
    try {
      outcomes = await this.commit(batch.map((w) => w.send));
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
