import { readEnvFileInDevelopment } from '../src/env-file';
/**
 * Admin CLI for the schema and seed data.
 *   node dist/scripts/db.js migrate|rollback|status|seed [--to NAME] [--all]
 * Reads DATABASE_URL (and .env in development). Creates the database when it does not exist.
 */
import { createSequelize } from '../src/infra/db';
import { ensureDatabase, migrator, seeder } from '../src/infra/migrator';

const HELP = `Usage: npm run db:<command> [-- options]

Commands
  migrate             apply every pending migration (idempotent); creates the database if missing
  rollback [--all]    revert the last migration, or all of them
  status              list applied and pending migrations and seeds
  seed                apply pending seeders (idempotent: each runs once)

Environment
  DATABASE_URL        mysql://user:pass@host:3306/db (required)
`;

async function main() {
  readEnvFileInDevelopment();
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(HELP);
    return;
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('Invalid configuration: DATABASE_URL is required\n');
    process.exitCode = 1;
    return;
  }
  const log = (m: string) => process.stdout.write(`${m}\n`);
  if (command === 'migrate' || command === 'seed') {
    if (await ensureDatabase(url)) log(`created database ${new URL(url).pathname.slice(1)}`);
  }
  const sequelize = createSequelize(url, 2);
  try {
    const m = migrator(sequelize, log);
    const s = seeder(sequelize, log);
    switch (command) {
      case 'migrate': {
        const pending = await m.pending();
        log(`${pending.length} pending migration(s)`);
        const applied = await m.up();
        log(`done: ${applied.length} applied`);
        break;
      }
      case 'rollback': {
        const reverted = rest.includes('--all') ? await m.down({ to: 0 }) : await m.down();
        log(`done: ${reverted.length} reverted`);
        break;
      }
      case 'status': {
        for (const [label, u] of [
          ['migrations', m],
          ['seeds', s],
        ] as const) {
          const [done, pending] = await Promise.all([u.executed(), u.pending()]);
          log(`${label}: ${done.length} applied, ${pending.length} pending`);
          for (const x of done) log(`  [x] ${x.name}`);
          for (const x of pending) log(`  [ ] ${x.name}`);
        }
        break;
      }
      case 'seed': {
        const pendingMigrations = await m.pending();
        if (pendingMigrations.length)
          throw new Error(`${pendingMigrations.length} migration(s) pending: run npm run db:migrate first`);
        const pending = await s.pending();
        log(`${pending.length} pending seeder(s)`);
        const applied = await s.up();
        log(`done: ${applied.length} applied`);
        break;
      }
      default:
        process.stderr.write(`Unknown command "${command}"\n\n${HELP}`);
        process.exitCode = 1;
    }
  } finally {
    await sequelize.close();
  }
}

main().catch((err) => {
  process.stderr.write(`db: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
