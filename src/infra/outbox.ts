import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Clock } from './clock';
import { CLAIM_TX } from './db';
import type { Logger } from './logger';

export type OutboxHandler = (payload: any, meta: { outboxId: number }) => Promise<void>;

interface OutboxRow {
  id: number;
  topic: string;
  payload: string;
  attempts: number;
}

/** Writes a side effect in the caller's transaction: it happens if and only if the change commits. */
export async function addToOutbox(
  sequelize: Sequelize,
  t: Transaction,
  clock: Clock,
  topic: string,
  payload: unknown,
): Promise<void> {
  await addManyToOutbox(sequelize, t, clock, topic, [payload]);
}

/** Several rows of one topic in one statement (a fan-out to many recipients). */
export async function addManyToOutbox(sequelize: Sequelize, t: Transaction, clock: Clock, topic: string, payloads: unknown[]): Promise<void> {
  if (!payloads.length) return;
  const now = clock.now();
  await sequelize.query(
    `INSERT INTO outbox (topic, payload, attempts, availableAt, createdAt) VALUES ${payloads.map(() => '(?, ?, 0, ?, ?)').join(', ')}`,
    { replacements: payloads.flatMap((p) => [topic, JSON.stringify(p), now, now]), transaction: t, type: QueryTypes.INSERT },
  );
}

const BATCH = 50;
const MAX_BACKOFF_MS = 60_000;

/**
 * Carries out outbox rows. Runs on every instance: each claims a batch with FOR UPDATE SKIP LOCKED,
 * so instances never run the same row twice at once. A failing handler (Redis or SMTP down) leaves
 * the row pending with exponential backoff; nothing is lost.
 */
export class OutboxDispatcher {
  private readonly handlers = new Map<string, OutboxHandler>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = true;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  on(topic: string, handler: OutboxHandler): void {
    this.handlers.set(topic, handler);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Ask for a pass now (called right after a commit that wrote rows: the fast path). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    void this.tick();
  }

  /** One full pass; resolves when no due row is left (used by tests and the CLI). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.processBatch();
      total += n;
      if (n < BATCH) return total;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.pollMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.running = (async () => {
      do {
        this.rerun = false;
        try {
          await this.drain();
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'outbox pass failed; will retry');
        }
      } while (this.rerun && !this.stopped);
    })();
    await this.running;
    this.running = null;
    this.schedule();
  }

  private async processBatch(): Promise<number> {
    return this.sequelize.transaction(CLAIM_TX, async (t) => {
      const now = this.clock.now();
      const rows = await this.sequelize.query<OutboxRow>(
        `SELECT id, topic, payload, attempts FROM outbox
          WHERE processedAt IS NULL AND availableAt <= ?
          ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        { replacements: [now], transaction: t, type: QueryTypes.SELECT },
      );
      for (const row of rows) {
        const handler = this.handlers.get(row.topic);
        try {
          if (!handler) throw new Error(`no handler for topic ${row.topic}`);
          await handler(JSON.parse(row.payload), { outboxId: row.id });
          await this.sequelize.query('UPDATE outbox SET processedAt = ?, attempts = attempts + 1 WHERE id = ?', {
            replacements: [this.clock.now(), row.id],
            transaction: t,
          });
        } catch (err) {
          const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(row.attempts, 10));
          await this.sequelize.query(
            'UPDATE outbox SET attempts = attempts + 1, availableAt = ?, lastError = ? WHERE id = ?',
            {
              replacements: [new Date(this.clock.now().getTime() + delay), String((err as Error).message).slice(0, 500), row.id],
              transaction: t,
            },
          );
          this.logger.warn({ outboxId: row.id, topic: row.topic, err: (err as Error).message }, 'outbox handler failed');
        }
      }
      return rows.length;
    });
  }
}
