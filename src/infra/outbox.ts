import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Clock } from './clock';
import type { Logger } from './logger';
import type { ScriptedTransactions, Statement } from './sql-script';

/**
 * Every outbox topic and the payload its rows carry. Empty here: the code that owns a topic declares
 * it next to its constant, so `add` and `on` are checked against it at compile time:
 *
 *   export const TOPIC_GEO_SITTER = 'geo.sitter';
 *   declare module '../../infra/outbox' {
 *     interface OutboxTopics { [TOPIC_GEO_SITTER]: GeoSitterChange }
 *   }
 *
 * (Infra stays free of module imports: the modules extend this interface, not the other way round.)
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface OutboxTopics {}

export type Topic = keyof OutboxTopics & string;

export type OutboxHandler<P = never> = (payload: P, meta: { outboxId: number }) => Promise<void>;

/**
 * A handler whose only effect is one Redis command issued synchronously when it is called (a bus
 * publish): rows of its topic run without waiting for each other, and since ioredis writes commands
 * in call order they still reach Redis in id order. A fan-out of thousands is then one pipeline, not
 * thousands of round trips.
 */
export interface PipelinedOutboxHandler<P = never> {
  pipelined: true;
  grouped?: never;
  handler: OutboxHandler<P>;
}

/**
 * A handler given every row of its topic in a claimed batch at once, after the batch's other rows:
 * for frequent rows whose work shares reads (one query for all their ids instead of one per row). When
 * the call fails it is made again for each row alone, so only the rows that fail on their own are
 * retried with backoff (a poisoned row cannot fail its neighbours); like every handler it must be
 * idempotent per row, since part of a failed call may have been done.
 */
export interface GroupedOutboxHandler<P = never> {
  grouped: true;
  pipelined?: never;
  handler: (payloads: P[]) => Promise<void>;
}

type AnyHandler = OutboxHandler<unknown> | PipelinedOutboxHandler<unknown> | GroupedOutboxHandler<unknown>;
type TopicHandler<P> = OutboxHandler<P> | PipelinedOutboxHandler<P> | GroupedOutboxHandler<P>;

/** The handlers one module carries out, by topic. */
export type OutboxHandlers = {
  [K in Topic]?: TopicHandler<OutboxTopics[K]>;
};

/** How a registered topic's rows are run (see the handler kinds above). */
type Registered =
  | { kind: 'plain' | 'pipelined'; handler: OutboxHandler<unknown> }
  | { kind: 'grouped'; handler: (payloads: unknown[]) => Promise<void> };

interface OutboxRow {
  id: number;
  topic: string;
  payload: string;
  attempts: number;
}

/**
 * Writes side effects in the caller's transaction: each happens if and only if the change commits.
 * Built once per app with its sequelize, clock and dispatcher, so callers pass only the transaction.
 * A transaction that wrote rows nudges the dispatcher after it commits (the fast path; the poll
 * would find the rows anyway), so no caller has to remember to.
 */
export class Outbox {
  private readonly nudging = new WeakSet<Transaction>();

  constructor(
    private readonly sequelize: Sequelize,
    private readonly clock: Clock,
    private readonly dispatcher: Pick<OutboxDispatcher, 'nudge'>,
  ) {}

  async add<K extends Topic>(t: Transaction, topic: K, payload: OutboxTopics[K]): Promise<void> {
    await this.addMany(t, topic, [payload]);
  }

  /**
   * Several rows of one topic in one statement (a fan-out to many recipients). `delayMs` makes them due
   * only that long after now: a fallback for something the caller means to do itself right after the
   * commit (chat's broadcast), run by any instance if the caller died or failed before doing it.
   */
  async addMany<K extends Topic>(
    t: Transaction,
    topic: K,
    payloads: Array<OutboxTopics[K]>,
    { delayMs = 0 } = {},
  ): Promise<void> {
    if (!payloads.length) return;
    const { sql, values } = this.rowsInsert(topic, payloads, delayMs);
    await this.sequelize.query(sql, { replacements: values, transaction: t, type: QueryTypes.INSERT });
    // A delayed row is not due yet: nothing for the dispatcher to do after this commit.
    if (delayMs <= 0) this.nudgeAfterCommit(t);
  }

  /**
   * addMany's rows, due at once, as a statement of a scripted transaction (src/infra/sql-script.ts).
   * Such a transaction has no commit hook: the caller calls `committed()` once its COMMIT is through,
   * so the dispatcher runs them at once (without it they still go, on the next poll).
   */
  rowsStatement<K extends Topic>(topic: K, payloads: Array<OutboxTopics[K]>): Statement {
    if (!payloads.length) throw new Error('rowsStatement: no payloads');
    return this.rowsInsert(topic, payloads, 0);
  }

  /** After the commit of a scripted transaction that wrote due rows (rowsStatement). */
  committed(): void {
    this.dispatcher.nudge();
  }

