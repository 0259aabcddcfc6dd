import mysql from 'mysql2/promise';
import { prefixKeys, searchDocument } from '../../src/modules/search-text';
import { randomPoint, seeded } from './seed-meetups';

const DAY_MS = 24 * 3600 * 1000;
/** Posts spread over this many days before now (about 5% of them in the 7-day popular window). */
const SPAN_DAYS = 120;
const POST_BATCH = 2000;
const LIKE_BATCH = 20_000;
const KINDS = ['general', 'question', 'walk_route', 'open_chat'];
const TAGS = ['walk', 'puppy', 'cat', 'food', 'vet', 'training', '산책', '강아지', '고양이', '간식'];

/** A vocabulary of made-up words (Korean syllables and Latin letters), so each word is rare. */
function vocabulary(rand: () => number): string[] {
  const syl = '가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추'.split('');
  const latin = 'abcdefghijklmnopqrstuvwxyz';
  const words = new Set<string>();
  while (words.size < 3000) {
    if (rand() < 0.5) {
      const n = 2 + Math.floor(rand() * 3);
      words.add(Array.from({ length: n }, () => syl[Math.floor(rand() * syl.length)]).join(''));
    } else {
      const n = 4 + Math.floor(rand() * 5);
      words.add(Array.from({ length: n }, () => latin[Math.floor(rand() * 26)]).join(''));
    }
  }
  return [...words];
}

/** Words the benchmark searches for, each in about 1% of the posts (with particles / endings). */
export const PROBE_WORDS = { korean: '산책', english: 'walk' };
const PROBE_FORMS = ['산책로', '산책하기', '산책', 'walking', 'walks', 'walk'];

/**
 * Bulk-seeds `posts` posts by `authorIds` (half of them with a point within `radiusKm` of `center`)
 * and `likes` likes by `likerIds`, with counters and 7-day activity buckets consistent with the rows,
 * in multi-row INSERTs with explicit ids, and the word-prefix rows of the `q` walk. The FULLTEXT index
 * and the prefix table's key are dropped for the load and built once at the end (far cheaper than
 * maintaining them row by row). Deterministic: every run seeds the same.
 */
