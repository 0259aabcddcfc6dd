import type { ChildProcess } from 'node:child_process';
import { CommunityRepository } from '../../src/modules/community/community.repository';
import { reindexPostGeo } from '../../src/modules/community/community.posts';
import { dayIn } from '../../src/modules/sitters/sitters.days';
import os from 'node:os';
import { forkReady, load, median, ratio, spread, table, type LoadResult } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { bulkUsers } from './bulk-users';
import { exited } from './sse';
import { percentile } from './http-client';
import { PROBE_WORDS, seedPosts } from './seed-posts';
import { positiveInt, rebuildGeoIndex } from './geo-seed';

/**
 * Issue 15: the community board over 200 000 posts and 2 000 000 likes (bulk-seeded): GET /posts
 * recent and popular, `q` search (Korean and English) and /posts/nearby at 3 km, each next to the
 * same query as raw SQL (or GEOSEARCH + IN) in the same run; then 1000 concurrent likes on one post
 * by distinct users, with the final count checked against the rows. Each row runs `--runs` times
 * (API then raw, alternating; median and spread), so one seed serves every run.
 *   npm run bench -- --only community [--posts 200000] [--likes 2000000] [--duration 8] [--runs 3]
 */
const SEOUL = { lat: 37.5665, lng: 126.978 };
const SEED_RADIUS_KM = 15;
const USERS = 2000;
const CONCURRENT_LIKES = 1000;
const PORTS = { api: 4180, raw: 4181 };

export async function communityBench(env: BenchEnv): Promise<{ markdown: string }> {
  const posts = positiveInt('posts', 200_000);
  const likes = positiveInt('likes', 2_000_000);
  const runs = positiveInt('runs', 3);
  const base = serverEnv(env, PORTS.api);
  const tz = base.SERVICE_TZ ?? 'Asia/Seoul';
  process.stdout.write(`  ${USERS} users\n`);
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, USERS, 'community', 3 * 3600);
  const ids = users.map((u) => u.id);
  const { hotPostId } = await seedPosts(env.databaseUrl, {
    posts,
    likes,
    authorIds: ids,
    likerIds: ids,
    center: SEOUL,
    radiusKm: SEED_RADIUS_KM,
    serviceDay: (d) => dayIn(d, tz),
  });

  const geoKey = await rebuildGeoIndex(env, 'posts', (sequelize, geo, options) =>
    reindexPostGeo(new CommunityRepository(sequelize), geo, options),
  );

  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [], { ...base, DB_POOL_MAX: '10' }));
    children.push(
      await forkReady('scripts/bench/community-baseline.js', [
        String(PORTS.raw),
        env.databaseUrl,
        env.redisUrl,
        geoKey,
      ]),
    );
    const headers = { authorization: `Bearer ${users[0].token}` };
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const api = `http://127.0.0.1:${PORTS.api}/api/v1`;
    const raw = `http://127.0.0.1:${PORTS.raw}`;
    const at = `lat=${SEOUL.lat}&lng=${SEOUL.lng}&radiusKm=3`;
    const cases: { label: string; api: string; raw: string; target: string }[] = [
      { label: 'recent', api: `${api}/posts`, raw: `${raw}/recent`, target: '≥ 0.5× raw, p99 < 100 ms' },
      { label: 'popular', api: `${api}/posts?sort=popular`, raw: `${raw}/popular`, target: 'p99 < 150 ms' },
      {
        label: `q=${PROBE_WORDS.korean}`,
        api: `${api}/posts?q=${encodeURIComponent(PROBE_WORDS.korean)}`,
        raw: `${raw}/search?q=${encodeURIComponent(PROBE_WORDS.korean)}`,
        target: 'p99 < 150 ms',
      },
      {
        label: `q=${PROBE_WORDS.english}`,
        api: `${api}/posts?q=${PROBE_WORDS.english}`,
        raw: `${raw}/search?q=${PROBE_WORDS.english}`,
        target: 'p99 < 150 ms',
      },
      {
        // What q cost before the word-prefix table: the same API page next to the FULLTEXT query.
        label: `q=${PROBE_WORDS.korean} vs FULLTEXT`,
        api: `${api}/posts?q=${encodeURIComponent(PROBE_WORDS.korean)}`,
        raw: `${raw}/search-fulltext?q=${encodeURIComponent(PROBE_WORDS.korean)}`,
        target: '—',
      },
      {
        label: 'nearby 3 km',
        api: `${api}/posts/nearby?${at}`,
        raw: `${raw}/nearby?${at}`,
        target: '≥ 0.5× raw, p99 < 100 ms',
      },
    ];
    const rows: (string | number)[][] = [];
    const loadBefore = os.loadavg()[0];
    for (const c of cases) {
      const same = await samePage(c.api, c.raw, headers);
      const a: LoadResult[] = [];
      const r: LoadResult[] = [];
      for (let i = 0; i < runs; i++) {
        a.push(await run(`API ${c.label} #${i + 1}`, c.api, { ...opts, headers }));
        r.push(await run(`raw ${c.label} #${i + 1}`, c.raw, opts));
      }
      const failures = [...a, ...r].reduce((n, x) => n + x.non2xx + x.errors, 0);
      const ratios = a.map((x, i) => Number(ratio(x.rps, r[i].rps)));
      rows.push([
        c.label,
        `${median(a.map((x) => x.rps))} (${spread(a.map((x) => x.rps))})`,
        median(a.map((x) => x.p50)),
        `${median(a.map((x) => x.p99))} (${spread(a.map((x) => x.p99))})`,
        median(r.map((x) => x.rps)),
        median(r.map((x) => x.p50)),
        median(r.map((x) => x.p99)),
        `${median(ratios).toFixed(2)} (${spread(ratios)})`,
        c.target,
        same,
        failures ? `${failures} non-2xx or errors` : '—',
      ]);
    }
    const loadAfter = os.loadavg()[0];
    const likeRow = await concurrentLikes(api, hotPostId, users.slice(0, CONCURRENT_LIKES), env.databaseUrl);
    const markdown =
      `${posts} posts by ${USERS} users over 120 days (half with a point within ${SEED_RADIUS_KM} km of Seoul City Hall, ` +
      `12–14 made-up words each from a vocabulary of 3000; ${PROBE_WORDS.korean}… and ${PROBE_WORDS.english}… forms in about 1% each) ` +
      `and ${likes} likes (exponentially distributed per post), seeded with multi-row INSERTs and the FULLTEXT index built once. ` +
      `Page size 20, one authenticated user, ${opts.connections} connections, ${runs} runs per row (API then raw, alternating): ` +
      `medians, with the spread (min–max) in brackets. The raw baseline runs the same SQL (q: the word-prefix walk; ` +
      `"vs FULLTEXT": the FULLTEXT prefix query q used before; nearby: one GEOSEARCH COUNT 80 and one IN query) without ` +
      `validation, auth, blocks, photos, likedByMe or cursors. Load average (1 min) ${loadBefore.toFixed(1)} before the ` +
      `rows, ${loadAfter.toFixed(1)} after.\n\n` +
      table(
        [
          'query',
          'API req/s',
          'API p50 ms',
          'API p99 ms',
          'raw req/s',
          'raw p50 ms',
          'raw p99 ms',
          'API / raw',
          'target',
          'same page',
          'errors',
        ],
        rows,
      ) +
      `\n\n${likeRow}`;
    return { markdown };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