  private rowsInsert(topic: Topic, payloads: unknown[], delayMs: number): Statement {
    const now = this.clock.now();
    const due = delayMs > 0 ? new Date(now.getTime() + delayMs) : now;
    return {
      sql: `INSERT INTO outbox (topic, payload, attempts, availableAt, createdAt) VALUES ${payloads.map(() => '(?, ?, 0, ?, ?)').join(', ')}`,
      values: payloads.flatMap((p) => [topic, JSON.stringify(p), due, now]),
    };
  }

  /**
   * One delayed row as a statement of a scripted transaction (src/infra/sql-script.ts), its payload an
   * SQL expression yielding the JSON text (for a payload holding ids the same packet's INSERT
   * generates). Delayed only: nothing nudges the dispatcher after such a commit, the row is found by
   * the poll once due. The caller answers for the payload matching `OutboxTopics[topic]`.
   */
  delayedRowStatement(topic: Topic, payload: Statement, delayMs: number): Statement {
    if (delayMs <= 0) throw new Error('delayedRowStatement: only delayed rows are found without a nudge');
    const now = this.clock.now();
    return {
      sql: `INSERT INTO outbox (topic, payload, attempts, availableAt, createdAt) VALUES (?, ${payload.sql}, 0, ?, ?)`,
      values: [topic, ...(payload.values ?? []), new Date(now.getTime() + delayMs), now],
    };
  }

  /** One hook per transaction, on the outermost one: a savepoint's "commit" publishes nothing yet. */
  private nudgeAfterCommit(t: Transaction): void {
    let root = t;
    while ((root as TransactionWithParent).parent) root = (root as TransactionWithParent).parent!;
    if (this.nudging.has(root)) return;
    this.nudging.add(root);
    root.afterCommit(() => this.dispatcher.nudge());
  }
}

/** Sequelize sets `parent` on a savepoint transaction but does not declare it. */
type TransactionWithParent = Transaction & { parent?: Transaction };

/** Rows per claim: large enough that a fan-out to thousands is a few round trips of bookkeeping. */
const BATCH = 200;
const MAX_BACKOFF_MS = 60_000;
/** Attempts before a row is set aside as dead: with the backoff capped at a minute, about 15 minutes of failures. */
export const DEFAULT_OUTBOX_MAX_ATTEMPTS = 20;

/** The wait before a row's next attempt after `attempts` failures. */
const backoffMs = (attempts: number) => Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempts, 10));

/**
 * How long after its first attempt a row can still be carried out: the sum of its backoffs until it
 * is dead. Anything a late row could undo is safe to forget after this (geo tombstones).
 */
export function outboxRetryHorizonMs(maxAttempts = DEFAULT_OUTBOX_MAX_ATTEMPTS): number {
  let total = 0;
  for (let a = 0; a < maxAttempts - 1; a++) total += backoffMs(a);
  return total;
}

/**
 * Carries out outbox rows. Runs on every instance: each claims a batch with FOR UPDATE SKIP LOCKED,
 * so instances never run the same row twice at once. A failing handler (Redis or SMTP down) leaves
 * the row pending with exponential backoff; nothing is lost. A row that fails `maxAttempts` times is
 * marked dead (`deadAt`) and never claimed again, so one poisoned payload cannot be retried forever;
 * it stays in the table for an operator (see `pawmate_outbox_dead`).
 */
