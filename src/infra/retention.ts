import { QueryTypes, type Sequelize } from 'sequelize';
import { Counter } from 'prom-client';
import type { Clock } from './clock';
import { execAffected } from './db';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { GeoIndex } from './geo';

const DAY_MS = 24 * 60 * 60_000;

/** How long each kind of spent row is kept after it stopped mattering. */
export interface RetentionAges {
  processedOutboxMs: number;
  authMs: number;
  emailTokensMs: number;
  idempotencyKeysMs: number;
  failedMailJobsMs: number;
  /** Last versions of ids removed from a geo index (never below the outbox's retry horizon: see `geo`). */
  geoTombstonesMs: number;
}

export const DEFAULT_RETENTION: RetentionAges = {
  processedOutboxMs: 7 * DAY_MS,
  authMs: 30 * DAY_MS,
  emailTokensMs: 7 * DAY_MS,
  idempotencyKeysMs: DAY_MS,
  failedMailJobsMs: 30 * DAY_MS,
  geoTombstonesMs: DAY_MS,
};

/** Rows per DELETE (short row locks), and statements per table per run (one run never hogs the sweep). */
const BATCH = 1000;
const MAX_BATCHES = 50;

/** Each table's rule: a statement deleting at most `?` rows spent before the cutoff. */
interface Rule {
  table: string;
  age: keyof RetentionAges;
  run(cutoff: Date, limit: number): Promise<number>;
}

/**
 * Deletes rows nothing reads any more, from the periodic sweep: processed outbox rows, refresh
 * tokens long expired, sessions long revoked (with their tokens), used or expired e-mail tokens and
 * e-mail changes, idempotency keys past their replay window, and failed mail jobs. Dead outbox rows
 * stay (an operator looks at them). In Redis: geo index tombstones (see the constructor's `geo`). Batched so no statement holds many locks; a backlog larger than
 * one run's budget is finished by the next runs.
 */
export class RetentionSweep {
  private readonly deleted: Counter<'table'>;
  private readonly rules: Rule[];

  constructor(
    private readonly sequelize: Sequelize,
    private readonly clock: Clock,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly ages: RetentionAges,
    private readonly cleanFailedMailJobs?: (graceMs: number, limit: number) => Promise<number>,
    /**
     * The geo indexes whose tombstones (the last version of a removed id) are forgotten once older
     * than `geoTombstonesMs`, but never before `minAgeMs`: the outbox's retry horizon, after which no
     * late row of an older change can still arrive for the tombstone to stop.
     */
    private readonly geo: { indexes: GeoIndex[]; minAgeMs: number } = { indexes: [], minAgeMs: 0 },
  ) {
    this.deleted = new Counter({
      name: 'pawmate_retention_deleted_total',
      help: 'Rows deleted by the retention sweep, by table',
      labelNames: ['table'],
      registers: [metrics.registry],
    });
    const del = (sql: string) => async (cutoff: Date, limit: number) => this.affected(sql, [cutoff, limit]);
    this.rules = [
      { table: 'outbox', age: 'processedOutboxMs', run: del('DELETE FROM outbox WHERE processedAt < ? LIMIT ?') },
      { table: 'refresh_tokens', age: 'authMs', run: del('DELETE FROM refresh_tokens WHERE expiresAt < ? LIMIT ?') },
      { table: 'sessions', age: 'authMs', run: (cutoff, limit) => this.endedSessions(cutoff, limit) },
      {
        table: 'email_tokens',
        age: 'emailTokensMs',
        run: del('DELETE FROM email_tokens WHERE COALESCE(usedAt, expiresAt) < ? LIMIT ?'),
      },
      {
        table: 'email_changes',
        age: 'emailTokensMs',
        run: del('DELETE FROM email_changes WHERE COALESCE(usedAt, expiresAt) < ? LIMIT ?'),
      },
      {
        table: 'idempotency_keys',
        age: 'idempotencyKeysMs',
        run: del('DELETE FROM idempotency_keys WHERE createdAt < ? LIMIT ?'),
      },
    ];
  }

  /** One run: every table until it is clean or its budget is spent. Returns the counts per table. */
  async run(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const rule of this.rules) {
      const cutoff = new Date(this.clock.now().getTime() - this.ages[rule.age]);
      let total = 0;
      for (let i = 0; i < MAX_BATCHES; i++) {
        const n = await rule.run(cutoff, BATCH);
        total += n;
        if (n < BATCH) break;
      }
      counts[rule.table] = total;
    }
    if (this.cleanFailedMailJobs) {
      try {
        counts.mail_jobs_failed = await this.cleanFailedMailJobs(this.ages.failedMailJobsMs, BATCH * MAX_BATCHES);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'retention: could not clean failed mail jobs');
      }
    }
    for (const index of this.geo.indexes) {
      const age = Math.max(this.ages.geoTombstonesMs, this.geo.minAgeMs);
      try {
        counts[`geo_tombstones_${index.kind}`] = await index.pruneTombstones(this.clock.now().getTime(), age);
      } catch (err) {
        this.logger.warn(
          { err: (err as Error).message, index: index.kind },
          'retention: could not prune geo tombstones',
        );
      }
    }
    for (const [table, n] of Object.entries(counts)) if (n) this.deleted.inc({ table }, n);
    if (Object.values(counts).some((n) => n > 0)) this.logger.info({ deleted: counts }, 'retention sweep');
    return counts;
  }

  /** Sessions revoked before the cutoff; their refresh tokens go first (one batch of ids at a time). */
  private async endedSessions(cutoff: Date, limit: number): Promise<number> {
    const rows = await this.sequelize.query<{ id: number }>(
      'SELECT id FROM sessions WHERE revokedAt < ? ORDER BY id LIMIT ?',
      { replacements: [cutoff, limit], type: QueryTypes.SELECT },
    );
    if (!rows.length) return 0;
    const ids = rows.map((r) => r.id);
    return this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query('DELETE FROM refresh_tokens WHERE sessionId IN (?)', {
        replacements: [ids],
        transaction,
      });
      return execAffected(this.sequelize, 'DELETE FROM sessions WHERE id IN (?)', [ids], transaction);
    });
  }

  private affected(sql: string, replacements: unknown[]): Promise<number> {
    return execAffected(this.sequelize, sql, replacements);
  }
}
