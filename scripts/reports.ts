/**
 * The operator's queue of reported content:
 *   npm run reports [-- --all] [--min N] [--limit N]
 *   npm run reports -- --resolve ID --keep|--remove
 * Lists report cases (one per reported thing) and resolves them through the same services the server
 * uses, so a removal deletes a post or comment exactly as its author would (photos, geo index, room).
 */
import dotenv from 'dotenv';
import { ConfigError, loadConfig } from '../src/config';
import { openInfrastructure } from '../src/bootstrap';
import { createApp } from '../src/app';
import { createLogger } from '../src/infra/logger';
import type { CaseView, SafetyService } from '../src/modules/safety/safety.service';

const HELP = `Usage: npm run reports [-- options]

Lists report cases: one per reported thing (post, comment, user …) with its number of distinct
reporters and their reasons. A case reaching 5 reporters hides its content from every list until
it is resolved here. Open cases are listed by default, most reported first.

Options
  --all             list resolved cases too
  --min N           only cases with at least N reporters (default 1)
  --limit N         at most N cases (default 50, at most 1000)
  --resolve ID      decide case ID; needs one of:
      --keep        the content stays (and is shown again if it was hidden)
      --remove      the content is deleted, as if its author deleted it
  --help            this text

Environment: the server's (DATABASE_URL, REDIS_URL, REDIS_PREFIX, JWT_SECRET, storage settings).
`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

function intArg(argv: string[], name: string, fallback: number, max: number): number | string {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : `${name} must be an integer between 1 and ${max}`;
}

const line = (c: CaseView) =>
  `#${c.id}  ${c.targetType} ${c.targetId}  reporters=${c.reporterCount}  ${c.status}${c.hidden ? ' (hidden)' : ''}  ` +
  `reasons=${Object.entries(c.reasons)
    .map(([r, n]) => `${r}:${n}`)
    .join(',')}  since ${c.createdAt}${c.resolvedAt ? `  resolved ${c.resolvedAt}` : ''}`;

/** The CLI as a function (exit code), so a test can run it against its own database and prefix. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(HELP);
    return 0;
  }
  const known = new Set(['--all', '--min', '--limit', '--resolve', '--keep', '--remove']);
  for (let i = 0; i < argv.length; i++) {
    if (!known.has(argv[i])) {
      io.err(`reports: unknown option ${argv[i]}\n\n${HELP}`);
      return 2;
    }
    if (['--min', '--limit', '--resolve'].includes(argv[i])) i++;
  }
  const min = intArg(argv, '--min', 1, 1_000_000);
  const limit = intArg(argv, '--limit', 50, 1000);
  const resolveId = intArg(argv, '--resolve', 0, 4294967295);
  for (const v of [min, limit, resolveId])
    if (typeof v === 'string') {
      io.err(`reports: ${v}`);
      return 2;
    }
  const keep = argv.includes('--keep');
  const remove = argv.includes('--remove');
  if (resolveId && keep === remove) {
    io.err('reports: --resolve needs exactly one of --keep or --remove');
    return 2;
  }
  if (!resolveId && (keep || remove)) {
    io.err('reports: --keep and --remove go with --resolve ID');
    return 2;
  }

  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    io.err(err instanceof ConfigError ? err.message : String(err));
    return 1;
  }
  const logger = createLogger(env.LOG_LEVEL ?? 'warn');
  io.out('connecting to MySQL and Redis');
  const infra = await openInfrastructure(config, logger);
  // The app's own wiring (never started): the safety service with every module's reportable kinds.
  const app = createApp({ ...infra, config });
  try {
    const safety = app.services.safety as SafetyService;
    if (resolveId) {
      io.out(`resolving case #${resolveId}: ${keep ? 'keep' : 'remove'}`);
      const c = await safety.resolve(resolveId as number, keep ? 'keep' : 'remove');
      io.out(line(c));
      io.out('done (storage and index changes are carried out by the running servers’ outbox)');
      return 0;
    }
    const cases = await safety.listCases({
      status: argv.includes('--all') ? 'all' : 'open',
      limit: limit as number,
      minReporters: min as number,
    });
    io.out(`${cases.length} case(s)${cases.length === limit ? ` (first ${limit}; --limit for more)` : ''}`);
    for (const c of cases) io.out(line(c));
    return 0;
  } catch (err) {
    io.err(`reports: ${(err as Error).message}`);
    return 1;
  } finally {
    // Building the app opened queue and bus connections; a CLI must let the process exit.
    await app.stop().catch(() => undefined);
    await infra.close();
  }
}

if (require.main === module) {
  dotenv.config({ quiet: true });
  run(process.argv.slice(2), process.env, {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
