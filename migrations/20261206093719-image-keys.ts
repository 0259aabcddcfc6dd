import type { QueryInterface } from 'sequelize';

/**
 * Image columns used to hold absolute URLs (`http://host/uploads/avatars/12/….webp`, or the bucket's
 * URL), fixed at upload time: a new PUBLIC_URL, bucket host or CDN left old images pointing at the old
 * base. They now hold storage keys, turned into URLs as answers are written (src/http/image-urls.ts).
 * This rewrites stored URLs to their keys, wherever the base was: the key is the tail starting at one
 * of the folders uploads were ever written under. URLs from elsewhere are left as they are (and are
 * answered as they are). The column names stay (`avatarUrl`, `url`, …): they are what clients read.
 *
 * Down is a no-op: the base the URLs had is not known here, and the new code reads both forms.
 */
const FOLDERS = ['avatars', 'pets', 'sitters', 'posts'];
const KEY_TAIL = new RegExp(
  `/((?:${FOLDERS.join('|')})(?:/[a-z0-9][a-z0-9-]{0,39})*/[a-f0-9]{32}(?:-[a-z0-9]{1,20})?\\.[a-z0-9]{2,5})$`,
);

/** The storage key at the end of an absolute URL this app produced, or null. */
export function keyOfStoredUrl(value: string | null): string | null {
  if (!value || !/^https?:\/\//.test(value)) return null;
  return KEY_TAIL.exec(value)?.[1] ?? null;
}

const COLUMNS: Array<[table: string, column: string]> = [
  ['users', 'avatarUrl'],
  ['pets', 'photoUrl'],
  ['sitter_photos', 'url'],
  ['sitter_photos', 'thumbnailUrl'],
  ['post_photos', 'url'],
  ['post_photos', 'thumbnailUrl'],
];

type Row = { id: number; value: string };

export async function up({ context: qi }: { context: QueryInterface }) {
  const db = qi.sequelize;
  for (const [table, column] of COLUMNS) {
    const [rows] = (await db.query(
      `SELECT id, \`${column}\` AS value FROM \`${table}\` WHERE \`${column}\` LIKE 'http%'`,
    )) as [Row[], unknown];
    for (const row of rows) {
      const key = keyOfStoredUrl(row.value);
      if (key)
        await db.query(`UPDATE \`${table}\` SET \`${column}\` = ? WHERE id = ?`, { replacements: [key, row.id] });
    }
  }
  // Reservations keep a snapshot of the booked pets, photo URL included.
  const [snapshots] = (await db.query(
    `SELECT id, petsJson AS value FROM reservations WHERE petsJson LIKE '%"photoUrl":"http%'`,
  )) as [Row[], unknown];
  for (const row of snapshots) {
    const pets = JSON.parse(row.value) as Array<{ photoUrl?: string | null }>;
    for (const pet of pets) pet.photoUrl = keyOfStoredUrl(pet.photoUrl ?? null) ?? pet.photoUrl ?? null;
    await db.query('UPDATE reservations SET petsJson = ? WHERE id = ?', {
      replacements: [JSON.stringify(pets), row.id],
    });
  }
}

export async function down() {}
