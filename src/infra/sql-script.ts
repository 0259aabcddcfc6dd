import mysql from 'mysql2';
import { retryingDeadlocks } from './db';
import { plainPoolOptions } from './hot-reads';

/** One SQL statement with its `?` values (escaped by the driver, as in HotReads.rows). */
export interface Statement {
  sql: string;
  values?: unknown[];
}

/** What one statement answered: its rows (a SELECT) or its result header (a write). */
export type StatementResult = mysql.RowDataPacket[] | mysql.ResultSetHeader;

/**
 * A read one module offers another's scripted transaction: the statement, and how its rows become
 * the module's own type (so the other module never sees the table).
 */
export interface ScriptedRead<T> {
  statement: Statement;
  parse(rows: mysql.RowDataPacket[]): T;
}

/**
 * Transactions written as a few round trips: each `send` carries several statements in one packet
 * (a multi-statement query), so a transaction of eight statements costs two or three network waits
 * instead of eight, and none of Sequelize's per-query CPU. For the hot writes that need it (chat's
 * group commit, src/modules/chat/chat.send.ts, and a standalone batch of notifications,
 * NotificationsService.notifyMany); everything else stays on Sequelize.
 *
 * Its own small pool, because `multipleStatements` widens what an injected string could do: nothing
 * but code-built statements with `?` values goes through it. Its connections keep the server's session
 * time zone (unlike Sequelize's, set to UTC): dates go in as values, which the driver writes in UTC
 * (`timezone: 'Z'`); a statement here must not take the time from the server (`NOW()`).
 */
export class ScriptedTransactions {
  private readonly pool: mysql.Pool;

  constructor(databaseUrl: string, connections: number) {
    this.pool = mysql.createPool({
      ...plainPoolOptions(databaseUrl, connections),
      multipleStatements: true,
    });
  }

  /**
   * Runs `work` in one READ COMMITTED transaction on one connection; its last `send` should commit.
   * Rolled back when `work` throws (or returns without committing); tried again on a deadlock or a
   * lock-wait timeout, as `inTransaction` does for Sequelize.
   */
  run<T>(work: (tx: ScriptedTransaction) => Promise<T>, attempts = 4): Promise<T> {
    return retryingDeadlocks(() => this.once(work), attempts);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.pool.end((err) => (err ? reject(err) : resolve())));
  }

  private async once<T>(work: (tx: ScriptedTransaction) => Promise<T>): Promise<T> {
    const connection = await new Promise<mysql.PoolConnection>((resolve, reject) =>
      this.pool.getConnection((err, c) => (err ? reject(err) : resolve(c))),
    );
    const tx = new ScriptedTransaction(connection);
    let healthy = true;
    try {
      const result = await work(tx);
      if (tx.open) throw new Error('scripted transaction ended without a commit');
      return result;
    } catch (err) {
      // A connection whose rollback failed may still hold the transaction: never reused.
      if (tx.open)
        healthy = await tx.rollback().then(
          () => true,
          () => false,
        );
      throw err;
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
  }
}

const BEGIN: Statement[] = [{ sql: 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED' }, { sql: 'START TRANSACTION' }];
const COMMIT: Statement = { sql: 'COMMIT' };

/** A transaction on one connection, statements sent in packets (see ScriptedTransactions). */
export class ScriptedTransaction {
  private begun = false;
  private ended = false;

  constructor(private readonly connection: mysql.PoolConnection) {}

  get open(): boolean {
    return this.begun && !this.ended;
  }

  /**
   * Sends `statements` in one round trip and answers each one's result, in order. The first send also
   * begins the transaction; with `commit` the packet ends with COMMIT. The server stops at the first
   * failing statement, and the error rejects the whole send (the transaction is then rolled back).
   */
  async send(statements: Statement[], { commit = false } = {}): Promise<StatementResult[]> {
    if (this.ended) throw new Error('scripted transaction already ended');
    const lead = this.begun ? [] : BEGIN;
    const all = [...lead, ...statements, ...(commit ? [COMMIT] : [])];
    this.begun = true;
    const results = await this.query(all);
    if (commit) this.ended = true;
    return results.slice(lead.length, lead.length + statements.length);
  }

  async rollback(): Promise<void> {
    this.ended = true;
    await this.query([{ sql: 'ROLLBACK' }]);
  }

  private query(statements: Statement[]): Promise<StatementResult[]> {
    const sql = statements.map((s) => s.sql).join(';\n');
    const values = statements.flatMap((s) => s.values ?? []);
    return new Promise((resolve, reject) => {
      this.connection.query(sql, values, (err, results) => {
        if (err) return reject(err);
        // One statement answers its result alone; several answer an array of results.
        resolve(statements.length === 1 ? [results as StatementResult] : (results as StatementResult[]));
      });
    });
  }
}
