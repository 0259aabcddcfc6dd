import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { forkReady, load, ratio, table, type LoadResult } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { bulkUsers, type BenchUser } from './bulk-users';
import { argValue, exited } from './sse';

/**
 * Issue 17: the group gallery. A page of 30 photos with like and comment counts and likedByMe, for
 * a group of 50 members with 10 000 photos (and other groups' photos around it), next to the same
 * two queries as raw SQL in the same run. A section of the groups suite (scripts/bench/groups.ts).
 *   npm run bench -- --only groups [--photos 10000] [--runs 3] [--duration 8]
 */
const MEMBERS = 50;
const OTHER_GROUPS = 5;
const PAGE = 30;
// Not 4190: fetch refuses it (a "bad port", ManageSieve).
const PORTS = { api: 4197, raw: 4198 };
const BATCH = 2000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;

export async function galleryBench(env: BenchEnv): Promise<{ markdown: string }> {
  const photos = Number(argValue('photos') ?? 10_000);
  const runs = Number(argValue('runs') ?? 3);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${runs}: expected a positive integer`);
  if (!Number.isInteger(photos) || photos < PAGE * 2) throw new Error(`--photos ${photos}: expected an integer ≥ 60`);
  const base = serverEnv(env, PORTS.api);
  const users = await bulkUsers(env.databaseUrl, base.JWT_SECRET!, MEMBERS, 'groups', 3 * 3600);
  const seeded = await seedGallery(env.databaseUrl, users, photos);

  const children: ChildProcess[] = [];
  try {
    children.push(await forkReady('src/server.js', [], { ...base, DB_POOL_MAX: '10' }));
    children.push(await forkReady('scripts/bench/groups-baseline.js', [String(PORTS.raw), env.databaseUrl]));
    const viewer = users[1];
    const headers = { authorization: `Bearer ${viewer.token}` };
    const opts = { duration: env.duration, connections: Math.min(env.connections, 20) };
    const api = `http://127.0.0.1:${PORTS.api}/api/v1/groups/${seeded.groupId}/photos?limit=${PAGE}`;
    const raw = `http://127.0.0.1:${PORTS.raw}/gallery?groupId=${seeded.groupId}&viewer=${viewer.id}`;
    const middle = await cursorAt(api, headers, Math.floor(photos / 2 / PAGE));
    const cases = [
      { label: 'first page', api, raw },
      {
        label: `page ${Math.floor(photos / 2 / PAGE) + 1} (cursor)`,
        api: `${api}&cursor=${middle.cursor}`,
        raw: `${raw}&before=${middle.beforeId}`,
      },
    ];
    const rows: (string | number)[][] = [];
    for (const c of cases) {
      const same = await samePage(c.api, c.raw, headers);
      const a: LoadResult[] = [];
      const r: LoadResult[] = [];
      // API and raw alternate, so a change in the machine's load touches both alike.
      for (let i = 0; i < runs; i++) {
        a.push(await run(`API ${c.label} #${i + 1}`, c.api, { ...opts, headers }));
        r.push(await run(`raw ${c.label} #${i + 1}`, c.raw, opts));
      }
      const ratios = a.map((x, i) => Number(ratio(x.rps, r[i].rps)));
      const failures = [...a, ...r]
        .filter((x) => x.non2xx || x.errors)
        .map((x) => `${x.name}: ${x.non2xx} non-2xx, ${x.errors} errors`);
      rows.push([
        c.label,
        median(a.map((x) => x.rps)),
        median(a.map((x) => x.p50)),
        median(a.map((x) => x.p99)),
        spread(a.map((x) => x.p99)),
        median(r.map((x) => x.rps)),
        median(r.map((x) => x.p99)),
        `${median(ratios).toFixed(2)} (${spread(ratios)})`,
        'p99 < 100 ms',
        same,
        failures.join('; ') || '—',
      ]);
    }
    const load1 = (await import('node:os')).loadavg()[0].toFixed(1);
    const markdown =
      `One group of ${MEMBERS} members with ${photos} photos (${seeded.likes} likes, ${seeded.comments} comments), ` +
      `${OTHER_GROUPS} other groups with as many photos each, seeded with multi-row INSERTs. GET /groups/{id}/photos?limit=${PAGE} ` +
      `as a member, ${opts.connections} connections, ${runs} runs per row (median; spread of p99 and of the ratio), ` +
      `load average ${load1} at the end. The raw baseline runs the same page query and likedByMe lookup ` +
      `without validation, auth, the membership check, cursors or URL building.\n\n` +
      table(
        [
          'page',
          'API req/s',
          'API p50 ms',
          'API p99 ms',
          'API p99 spread',
          'raw req/s',
          'raw p99 ms',
          'API / raw',
          'target',
          'same page',
          'errors',
        ],
        rows,
      );
    return { markdown };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}

