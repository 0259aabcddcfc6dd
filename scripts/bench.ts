import { readEnvFileInDevelopment } from '../src/env-file';
/**
 * `npm run bench`: builds, then measures Pawmate against baselines in the same run and prints tables.
 * Each suite's latest tables are written to docs/bench-runs/<suite>.md with the date and the machine;
 * docs/BENCHMARKS.md is written by people (what changed and why, the runs they quote), so a run never
 * overwrites it.
 *   npm run bench -- [--only foundation] [--duration 8] [--connections 50] [--no-write]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSequelize } from '../src/infra/db';
import { dropDatabase, ensureDatabase, migrator } from '../src/infra/migrator';
import { foundationBench, type BenchEnv } from './bench/foundation';
import { contentionBench } from './bench/contention';
import { searchBench } from './bench/search';
import { mapBench } from './bench/map';
import { sseBench } from './bench/sse';
import { chatBench } from './bench/chat';
import { meetupsBench } from './bench/meetups';
import { communityBench } from './bench/community';
import { marketBench } from './bench/market';
import { groupsBench } from './bench/groups';
import { waitForIdleDatabaseBeforeEachRow } from './bench/run';

const HELP = `Usage: npm run bench -- [options]
  --only <name>        run one suite: foundation, search, map, contention, sse, chat, meetups, community, market,
                       groups
  --quick              small scale for a smoke test (sse: 500 streams, chat: 200 sockets,
                       meetups: 5000 meetups, 100 live participants)
  --streams <n[,n]>    sse: open streams per run (default 5000,10000; needs ulimit -n 20000; 0: instances rows only)
  --instances <n[,n]>  sse: Pawmate instances for the fan-out rows (default 1,2,4; 0 skips them)
  --per-instance <n>   sse: streams held by each instance in those rows (default 2500)
  --notify-chunk <n>   sse: recipients per notifyMany transaction (default 20, a feature's fan-out; 500 is a broadcast)
  --sockets <n>        chat: sockets over the two instances, a multiple of 50 (default 1000)
  --scenario <k[,k]>   chat: only these of pairs (rooms of 2, 1000 msg/s), pairs-max (1800 msg/s), groups
  --repeat <n>         chat: measure every scenario n times on the same connections (1..10, default 1)
  --meetups <n>        meetups: seeded meetups for nearby search (default 50000)
  --participants <n>   meetups: live participants, 5 meetups × 2…100 (default 500)
  --part <nearby|live> meetups: run only the nearby search or the live location half
  --radii <km[,km]>    meetups: nearby search radii (default 3,10)
  --sorts <s[,s]>      meetups: nearby sorts (default distance,startsAt)
  --part <ratios|deep> search: only the ratio rows or the deep pages
  --posts <n>          community: seeded posts (default 200000)
  --likes <n>          community: seeded likes (default 2000000)
  --listings <n>       market: seeded listings (default 100000)
  --favorites <n>      market: favourites (and open streams) of the price-dropped listing (default 10000)
  --runs <n>           runs per row: market, groups (gallery) and search's deep pages (default 3), meetups (default 1)
  --photos <n>         groups: photos in the measured gallery (default 10000)
  --duration <sec>     seconds per load run (default 8)
  --connections <n>    concurrent HTTP connections (default 50)
  --no-write           print only; leave docs/bench-runs/ alone
Environment: BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/pawmate_bench), REDIS_URL,
  BENCH_REDIS_PREFIX (default bench:).
`;

const SUITES: Record<string, { title: string; run: (env: BenchEnv) => Promise<{ markdown: string }> }> = {
  foundation: { title: 'Foundation: HTTP stack, auth and a primary-key read', run: foundationBench },
  search: { title: 'Sitter search: Redis GEO + one MySQL filter query', run: searchBench },
  map: { title: 'Sitter map: clustered markers of a viewport over 100k sitters', run: mapBench },
  contention: { title: 'Reservations: concurrent accepts and the capacity invariant', run: contentionBench },
  sse: { title: 'Notifications: open SSE streams, memory per stream and fan-out time', run: sseBench },
  chat: { title: 'Chat: Socket.io messages over two instances, persisted vs a plain relay', run: chatBench },
  meetups: {
    title: 'Meetups: nearby search over Redis GEO + MySQL, live location fan-out over two instances',
    run: meetupsBench,
  },
  community: {
    title:
      'Community: the board (recent, popular, search, nearby) over 200k posts and 2M likes, and 1000 concurrent likes',
    run: communityBench,
  },
  market: {
    title:
      'Market: nearby listings with filters over 100k listings, and a price drop reaching 10 000 favourites’ streams',
    run: marketBench,
  },
  groups: { title: 'Groups: voice transcode throughput and the gallery page', run: groupsBench },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main() {
  if (process.argv.includes('--help')) return void process.stdout.write(HELP);
  readEnvFileInDevelopment();
  const env: BenchEnv = {
    databaseUrl: process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/pawmate_bench',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    redisPrefix: process.env.BENCH_REDIS_PREFIX ?? 'bench:',
    duration: Number(arg('duration', '8')),
    connections: Number(arg('connections', '50')),
  };
  // A fresh database each run: results never depend on what an earlier run left behind.
  process.stdout.write(`preparing a fresh ${env.databaseUrl}\n`);
  await dropDatabase(env.databaseUrl);
  await ensureDatabase(env.databaseUrl);
  const sequelize = createSequelize(env.databaseUrl, 1);
  await migrator(sequelize, (m) => process.stdout.write(`${m}\n`)).up();
  await sequelize.close();

  waitForIdleDatabaseBeforeEachRow(env.databaseUrl);
  const only = arg('only', '');
  const names = only ? [only] : Object.keys(SUITES);
  const sections: Array<{ name: string; markdown: string }> = [];
  for (const name of names) {
    const suite = SUITES[name];
    if (!suite) throw new Error(`unknown suite ${name}`);
    process.stdout.write(`\n## ${suite.title}\n`);
    const { markdown } = await suite.run(env);
    process.stdout.write(`\n${markdown}\n`);
    sections.push({ name, markdown });
  }
  if (!process.argv.includes('--no-write')) writeReport(sections, env);
}

/** Writes each suite's tables to docs/bench-runs/<suite>.md (the latest run of that suite). */
function writeReport(sections: Array<{ name: string; markdown: string }>, env: BenchEnv) {
  const dir = path.resolve(__dirname, '..', '..', 'docs', 'bench-runs');
  fs.mkdirSync(dir, { recursive: true });
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const [load1] = os.loadavg();
  for (const { name, markdown } of sections) {
    const file = path.join(dir, `${name}.md`);
    const stamp =
      `_${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}; load average ${load1.toFixed(1)} ` +
      `at the end; autocannon, ${env.connections} connections, ${env.duration} s per row. Written by \`npm run bench\`; ` +
      `docs/BENCHMARKS.md quotes and explains the runs._`;
    fs.writeFileSync(file, `# ${SUITES[name].title}\n\n${stamp}\n\n${markdown.trim()}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
