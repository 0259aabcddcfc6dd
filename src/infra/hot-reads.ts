import mysql from 'mysql2';
import { parseDatabaseUrl } from './db';

/**
 * What every plain mysql2 pool of ours shares with Sequelize's: the same server and account, utf8mb4,
 * UTC dates, and BIGINTs as numbers while they fit.
 */
export function plainPoolOptions(databaseUrl: string, connections: number): mysql.PoolOptions {
  const p = parseDatabaseUrl(databaseUrl);
  return {
    host: p.host,
    port: p.port,
    user: p.user,
    password: p.password,
    database: p.database,
    connectionLimit: connections,
    connectTimeout: 3000,
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
  };
}

/**
 * A plain mysql2 pool for the few single-statement reads on the path of nearly every request (the
 * caller's own row). Through Sequelize such a read paid for its query layer: replacement formatting,
 * its pool, a moment-timezone parse of every DATETIME field and result post-processing, together more
 * CPU than the driver itself (docs/BENCHMARKS.md, "Request path"). Everything else, transactions
 * included, goes through Sequelize (but chat's group commit: src/infra/sql-script.ts); this pool only answers autocommit SELECTs, where the isolation
 * level makes no difference (each statement reads the latest committed rows).
 *
 * Dates come back as `Date`s in UTC, TINYINTs as numbers: repositories map rows as they do for
 * Sequelize's raw queries.
 */
export class HotReads {
  static readonly PREPARED_PER_CONNECTION = 32;
  private readonly pool: mysql.Pool;

  constructor(databaseUrl: string, connections: number) {
    this.pool = mysql.createPool({
      ...plainPoolOptions(databaseUrl, connections),
      // `prepared` statements stay open on the server per connection; the server caps them all
      // (max_prepared_stmt_count, shared by every client), so each connection keeps its most recent few.
      maxPreparedStatements: HotReads.PREPARED_PER_CONNECTION,
    });
  }

  /** The rows of one SELECT with `?` placeholders (values escaped by the driver). */
  rows<T>(sql: string, values: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.pool.query(sql, values, (err, rows) => (err ? reject(err) : resolve(rows as T[])));
    });
  }

  /**
   * The rows of one SELECT as a server-side prepared statement (cached per connection by the driver):
   * MariaDB parses the text once per connection instead of once per call, which is most of what a
   * statement with several subqueries costs it when it answers a short page. Values go in the binary
   * protocol (no array expansion: `IN (?)` with a list is for `rows`).
   */
  prepared<T>(sql: string, values: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.pool.execute(sql, values as mysql.ExecuteValues, (err, rows) => (err ? reject(err) : resolve(rows as T[])));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.pool.end((err) => (err ? reject(err) : resolve())));
  }
}
