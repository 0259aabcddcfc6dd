import { QueryTypes, type Sequelize } from 'sequelize';
import { createSequelize, parseDatabaseUrl } from './db';
import type { Logger } from './logger';
import type { Redis } from './redis';

/**
 * Read replicas (DATABASE_REPLICA_URLS) for reads that tolerate a bounded lag: public profiles,
 * search candidates' details, lists. Everything else — every write, everything inside a transaction,
 * every locking read — keeps using the primary: those code paths are handed the primary's Sequelize
 * and never see this class.
 *
 * Which replica is usable is decided by a probe every `probeEveryMs`: `SHOW REPLICA STATUS` must
 * show both replication threads running and `Seconds_Behind_Master` at most `maxLagSec`. A replica
 * that is down, stopped or lagging is skipped with a warning (once per change of state); a query that
 * still fails on a replica is run again on the primary. A reader never gets an error from a replica.
 *
 * Read-your-own-writes: a signed-in client's write marks its user in Redis (`<prefix>rw:<userId>`)
 * for `readYourWritesMs`; while marked, that user's replica-eligible reads go to the primary. The
 * window is the lag bound plus two probe periods plus a second, so that by the time it ends every
 * replica still in use has applied the write (a replica is used only while its last probe showed it
 * within the bound, and the probe is at most one period old). Other users may see a change up to the
 * bound late.
 */
export interface ReplicaOptions {
  maxLagSec: number;
  probeEveryMs: number;
  poolMax: number;
}

export interface ReplicaState {
  name: string;
  usable: boolean;
  lagSec: number | null;
  reason: string | null;
}

interface Replica extends ReplicaState {
  sequelize: Sequelize;
}

/** A reader bound to the primary or to one replica, built once per connection (repositories, models). */
export class ReadRouter<R> {
  private readonly onReplica: R[];

  constructor(
    private readonly replicas: ReadReplicas,
    private readonly primary: R,
    make: (sequelize: Sequelize) => R,
  ) {
    this.onReplica = replicas.connections().map(make);
  }

  /**
   * Runs a lag-tolerant read for `readerId` (null: anonymous) on a usable replica, or on the primary
   * (no replica usable, or the reader wrote within the read-your-writes window). A failure on a
   * replica is retried on the primary.
   */
  async read<T>(readerId: number | null, work: (reader: R) => Promise<T>): Promise<T> {
    const index = await this.replicas.choose(readerId);
    if (index < 0) return work(this.primary);
    try {
      return await work(this.onReplica[index]);
    } catch (err) {
      this.replicas.failed(index, err);
      return work(this.primary);
    }
  }
}

export class ReadReplicas {
  private readonly list: Replica[];
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<void> = Promise.resolve();
  readonly readYourWritesMs: number;

  constructor(
    urls: string[],
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly options: ReplicaOptions,
  ) {
    this.list = urls.map((url) => {
      const p = parseDatabaseUrl(url);
      return {
        name: `${p.host}:${p.port}`,
        sequelize: createSequelize(url, options.poolMax),
        // Unusable until a probe has seen it healthy.
        usable: false,
        lagSec: null,
        reason: 'not probed yet',
      };
    });
    this.readYourWritesMs = (options.maxLagSec + 1) * 1000 + 2 * options.probeEveryMs;
  }

  get configured(): boolean {
    return this.list.length > 0;
  }

  connections(): Sequelize[] {
    return this.list.map((r) => r.sequelize);
  }

  /** For a read that may use a replica: builds what it needs per connection. */
  router<R>(primary: R, make: (sequelize: Sequelize) => R): ReadRouter<R> {
    return new ReadRouter(this, primary, make);
  }

  status(): ReplicaState[] {
    return this.list.map(({ name, usable, lagSec, reason }) => ({ name, usable, lagSec, reason }));
  }

  private markKey(userId: number) {
    return `${this.prefix}rw:${userId}`;
  }

  /** Called on every write of a signed-in client (before it is carried out). No-op without replicas. */
  async noteWrite(userId: number): Promise<void> {
    if (!this.configured) return;
    await this.redis.set(this.markKey(userId), '1', 'PX', this.readYourWritesMs);
  }

  /** The index of the replica to read from, or -1 for the primary. */
  async choose(readerId: number | null): Promise<number> {
    const usable = this.list.map((r, i) => (r.usable ? i : -1)).filter((i) => i >= 0);
    if (!usable.length) return -1;
    if (readerId !== null) {
      // Not knowing whether the reader just wrote means the primary.
      const marked = await this.redis.exists(this.markKey(readerId)).catch(() => 1);
      if (marked) return -1;
    }
    return usable[this.next++ % usable.length];
  }

  /** A query failed on replica `index`: skip it until a probe finds it healthy again. */
  failed(index: number, err: unknown): void {
    this.set(this.list[index], false, null, `query failed: ${(err as Error).message}`);
  }

  start(): void {
    if (!this.configured || this.timer) return;
    this.probing = this.probeAll();
    this.timer = setInterval(() => {
      this.probing = this.probeAll();
    }, this.options.probeEveryMs);
    this.timer.unref();
  }

  /** One probe of every replica now (also what the timer runs). */
  async probeAll(): Promise<void> {
    await Promise.all(this.list.map((r) => this.probe(r)));
  }

  private async probe(r: Replica): Promise<void> {
    let row: Record<string, unknown> | undefined;
    try {
      [row] = await r.sequelize.query<Record<string, unknown>>('SHOW REPLICA STATUS', { type: QueryTypes.SELECT });
    } catch (err) {
      return this.set(r, false, null, `unreachable: ${(err as Error).message}`);
    }
    if (!row) return this.set(r, false, null, 'not a replica (SHOW REPLICA STATUS is empty)');
    const running = row.Slave_IO_Running === 'Yes' && row.Slave_SQL_Running === 'Yes';
    const lag = row.Seconds_Behind_Master === null ? null : Number(row.Seconds_Behind_Master);
    if (!running || lag === null) return this.set(r, false, lag, 'replication is not running');
    if (lag > this.options.maxLagSec)
      return this.set(r, false, lag, `lagging ${lag} s (bound ${this.options.maxLagSec} s)`);
    this.set(r, true, lag, null);
  }

  private set(r: Replica, usable: boolean, lagSec: number | null, reason: string | null): void {
    // Warn when a replica starts being skipped or is skipped for another kind of reason (not at
    // every probe of a replica that stays behind).
    const kind = (why: string | null) => why?.split(' ')[0] ?? null;
    const news = r.usable !== usable || kind(r.reason) !== kind(reason);
    Object.assign(r, { usable, lagSec, reason });
    if (!news) return;
    if (usable) this.logger.info({ replica: r.name, lagSec }, 'read replica in use');
    else this.logger.warn({ replica: r.name, lagSec, reason }, 'read replica skipped; its reads go to the primary');
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.probing.catch(() => undefined);
    await Promise.all(this.list.map((r) => r.sequelize.close()));
  }
}