export class OutboxDispatcher {
  private readonly handlers = new Map<string, Registered>();
  /** Topics whose rows are deleted once carried out instead of kept as processed (payloads that must not linger). */
  private readonly forgotten = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = true;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly scripts: ScriptedTransactions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pollMs: number,
    private readonly maxAttempts = DEFAULT_OUTBOX_MAX_ATTEMPTS,
  ) {}

  on<K extends Topic>(topic: K, handler: TopicHandler<OutboxTopics[K]>, { forgetWhenDone = false } = {}): void {
    this.register(topic, handler as AnyHandler);
    if (forgetWhenDone) this.forgotten.add(topic);
  }

  /** Registers every handler a module declared (each was checked against its topic there). */
  onAll(handlers: OutboxHandlers): void {
    for (const [topic, handler] of Object.entries(handlers)) if (handler) this.register(topic, handler as AnyHandler);
  }

  /** Stored untyped: a row's payload is whatever JSON was written for its topic (checked at `add`). */
  private register(topic: string, handler: AnyHandler): void {
    if (typeof handler === 'function') this.handlers.set(topic, { kind: 'plain', handler });
    else if (handler.grouped) this.handlers.set(topic, { kind: 'grouped', handler: handler.handler });
    else this.handlers.set(topic, { kind: 'pipelined', handler: handler.handler });
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

  /**
   * One pass over at most BATCH due rows, as a scripted transaction of two round trips: the claim, the
   * handlers (the row locks held meanwhile), then every row's outcome and the COMMIT in one packet. On
   * Sequelize a pass was five round trips and its query layer's CPU; on a fan-out of notifications one
   * by one it runs once per commit (the same-run A/B: docs/BENCHMARKS.md, "Night machine").
   */
  private processBatch(): Promise<number> {
    return this.scripts.run(async (tx) => {
      const [claimed] = await tx.send([
        {
          sql: `SELECT id, topic, payload, attempts FROM outbox
                 WHERE processedAt IS NULL AND deadAt IS NULL AND availableAt <= ?
                 ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
          values: [this.clock.now()],
        },
      ]);
      const rows = claimed as unknown as OutboxRow[];
      const { done, failures } = await this.runHandlers(rows);
      await tx.send([...failures, ...this.outcomeStatements(rows, done)], { commit: true });
      return rows.length;
    });
  }

  /** Runs the claimed rows' handlers; answers the ids carried out and the statements that record failures. */
  private async runHandlers(rows: OutboxRow[]): Promise<{ done: number[]; failures: Statement[] }> {
    const done: number[] = [];
    const failures: Statement[] = [];
    const settle = async (row: OutboxRow, run: () => Promise<void>) => {
      try {
        await run();
        done.push(row.id);
      } catch (err) {
        failures.push(this.failed(row, err as Error));
      }
    };
    let inFlight: Promise<void>[] = [];
    const groups = new Map<(payloads: unknown[]) => Promise<void>, OutboxRow[]>();
    for (const row of rows) {
      const entry = this.handlers.get(row.topic);
      if (entry?.kind === 'grouped') {
        groups.set(entry.handler, [...(groups.get(entry.handler) ?? []), row]);
        continue;
      }
      const run = () => {
        if (!entry) throw new Error(`no handler for topic ${row.topic}`);
        return entry.handler(JSON.parse(row.payload), { outboxId: row.id });
      };
      if (entry?.kind === 'pipelined') {
        inFlight.push(settle(row, run));
        continue;
      }
      await Promise.all(inFlight); // an ordinary handler waits for the pipelined ones before it
      inFlight = [];
      await settle(row, run);
    }
    await Promise.all(inFlight);
    for (const [handler, group] of groups) {
      try {
        await handler(group.map((row) => JSON.parse(row.payload)));
        done.push(...group.map((row) => row.id));
      } catch (err) {
        if (group.length === 1) failures.push(this.failed(group[0], err as Error));
        // Row by row, so one row that always fails cannot hold back (and at last kill) the others.
        else for (const row of group) await settle(row, () => handler([JSON.parse(row.payload)]));
      }
    }
    return { done, failures };
  }

  /**
   * One statement for the batch's successes (a fan-out is thousands of rows), one for the forgotten
   * topics' rows; the claim's row locks keep every other dispatcher off them until this commits.
   */
  private outcomeStatements(rows: OutboxRow[], done: number[]): Statement[] {
    const topicOf = new Map(rows.map((r) => [r.id, r.topic]));
    const forget = done.filter((id) => this.forgotten.has(topicOf.get(id)!));
    const keep = forget.length ? done.filter((id) => !this.forgotten.has(topicOf.get(id)!)) : done;
    const statements: Statement[] = [];
    if (keep.length)
      statements.push({
        sql: 'UPDATE outbox SET processedAt = ?, attempts = attempts + 1 WHERE id IN (?)',
        values: [this.clock.now(), keep],
      });
    if (forget.length) statements.push({ sql: 'DELETE FROM outbox WHERE id IN (?)', values: [forget] });
    return statements;
  }

  /**
   * The statement leaving a failed row pending, due again after an exponential backoff; past the cap,
   * marking it dead.
   */
  private failed(row: OutboxRow, err: Error): Statement {
    const now = this.clock.now();
    const message = String(err.message).slice(0, 500);
    if (row.attempts + 1 >= this.maxAttempts) {
      // Topic and id only: the payload may hold personal data.
      this.logger.warn(
        { outboxId: row.id, topic: row.topic, attempts: row.attempts + 1, err: err.message },
        'outbox row dead after its last attempt; no longer retried',
      );
      return {
        sql: 'UPDATE outbox SET attempts = attempts + 1, deadAt = ?, lastError = ? WHERE id = ?',
        values: [now, message, row.id],
      };
    }
    this.logger.warn({ outboxId: row.id, topic: row.topic, err: err.message }, 'outbox handler failed');
    return {
      sql: 'UPDATE outbox SET attempts = attempts + 1, availableAt = ?, lastError = ? WHERE id = ?',
      values: [new Date(now.getTime() + backoffMs(row.attempts)), message, row.id],
    };
  }

  /** Rows set aside after exhausting their attempts (read at scrape time by the metrics gauge). */
  async deadCount(): Promise<number> {
    const [row] = await this.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM outbox WHERE deadAt IS NOT NULL',
      {
        type: QueryTypes.SELECT,
      },
    );
    return Number(row?.n ?? 0);
  }
}
