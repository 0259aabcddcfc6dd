import mysql from 'mysql2/promise';

export const SEOUL = { lat: 37.5665, lng: 126.978 };
const EARTH_M = 6372797.56;

/** A point uniformly distributed over a disk of `radiusKm` around `center`. */
function randomPoint(center: { lat: number; lng: number }, radiusKm: number, rand: () => number) {
  const r = (radiusKm * 1000 * Math.sqrt(rand())) / EARTH_M;
  const theta = 2 * Math.PI * rand();
  const lat = center.lat + (r * Math.cos(theta) * 180) / Math.PI;
  const lng = center.lng + (r * Math.sin(theta) * 180) / Math.PI / Math.cos((center.lat * Math.PI) / 180);
  return { lat, lng };
}

/** Deterministic pseudo-random numbers (mulberry32), so every run seeds the same city. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bulk-inserts `count` users and active sitters around Seoul with multi-row INSERTs (a few seconds
 * for 100k), printing progress. Prices 10k–60k KRW; about 70 % offer walking.
 */
export async function seedSitters(
  databaseUrl: string,
  count: number,
  radiusKm = 15,
  log = (m: string) => process.stdout.write(m),
) {
  const conn = await mysql.createConnection({ uri: databaseUrl, multipleStatements: false });
  const rand = seeded(42);
  const now = new Date();
  const BATCH = 2000;
  try {
    const [[row]] = (await conn.query('SELECT COALESCE(MAX(id), 0) AS base FROM users')) as unknown as [
      [{ base: number | string }],
    ];
    // MAX() may come back as a string: adding to it would concatenate.
    const base = Number(row.base);
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const users: unknown[][] = [];
      const sitters: unknown[][] = [];
      for (let i = 0; i < n; i++) {
        const uid = base + done + i + 1;
        users.push([uid, `bench-sitter-${uid}@bench.example`, '!bench', `Sitter ${uid}`, '', now, now, 1, now, now]);
        const p = randomPoint(SEOUL, radiusKm, rand);
        const price = () => 10_000 + Math.floor(rand() * 50) * 1000;
        const prices = {
          boarding: rand() < 0.5 ? price() : null,
          daycare: rand() < 0.5 ? price() : null,
          walking: rand() < 0.7 ? price() : null,
          dropIn: rand() < 0.4 ? price() : null,
        };
        if (Object.values(prices).every((v) => v === null)) prices.walking = price();
        const minPrice = Math.min(...Object.values(prices).filter((v): v is number => v !== null));
        sitters.push([
          uid,
          'Bench sitter',
          '',
          prices.boarding,
          prices.daycare,
          prices.walking,
          prices.dropIn,
          minPrice,
          rand() < 0.8 ? 1 : 0,
          rand() < 0.6 ? 1 : 0,
          rand() < 0.3 ? 1 : 0,
          1 + Math.floor(rand() * 4),
          p.lat,
          p.lng,
          'Seoul',
          rand() < 0.7 ? (3 + rand() * 2).toFixed(2) : null,
          0,
          1,
          1,
          now,
          now,
        ]);
      }
      await conn.query(
        'INSERT INTO users (id, email, passwordHash, nickname, bio, emailVerifiedAt, createdAt, isSitter, updatedAt, `deletedAt`) VALUES ?',
        [users.map((u) => [...u.slice(0, 7), u[7], u[8], null])],
      );
      await conn.query(
        `INSERT INTO sitters (userId, headline, bio, boardingPrice, daycarePrice, walkingPrice, dropInPrice, minPrice,
           acceptsSmall, acceptsMedium, acceptsLarge, maxPets, lat, lng, address, rating, reviewCount, active, geoVersion, createdAt, updatedAt) VALUES ?`,
        [sitters],
      );
      log(`\r  seeded ${Math.min(done + n, count)}/${count} sitters`);
    }
    log('\n');
    // The MySQL-only baseline deserves an index to range-scan.
    await conn.query('CREATE INDEX sitters_lat_lng_bench ON sitters (lat, lng)').catch(() => undefined);
  } finally {
    await conn.end();
  }
}
