import path from 'node:path';
import fs from 'node:fs';
import mysql from 'mysql2/promise';
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import { parseDatabaseUrl } from './db';

type Step = {
  up: (p: { context: QueryInterface }) => Promise<void>;
  down?: (p: { context: QueryInterface }) => Promise<void>;
};

// Compiled: dist/src/infra → dist/migrations; under ts-jest/ts-node: src/infra → migrations.
const ROOT = path.resolve(__dirname, '..', '..');

/** Files named `<timestamp>-<name>.(js|ts)`; helpers and declaration files are not steps. */
function stepFiles(dir: string): { name: string; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{14}-[\w-]+\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => ({ name: f.replace(/\.(js|ts)$/, ''), file: path.join(dir, f) }));
}

function build(sequelize: Sequelize, folder: 'migrations' | 'seeders', log: (msg: string) => void) {
  const dir = path.join(ROOT, folder);
  return new Umzug<QueryInterface>({
    migrations: stepFiles(dir).map(({ name, file }) => ({
      name,
      // Steps are loaded lazily by path (compiled .js in production, .ts under ts-node).
      up: async ({ context }) => ((await import(file)) as Step).up({ context }),
      down: async ({ context }) => ((await import(file)) as Step).down?.({ context }),
    })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({
      sequelize,
      tableName: folder === 'migrations' ? 'schema_migrations' : 'schema_seeds',
    }),
    logger: {
      info: (m: Record<string, unknown>) => {
        if (m.event === 'migrated') log(`  applied ${String(m.name)} (${String(m.durationSeconds)} s)`);
        if (m.event === 'reverted') log(`  reverted ${String(m.name)} (${String(m.durationSeconds)} s)`);
      },
      warn: () => undefined,
      error: (m: Record<string, unknown>) => log(`  error: ${JSON.stringify(m)}`),
      debug: () => undefined,
    },
  });
}

export const migrator = (sequelize: Sequelize, log: (msg: string) => void = () => undefined) =>
  build(sequelize, 'migrations', log);
export const seeder = (sequelize: Sequelize, log: (msg: string) => void = () => undefined) =>
  build(sequelize, 'seeders', log);

/** CREATE DATABASE IF NOT EXISTS, in utf8mb4, so a fresh machine needs no manual step. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const p = parseDatabaseUrl(databaseUrl);
  const conn = await mysql.createConnection({ host: p.host, port: p.port, user: p.user, password: p.password });
  try {
    const [rows] = await conn.query('SHOW DATABASES LIKE ?', [p.database]);
    const existed = (rows as unknown[]).length > 0;
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${p.database.replace(/`/g, '')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    return !existed;
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const p = parseDatabaseUrl(databaseUrl);
  const conn = await mysql.createConnection({ host: p.host, port: p.port, user: p.user, password: p.password });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${p.database.replace(/`/g, '')}\``);
  } finally {
    await conn.end();
  }
}