/** The measured group and its neighbours, straight into MySQL (the upload pipeline is not what is measured). */
async function seedGallery(databaseUrl: string, users: BenchUser[], photos: number) {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  const now = new Date();
  let likes = 0;
  let comments = 0;
  try {
    let groupId = 0;
    for (let g = 0; g <= OTHER_GROUPS; g++) {
      const [res] = (await conn.query(
        'INSERT INTO `groups` (name, description, ownerId, memberCount, photoCount, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [`Bench family ${g}`, '', users[0].id, MEMBERS, photos, now, now],
      )) as unknown as [{ insertId: number }];
      const id = Number(res.insertId);
      if (g === 0) groupId = id;
      await conn.query('INSERT INTO group_members (groupId, userId, role, createdAt, updatedAt) VALUES ?', [
        users.map((u, i) => [id, u.id, i === 0 ? 'owner' : 'member', now, now]),
      ]);
      for (let i = 0; i < photos; i += BATCH) {
        const rows: unknown[][] = [];
        for (let j = i; j < Math.min(photos, i + BATCH); j++) {
          const key = (v: string) => `groups/${id}/${randomBytes(16).toString('hex')}-${v}.webp`;
          const at = new Date(now.getTime() - (photos - j) * 60_000);
          rows.push([id, users[j % MEMBERS].id, key('photo'), key('thumb'), `Photo ${j}`, 0, 0, at]);
        }
        await conn.query(
          'INSERT INTO group_photos (groupId, authorId, url, thumbnailUrl, caption, likeCount, commentCount, createdAt) VALUES ?',
          [rows],
        );
      }
      process.stdout.write(`\r  group ${g + 1}/${OTHER_GROUPS + 1}: ${photos} photos`);
    }
    process.stdout.write('\n');
    // Likes and comments on the measured group: each photo liked by 0–20 members, commented 0–5 times.
    const [ids] = (await conn.query('SELECT id FROM group_photos WHERE groupId = ? ORDER BY id', [
      groupId,
    ])) as unknown as [{ id: number }[]];
    let likeRows: unknown[][] = [];
    let commentRows: unknown[][] = [];
    const flush = async (force = false) => {
      if (likeRows.length && (force || likeRows.length >= BATCH)) {
        await conn.query('INSERT INTO group_photo_likes (photoId, userId, createdAt) VALUES ?', [likeRows]);
        likeRows = [];
      }
      if (commentRows.length && (force || commentRows.length >= BATCH)) {
        await conn.query('INSERT INTO group_photo_comments (photoId, authorId, body, createdAt) VALUES ?', [
          commentRows,
        ]);
        commentRows = [];
      }
    };
    for (const [n, { id }] of ids.entries()) {
      const likers = (n * 7) % 21;
      const commenters = (n * 3) % 6;
      for (let k = 0; k < likers; k++) likeRows.push([id, users[(n + k) % MEMBERS].id, now]);
      for (let k = 0; k < commenters; k++) commentRows.push([id, users[(n + k * 3) % MEMBERS].id, 'So cute', now]);
      likes += likers;
      comments += commenters;
      await flush();
    }
    await flush(true);
    await conn.query(
      `UPDATE group_photos p SET
         likeCount = (SELECT COUNT(*) FROM group_photo_likes l WHERE l.photoId = p.id),
         commentCount = (SELECT COUNT(*) FROM group_photo_comments c WHERE c.photoId = p.id)
       WHERE p.groupId = ?`,
      [groupId],
    );
    await conn.query('ANALYZE TABLE group_photos, group_photo_likes, group_members');
    return { groupId, likes, comments };
  } finally {
    await conn.end();
  }
}

/** The cursor (and the last id) after `pages` pages, walked through the API. */
async function cursorAt(url: string, headers: Record<string, string>, pages: number) {
  let cursor = '';
  let beforeId = 0;
  for (let i = 0; i < pages; i++) {
    const res = await fetch(cursor ? `${url}&cursor=${cursor}` : url, { headers }).catch((err: Error) => {
      throw new Error(`probe ${url}: ${String(err.cause ?? err.message)}`);
    });
    if (res.status !== 200) throw new Error(`probe: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { items: { id: number }[]; nextCursor: string };
    cursor = body.nextCursor;
    beforeId = body.items[body.items.length - 1].id;
  }
  return { cursor, beforeId };
}

async function samePage(apiUrl: string, rawUrl: string, headers: Record<string, string>): Promise<string> {
  const [a, r] = await Promise.all([fetch(apiUrl, { headers }), fetch(rawUrl)]);
  if (a.status !== 200 || r.status !== 200)
    throw new Error(`probe: API ${a.status} ${await a.text()}, raw ${r.status}`);
  type Item = { id: number; likeCount: number; commentCount: number; likedByMe: boolean };
  const shape = async (res: Response) =>
    ((await res.json()) as { items: Item[] }).items.map(
      (i) => `${i.id}:${i.likeCount}:${i.commentCount}:${Boolean(i.likedByMe)}`,
    );
  const [x, y] = await Promise.all([shape(a), shape(r)]);
  return x.length === PAGE && x.join() === y.join() ? `yes (${x.length})` : 'NO';
}

async function run(
  name: string,
  url: string,
  opts: { duration: number; connections: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const r = await load(name, url, opts);
  process.stdout.write(`  ${name}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms\n`);
  return r;
}
