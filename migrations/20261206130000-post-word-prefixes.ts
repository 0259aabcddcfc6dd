import { QueryTypes, type QueryInterface } from 'sequelize';
import { prefixKeys } from '../src/modules/search-text';

/**
 * The community's `q` walks a word-prefix table instead of collecting every FULLTEXT match and
 * sorting it (measured: the FULLTEXT prefix query alone had a p99 of 136 ms over 200 000 posts).
 *
 * post_word_prefixes has one row per post and distinct two-character word start (src/modules/
 * search-text.ts `prefixKeys`), with the post's createdAt, under one key (prefix, createdAt, postId):
 * a query word's candidates come newest first, so a page stops after a page of matches. The rows only
 * propose candidates (each is checked against posts.searchText), so they need no foreign key and no
 * second index: the writer deletes a post's rows by their full key, computed from the text it
 * replaces. The FULLTEXT index stays (one-character queries, `popular`, and the market).
 *
 * Existing posts are backfilled here in batches of BATCH posts, with a progress line on large tables.
 */
const BATCH = 1000;
const SHOW_PROGRESS_FROM = 20_000;

export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query(
    `CREATE TABLE post_word_prefixes (
       prefix VARCHAR(2) NOT NULL,
       createdAt DATETIME(3) NOT NULL,
       postId INT UNSIGNED NOT NULL,
       PRIMARY KEY (prefix, createdAt, postId)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  );
  const [{ n }] = await qi.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM posts WHERE deletedAt IS NULL', {
    type: QueryTypes.SELECT,
  });
  const total = Number(n);
  const started = Date.now();
  let done = 0;
  let shown = 0;
  for (let after = 0; ;) {
    const rows = await qi.sequelize.query<{ id: number; title: string; body: string; createdAt: Date }>(
      `SELECT id, title, body, createdAt FROM posts WHERE id > ? AND deletedAt IS NULL ORDER BY id LIMIT ${BATCH}`,
      { replacements: [after], type: QueryTypes.SELECT },
    );
    if (!rows.length) break;
    const values = rows.flatMap((r) => prefixKeys(r.title, r.body).map((k) => [k, r.createdAt, r.id]));
    if (values.length)
      await qi.sequelize.query(
        `INSERT IGNORE INTO post_word_prefixes (prefix, createdAt, postId) VALUES ${values.map(() => '(?, ?, ?)').join(', ')}`,
        { replacements: values.flat() },
      );
    after = rows[rows.length - 1].id;
    done += rows.length;
    if (total >= SHOW_PROGRESS_FROM && (done - shown >= total / 10 || done === total)) {
      shown = done;
      process.stdout.write(
        `  post_word_prefixes: ${done}/${total} posts (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
  }
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('post_word_prefixes');
}