/** 1000 distinct users PUT a like on one post at once; the count must equal the rows. */
async function concurrentLikes(
  api: string,
  postId: number,
  users: { token: string }[],
  databaseUrl: string,
): Promise<string> {
  process.stdout.write(`  ${users.length} concurrent likes on post ${postId}\n`);
  const started = Date.now();
  const times: number[] = [];
  const statuses = await Promise.all(
    users.map(async (u) => {
      const t0 = Date.now();
      const res = await fetch(`${api}/posts/${postId}/like`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${u.token}` },
      });
      await res.arrayBuffer();
      times.push(Date.now() - t0);
      return res.status;
    }),
  );
  const wall = Date.now() - started;
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [[row]] = (await conn.query(
      'SELECT p.likeCount AS counted, (SELECT COUNT(*) FROM post_likes l WHERE l.postId = p.id) AS rowsCount FROM posts p WHERE p.id = ?',
      [postId],
    )) as unknown as [[{ counted: number; rowsCount: number }]];
    const ok = statuses.filter((s) => s === 200).length;
    const other = statuses.filter((s) => s !== 200);
    return table(
      ['concurrent likes', '200', 'other', 'wall ms', 'p50 ms', 'p99 ms', 'likeCount', 'rows', 'exact'],
      [
        [
          users.length,
          ok,
          other.length
            ? Object.entries(other.reduce<Record<number, number>>((m, st) => ({ ...m, [st]: (m[st] ?? 0) + 1 }), {}))
                .map(([st, n]) => `${n} × ${st}`)
                .join(', ')
            : '—',
          wall,
          percentile(times, 50),
          percentile(times, 99),
          Number(row.counted),
          Number(row.rowsCount),
          // The invariant: the counter equals the rows, whatever the answers were.
          Number(row.counted) === Number(row.rowsCount) ? 'yes (count = rows)' : 'NO',
        ],
      ],
    );
  } finally {
    await conn.end();
  }
}

async function samePage(apiUrl: string, rawUrl: string, headers: Record<string, string>): Promise<string> {
  const [a, r] = await Promise.all([fetch(apiUrl, { headers }), fetch(rawUrl)]);
  if (a.status !== 200 || r.status !== 200)
    throw new Error(`probe: API ${a.status} ${await a.text()}, raw ${r.status}`);
  const ids = async (res: Response) => ((await res.json()) as { items: { id: number }[] }).items.map((i) => i.id);
  const [x, y] = await Promise.all([ids(a), ids(r)]);
  if (!x.length) throw new Error(`probe: the API found nothing at ${apiUrl}`);
  return x.join() === y.join() ? `yes (${x.length})` : 'NO';
}

async function run(
  name: string,
  url: string,
  opts: { duration: number; connections: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const r = await load(name, url, opts);
  process.stdout.write(
    `  ${name}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}\n`,
  );
  return r;
}
