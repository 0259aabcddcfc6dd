import mysql from 'mysql2/promise';
import { TAG_VOCABULARY } from '../../src/modules/meetups/meetups.schemas';

const EARTH_M = 6372797.56;
const HOUR_MS = 3600 * 1000;
/** The earliest seeded start: far enough that no reminder (1 h before) or start happens during a run. */
const FIRST_START_MS = 2 * HOUR_MS;
const SPAN_MS = 14 * 24 * HOUR_MS;
const BATCH = 2000;

/** Deterministic pseudo-random numbers (mulberry32): every run seeds the same city. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A point uniformly distributed over a disk of `radiusKm` around `center` (sqrt for uniform area). */
export function randomPoint(center: { lat: number; lng: number }, radiusKm: number, rand: () => number) {
  const r = (radiusKm * 1000 * Math.sqrt(rand())) / EARTH_M;
  const theta = 2 * Math.PI * rand();
  const lat = center.lat + (r * Math.cos(theta) * 180) / Math.PI;
  const lng = center.lng + (r * Math.sin(theta) * 180) / Math.PI / Math.cos((center.lat * Math.PI) / 180);
  return { lat, lng };
}

/**
 * Bulk-inserts `count` scheduled, upcoming meetups (start 2 h … 14 days from now, 1–3 h long) hosted
 * by `hostIds`, uniformly within `radiusKm` of `center`, with 1–3 vocabulary tags each (so a given tag
 * matches roughly a quarter of them) and a random capacity/participantCount (about a third full).
 * Search reads only the meetup, tag and host rows, so no participant rows are written: the counter is
 * what `hasFreePlaces` filters on. Multi-row INSERTs with explicit ids, a few seconds for 50k.
 */
export async function seedMeetups(
  databaseUrl: string,
  count: number,
  hostIds: number[],
  center: { lat: number; lng: number },
  radiusKm = 15,
  log: (m: string) => void = (m) => void process.stdout.write(m),
): Promise<void> {
  if (!hostIds.length) throw new Error('seedMeetups needs at least one host');
  const conn = await mysql.createConnection({ uri: databaseUrl });
  const rand = seeded(8);
  const now = Date.now();
  try {
    const [[{ base }]] = (await conn.query('SELECT COALESCE(MAX(id), 0) AS base FROM meetups')) as unknown as [
      [{ base: number }],
    ];
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const meetups: unknown[][] = [];
      const tags: unknown[][] = [];
      for (let i = 0; i < n; i++) {
        const id = Number(base) + done + i + 1;
        const p = randomPoint(center, radiusKm, rand);
        const startsAt = new Date(now + FIRST_START_MS + Math.floor(rand() * SPAN_MS));
        const endsAt = new Date(startsAt.getTime() + (1 + Math.floor(rand() * 3)) * HOUR_MS);
        const capacity = 2 + Math.floor(rand() * 99);
        const participantCount = rand() < 0.33 ? capacity : 1 + Math.floor(rand() * (capacity - 1));
        const mine = new Set<string>();
        const wanted = 1 + Math.floor(rand() * 3);
        while (mine.size < wanted) mine.add(TAG_VOCABULARY[Math.floor(rand() * TAG_VOCABULARY.length)]);
        for (const tag of mine) tags.push([id, tag]);
        const created = new Date(now);
        meetups.push([
          id,
          hostIds[(done + i) % hostIds.length],
          `Bench meetup ${id}`,
          '',
          p.lat,
          p.lng,
          'Seoul',
          startsAt,
          endsAt,
          capacity,
          participantCount,
          JSON.stringify([...mine]),
          rand() < 0.9 ? 1 : 0,
          rand() < 0.8 ? 1 : 0,
          rand() < 0.6 ? 1 : 0,
          'scheduled',
          null,
          null,
          1,
          1,
          null,
          created,
          created,
        ]);
      }
      await conn.query(
        `INSERT INTO meetups (id, hostId, title, description, lat, lng, address, startsAt, endsAt, capacity, participantCount,
           tagsJson, petSmall, petMedium, petLarge, status, cancelledAt, chatRoomId, geoIndexed, geoVersion, reminderSentAt,
           createdAt, updatedAt) VALUES ?`,
        [meetups],
      );
      await conn.query('INSERT INTO meetup_tags (meetupId, tag) VALUES ?', [tags]);
      log(`\r  seeded ${Math.min(done + n, count)}/${count} meetups`);
    }
    log('\n');
  } finally {
    await conn.end();
  }
}
