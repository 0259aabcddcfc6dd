import { readEnvFileInDevelopment } from '../src/env-file';
/**
 * Rebuilds the Redis GEO index of sitters (and/or meetups) from MySQL, safe to run while servers serve:
 *   npm run geo:reindex [-- --batch 1000] [--kind sitters|meetups|all]
 * Builds into a temporary key and swaps it in with RENAME; writes made meanwhile reach both keys.
 */
import { createSequelize } from '../src/infra/db';
import { connectRedis, createRedis, redisUrlFromEnv } from '../src/infra/redis';
import { GeoIndex, type RebuildProgress } from '../src/infra/geo';
import { SittersRepository } from '../src/modules/sitters/sitters.repository';
import { reindexSitterGeo } from '../src/modules/sitters/sitters.service';
import { MeetupsRepository } from '../src/modules/meetups/meetups.repository';
import { reindexMeetupGeo } from '../src/modules/meetups/meetups.service';
import { MeetupTagIndexes } from '../src/modules/meetups/meetups.tag-index';
import { CommunityRepository } from '../src/modules/community/community.repository';
import { reindexPostGeo } from '../src/modules/community/community.posts';
import { MarketRepository } from '../src/modules/market/market.repository';
import { reindexListingGeo } from '../src/modules/market/market.listings';

const HELP = `Usage: npm run geo:reindex [-- options]

Rebuilds the sitters' geo index (Redis key <REDIS_PREFIX>geo:sitters) from MySQL, the source of
truth: active sitters are read in id order, in batches, into a temporary key that then replaces the
live one with RENAME. Servers may keep running: writes made during the rebuild are applied to both
keys, so none is lost. Refuses to start while another rebuild runs.

Options
  --batch N     rows per batch (default 1000, 1–10000)
  --kind K      sitters (default), meetups (<REDIS_PREFIX>geo:meetups: meetups neither cancelled
                nor past their start, then geo:meetups:tag:<tag>, one per vocabulary tag), posts (<REDIS_PREFIX>geo:posts: listed posts with a
                place), listings (<REDIS_PREFIX>geo:listings: market listings neither
                deleted nor hidden by reports), or all
  --help        this text

Environment
  DATABASE_URL  mysql://user:pass@host:3306/db (required)
  REDIS_URL     redis://host:6379/0 (required, unless REDIS_CLUSTER_NODES names a cluster)
  REDIS_CLUSTER_NODES  host:port,host:port of a Redis Cluster (keys are then
                <REDIS_PREFIX>{geo:sitters} and so on: one hash slot per index)
  REDIS_PREFIX  key prefix of the deployment (default pm:)
`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Rewrites the current line (a terminal) instead of printing a new one. */
  tty?: boolean;
}

/** The CLI as a function (exit code), so a test can run it against its own database and prefix. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(HELP);
    return 0;
  }
  let batchSize = 1000;
  const KINDS = ['sitters', 'meetups', 'posts', 'listings'] as const;
  let kinds: Array<(typeof KINDS)[number]> = ['sitters'];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kind') {
      const k = argv[++i];
      const kind = KINDS.find((x) => x === k);
      if (!kind && k !== 'all') {
        io.err('geo:reindex: --kind must be sitters, meetups, posts, listings or all');
        return 2;
      }
      kinds = kind ? [kind] : [...KINDS];
    } else if (argv[i] === '--batch') {
      batchSize = Number(argv[++i]);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
        io.err('geo:reindex: --batch must be an integer between 1 and 10000');
        return 2;
      }
    } else {
      io.err(`geo:reindex: unknown option ${argv[i]}\n\n${HELP}`);
      return 2;
    }
  }
  const redisUrl = redisUrlFromEnv(env);
  for (const [name, value] of [
    ['DATABASE_URL', env.DATABASE_URL],
    ['REDIS_URL', redisUrl],
  ]) {
    if (!value) {
      io.err(`Invalid configuration: ${name} is required`);
      return 1;
    }
  }
  const prefix = env.REDIS_PREFIX ?? 'pm:';
  if (!/^[A-Za-z0-9:_-]{1,40}$/.test(prefix)) {
    io.err('Invalid configuration: REDIS_PREFIX must match [A-Za-z0-9:_-]{1,40}');
    return 1;
  }

  const sequelize = createSequelize(env.DATABASE_URL!, 2);
  // The rebuild may run for a while: let commands queue through a reconnect instead of failing fast.
  const redis = createRedis(redisUrl!, { enableOfflineQueue: true, maxRetriesPerRequest: 5 });
  redis.on('error', () => undefined);
  const started = Date.now();
  let lastPrinted = 0;
  const progress = (kind: string) => (p: RebuildProgress) => {
    const pct = p.total ? Math.min(100, Math.floor((p.done / p.total) * 100)) : null;
    const line = `geo:${kind} ${p.done}${p.total !== null ? `/${p.total} (${pct}%)` : ''} indexed, ${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (io.tty) io.out(`\r${line}`);
    else if (Date.now() - lastPrinted >= 1000 || p.done === p.total) {
      io.out(line);
      lastPrinted = Date.now();
    }
  };
  try {
    await connectRedis(redis);
    for (const kind of kinds) {
      const geo = new GeoIndex(redis, prefix, kind);
      io.out(`rebuilding ${geo.key} from MySQL in batches of ${batchSize}`);
      const options = { batchSize, onProgress: progress(kind) };
      const { count } =
        kind === 'sitters'
          ? await reindexSitterGeo(new SittersRepository(sequelize), geo, options)
          : kind === 'meetups'
            ? await reindexMeetupGeo(new MeetupsRepository(sequelize), geo, options).then(async (done) => {
                // Each vocabulary tag's index too (see MeetupTagIndexes), so they agree with the main one.
                await new MeetupTagIndexes(redis, prefix, new MeetupsRepository(sequelize)).rebuild();
                return done;
              })
            : kind === 'posts'
              ? await reindexPostGeo(new CommunityRepository(sequelize), geo, options)
              : await reindexListingGeo(new MarketRepository(sequelize), geo, options);
      io.out(
        `${io.tty ? '\n' : ''}done: ${count} ${kind} in ${geo.key} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
    return 0;
  } catch (err) {
    io.err(`${io.tty ? '\n' : ''}geo:reindex: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
    await sequelize.close();
  }
}

if (require.main === module) {
  readEnvFileInDevelopment();
  const tty = Boolean(process.stdout.isTTY);
  run(process.argv.slice(2), process.env, {
    out: (l) => process.stdout.write(tty && l.startsWith('\r') ? l : `${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    tty,
  }).then((code) => {
    process.exitCode = code;
  });
}
