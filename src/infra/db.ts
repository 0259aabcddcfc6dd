import { QueryTypes, Sequelize, Transaction, UniqueConstraintError, type TransactionOptions } from 'sequelize';
import type { Logger } from './logger';

export interface DbUrlParts {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function parseDatabaseUrl(url: string): DbUrlParts {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error('DATABASE_URL must name a database');
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
    database,
  };
}

export function createSequelize(databaseUrl: string, poolMax: number, logger?: Logger): Sequelize {
  const p = parseDatabaseUrl(databaseUrl);
  return keepMilliseconds(
    new Sequelize(p.database, p.user, p.password, {
      host: p.host,
      port: p.port,
      dialect: 'mysql',
      timezone: '+00:00',
      // Only at trace: a logging function makes Sequelize format every statement even when the line is dropped.
      logging: logger?.isLevelEnabled('trace') ? (sql: string) => logger.trace({ sql }, 'sql') : false,
      benchmark: false,
      define: { charset: 'utf8mb4', collate: 'utf8mb4_unicode_ci', timestamps: true },
      dialectOptions: { connectTimeout: 3000, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: false },
      pool: { max: poolMax, min: 0, acquire: 5000, idle: 10_000, evict: 5000 },
      retry: { max: 0 },
      hooks: {
        // READ COMMITTED on every connection: invariants are guarded by row locks and UNIQUE keys, and
        // REPEATABLE READ's gap locks only add deadlocks (two "lock if exists, else insert" transactions
        // on the same gap deadlock each other under RR).
        afterConnect: (connection: unknown) =>
          new Promise<void>((resolve, reject) =>
            (connection as { query: (sql: string, cb: (err: Error | null) => void) => void }).query(
              'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
              (err) => (err ? reject(err) : resolve()),
            ),
          ),
      },
    }),
  );
}

/**
 * Sequelize formats a `Date` replacement of a raw query without its milliseconds (it goes through the
 * DATETIME type's prototype, which has no length), so `…:05.731` would be stored as `…:05.000` and
 * compared at second precision. Every column is DATETIME(3), so this instance's raw queries get their
 * dates as UTC strings with milliseconds (the connection's time zone is +00:00). Model queries use
 * bind parameters with the column's own type and were never affected.
 */
function keepMilliseconds(sequelize: Sequelize): Sequelize {
  const query = sequelize.query.bind(sequelize) as (
    sql: unknown,
    options?: { replacements?: unknown },
  ) => Promise<unknown>;
  const patched = (sql: unknown, options?: { replacements?: unknown }) =>
    query(
      sql,
      options?.replacements === undefined
        ? options
        : { ...options, replacements: withMilliseconds(options.replacements) },
    );
  sequelize.query = patched as typeof sequelize.query;
  return sequelize;
}

function withMilliseconds(value: unknown): unknown {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? value : value.toISOString().slice(0, 23).replace('T', ' ');
  if (Array.isArray(value)) return value.map(withMilliseconds);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withMilliseconds(v)]));
  }
  return value;
}

const DEADLOCK_CODES = new Set([1213, 1205]);

export function isDeadlock(err: unknown): boolean {
  const e = err as { parent?: { errno?: number }; original?: { errno?: number }; errno?: number };
  const errno = e?.parent?.errno ?? e?.original?.errno ?? e?.errno;
  return typeof errno === 'number' && DEADLOCK_CODES.has(errno);
}

const ER_DUP_ENTRY = 1062;

/** A duplicate key: Sequelize's UniqueConstraintError, or the driver's own error from the plain mysql2 pools. */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof UniqueConstraintError || (err as { errno?: unknown })?.errno === ER_DUP_ENTRY;
}

/**
 * Runs `work` in a transaction, retrying a few times on deadlock or lock-wait timeout, as MariaDB
 * advises. After the last try the deadlock propagates and the error middleware answers 409.
 */
export async function inTransaction<T>(
  sequelize: Sequelize,
  work: (t: Transaction) => Promise<T>,
  attempts = 4,
  options: TransactionOptions = {},
): Promise<T> {
  return retryingDeadlocks(() => sequelize.transaction(options, work), attempts);
}

/**
 * Runs a whole transaction (`once`) again after a deadlock or lock-wait timeout, up to `attempts`
 * times with a short growing jitter; for Sequelize's transactions and the scripted ones alike.
 */
export async function retryingDeadlocks<T>(once: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * For claim queries (`FOR UPDATE SKIP LOCKED`): under READ COMMITTED InnoDB locks only the rows that
 * match, not the next-key/gap records around a range, so one claimer never hides an unrelated due row
 * from another.
 */
export const CLAIM_TX: TransactionOptions = { isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED };

/** Rows of a raw SELECT with `?` replacements, inside `t` when given. */
export function selectRows<T extends object>(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  t?: Transaction,
): Promise<T[]> {
  return sequelize.query<T>(sql, { replacements, transaction: t, type: QueryTypes.SELECT });
}

/** Runs a raw write and answers how many rows it changed (mysql2's affectedRows). */
export async function execAffected(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  t?: Transaction,
): Promise<number> {
  const [result, meta] = (await sequelize.query(sql, { replacements, transaction: t })) as [
    { affectedRows?: number } | number,
    unknown,
  ];
  // Sequelize answers a statement that starts with `INSERT INTO` with [insertId, affectedRows], and
  // every other write (`INSERT IGNORE`, UPDATE, DELETE) with the driver's result header.
  if (typeof result === 'number') return Number(meta ?? 0);
  return Number(result?.affectedRows ?? 0);
}
