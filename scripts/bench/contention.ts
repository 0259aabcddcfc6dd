import mysql from 'mysql2/promise';
import type { ChildProcess } from 'node:child_process';
import { forkReady, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { Api, percentile, pool } from './http-client';

const ACCEPTS = 200;

interface Scenario {
  name: string;
  sitters: number;
}

/**
 * Issue 5: 200 concurrent accepts, all on one sitter (maxPets 1, same days: exactly one may win) and
 * spread over 200 sitters (each may win), with the invariant checked in MySQL afterwards.
 */
export async function contentionBench(env: BenchEnv): Promise<{ markdown: string }> {
  const children: ChildProcess[] = [];
  const rows: (string | number)[][] = [];
  try {
    children.push(await forkReady('src/server.js', [], serverEnv(env, 4110)));
    const api = new Api('http://127.0.0.1:4110');
    const day = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
    for (const scenario of [
      { name: `${ACCEPTS} accepts on 1 sitter (maxPets 1)`, sitters: 1 },
      { name: `${ACCEPTS} accepts on ${ACCEPTS} sitters`, sitters: ACCEPTS },
    ] as Scenario[]) {
      process.stdout.write(`  setting up: ${scenario.name}\n`);
      const sitters = await pool(Array.from({ length: scenario.sitters }), 16, async (_x, i) => {
        const user = await api.signup(`sitter${i}`);
        const profile = await api.ok(
          'PUT',
          '/api/v1/sitters/me',
          {
            headline: 'Bench sitter',
            services: ['boarding'],
            prices: { boarding: 30000 },
            acceptedSizes: ['small'],
            maxPets: 1,
            location: { lat: 37.55 + i * 1e-4, lng: 126.92 },
            address: 'Seoul',
          },
          user.token,
        );
        return { token: user.token, sitterId: profile.id as number };
      });
      const requests = await pool(Array.from({ length: ACCEPTS }), 16, async (_x, i) => {
        const sitter = sitters[i % sitters.length];
        const owner = await api.signup(`owner${i}`);
        const pet = await api.ok('POST', '/api/v1/pets', { name: 'Bench', species: 'dog', size: 'small' }, owner.token);
        const r = await api.ok(
          'POST',
          '/api/v1/reservations',
          { sitterId: sitter.sitterId, service: 'boarding', petIds: [pet.id], startDate: day, endDate: day },
          owner.token,
        );
        return { id: r.id as number, token: sitter.token };
      });
      process.stdout.write(`  running: ${scenario.name}\n`);
      const started = performance.now();
      const results = await Promise.all(
        requests.map((r) => api.call('POST', `/api/v1/reservations/${r.id}/accept`, {}, r.token)),
      );
      const wall = performance.now() - started;
      const won = results.filter((r) => r.status === 200).length;
      const conflicts = results.filter((r) => r.status === 409).length;
      const other = results.length - won - conflicts;
      const overbooked = await overbookedDays(
        env.databaseUrl,
        sitters.map((s) => s.sitterId),
        day,
      );
      rows.push([
        scenario.name,
        Math.round((results.length / wall) * 1000),
        Math.round(
          percentile(
            results.map((r) => r.ms),
            50,
          ),
        ),
        Math.round(
          percentile(
            results.map((r) => r.ms),
            99,
          ),
        ),
        won,
        conflicts,
        other,
        overbooked === 0 ? '0 ✔' : `${overbooked} ✘`,
      ]);
      if (overbooked || other)
        throw new Error(`${scenario.name}: ${overbooked} overbooked days, ${other} unexpected answers`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
  return {
    markdown: table(['scenario', 'accepts/s', 'p50 ms', 'p99 ms', '200', '409', 'other', 'overbooked days'], rows),
  };
}

/** Sitters holding more accepted pets on `day` than maxPets, recomputed from the reservations themselves. */
async function overbookedDays(databaseUrl: string, sitterIds: number[], day: string): Promise<number> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [rows] = await conn.query(
      `SELECT r.sitterId, SUM(r.petCount) AS pets, MAX(s.maxPets) AS maxPets
         FROM reservations r JOIN sitters s ON s.id = r.sitterId
        WHERE r.status = 'accepted' AND r.sitterId IN (?) AND r.startDate <= ? AND r.endDate >= ?
        GROUP BY r.sitterId HAVING pets > maxPets`,
      [sitterIds, day, day],
    );
    return (rows as unknown[]).length;
  } finally {
    await conn.end();
  }
}