export async function seedPosts(
  databaseUrl: string,
  o: {
    posts: number;
    likes: number;
    authorIds: number[];
    likerIds: number[];
    center: { lat: number; lng: number };
    radiusKm: number;
    serviceDay: (d: Date) => string;
  },
  log: (m: string) => void = (m) => void process.stdout.write(m),
): Promise<{ hotPostId: number }> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  const rand = seeded(15);
  const words = vocabulary(rand);
  const now = Date.now();
  const started = Date.now();
  try {
    await conn.query('SET foreign_key_checks = 0, unique_checks = 0');
    await conn.query('ALTER TABLE posts DROP INDEX posts_search');
    // The prefix table is loaded without its key (appends) and keyed once at the end (a sort), not
    // row by row in key order spread over a table larger than the buffer pool.
    await conn.query('ALTER TABLE post_word_prefixes DROP PRIMARY KEY');
    let prefixRows = 0;
    const created: number[] = [];
    const likesPer: number[] = [];
    // Likes per post: exponential around the mean, so a few posts are popular and most are not.
    const mean = o.likes / o.posts;
    let likesLeft = o.likes;
    for (let done = 0; done < o.posts; done += POST_BATCH) {
      const n = Math.min(POST_BATCH, o.posts - done);
      const rows: unknown[][] = [];
      const tags: unknown[][] = [];
      const prefixes: unknown[][] = [];
      for (let i = 0; i < n; i++) {
        const id = done + i + 1;
        const at = now - Math.floor(rand() * SPAN_DAYS * DAY_MS);
        created[id] = at;
        const pick = () => words[Math.floor(rand() * words.length)];
        const title = [pick(), pick(), pick()].join(' ');
        const bodyWords = Array.from({ length: 12 }, pick);
        if (rand() < 0.01) bodyWords.push(PROBE_FORMS[Math.floor(rand() * 3)]);
        if (rand() < 0.01) bodyWords.push(PROBE_FORMS[3 + Math.floor(rand() * 3)]);
        const body = bodyWords.join(' ');
        const want = id === o.posts ? 0 : Math.min(o.likerIds.length, Math.round(-Math.log(1 - rand()) * mean));
        const k = Math.min(want, likesLeft);
        likesLeft -= k;
        likesPer[id] = k;
        const p = rand() < 0.5 ? randomPoint(o.center, o.radiusKm, rand) : null;
        const tagList = rand() < 0.5 ? [TAGS[Math.floor(rand() * TAGS.length)]] : [];
        rows.push([
          id,
          o.authorIds[Math.floor(rand() * o.authorIds.length)],
          KINDS[Math.floor(rand() * (KINDS.length - 1))],
          title,
          body,
          JSON.stringify(tagList),
          p ? p.lat.toFixed(6) : null,
          p ? p.lng.toFixed(6) : null,
          p ? 'Seoul' : null,
          k,
          searchDocument(title, body),
          new Date(at),
          new Date(at),
        ]);
        for (const t of tagList) tags.push([id, t, new Date(at)]);
        for (const k of prefixKeys(title, body)) prefixes.push([k, new Date(at), id]);
      }
      await conn.query(
        `INSERT INTO posts (id, authorId, kind, title, body, tagsJson, lat, lng, address, likeCount, searchText,
           createdAt, updatedAt) VALUES ?`,
        [rows],
      );
      if (tags.length) await conn.query('INSERT INTO post_tags (postId, tag, createdAt) VALUES ?', [tags]);
      await conn.query('INSERT INTO post_word_prefixes (prefix, createdAt, postId) VALUES ?', [prefixes]);
      prefixRows += prefixes.length;
      log(`\r  posts ${done + n}/${o.posts} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    log('\n');
    // Likes: each post's likers are consecutive liker indexes from a random start (distinct per post).
    const buckets = new Map<string, number>();
    const recent = new Map<number, number>();
    let batch: unknown[][] = [];
    let written = 0;
    const flush = async () => {
      if (!batch.length) return;
      await conn.query('INSERT INTO post_likes (postId, userId, createdAt) VALUES ?', [batch]);
      written += batch.length;
      batch = [];
      log(`\r  likes ${written}/${o.likes} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    };
    const windowStart = now - 6 * DAY_MS;
    for (let id = 1; id <= o.posts; id++) {
      const k = likesPer[id];
      const start = Math.floor(rand() * o.likerIds.length);
      for (let j = 0; j < k; j++) {
        const at = created[id] + Math.floor(rand() * (now - created[id]));
        batch.push([id, o.likerIds[(start + j) % o.likerIds.length], new Date(at)]);
        if (at >= windowStart) {
          const day = o.serviceDay(new Date(at));
          const key = `${id}|${day}`;
          buckets.set(key, (buckets.get(key) ?? 0) + 1);
          recent.set(id, (recent.get(id) ?? 0) + 1);
        }
        if (batch.length >= LIKE_BATCH) await flush();
      }
    }
    await flush();
    log('\n');
    const bucketRows = [...buckets].map(([key, n]) => [...key.split('|'), n]);
    for (let i = 0; i < bucketRows.length; i += LIKE_BATCH)
      await conn.query('INSERT INTO post_activity (postId, day, score) VALUES ?', [
        bucketRows.slice(i, i + LIKE_BATCH),
      ]);
    const scores = [...recent];
    for (let i = 0; i < scores.length; i += 5000) {
      const part = scores.slice(i, i + 5000);
      await conn.query(
        `UPDATE posts SET recentScore = CASE id ${part.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE id IN (?)`,
        [...part.flat(), part.map(([id]) => id)],
      );
    }
    log(`  recentScore for ${scores.length} posts; keying ${prefixRows} word prefixes…`);
    await conn.query('ALTER TABLE post_word_prefixes ADD PRIMARY KEY (prefix, createdAt, postId)');
    log(` building the FULLTEXT index…`);
    // COPY: MariaDB 10.11's in-place build over rows inserted while the table had no FULLTEXT index
    // produced an index that matched nothing (measured); a copying build is correct and still fast.
    await conn.query('ALTER TABLE posts ADD FULLTEXT INDEX posts_search (searchText), ALGORITHM=COPY');
    await conn.query('ANALYZE TABLE posts, post_likes, post_tags, post_word_prefixes');
    log(` done (${((Date.now() - started) / 1000).toFixed(0)} s in all)\n`);
    return { hotPostId: o.posts };
  } finally {
    await conn.end();
  }
}
