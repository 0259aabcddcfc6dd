import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import mysql from 'mysql2/promise';

export interface BenchUser {
  id: number;
  sessionId: number;
  token: string;
}

const INSERT_BATCH = 1000;

/**
 * `count` users with one login each, straight into MySQL: signing up 10 000 users through the API
 * (bcrypt, e-mail tokens, the outbox) would take longer than the benchmark and measure something
 * else. The access tokens are minted the way src/modules/auth/auth.tokens.ts does (HS256, sub, sid,
 * jti, iat, exp) with the secret the servers are given, so the servers cannot tell them apart.
 */
export async function bulkUsers(
  databaseUrl: string,
  jwtSecret: string,
  count: number,
  tag: string,
  ttlSec = 3600,
): Promise<BenchUser[]> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    // Unique per run and suite, so two suites (or two runs on a kept database) never collide on e-mail.
    const prefix = `${tag}.${process.pid}.${Date.now().toString(36)}.`;
    const now = new Date();
    for (let i = 0; i < count; i += INSERT_BATCH) {
      const rows: unknown[][] = [];
      for (let j = i; j < Math.min(count, i + INSERT_BATCH); j++) {
        // Not a usable password hash: nobody logs in with these accounts, they only hold tokens.
        rows.push([`${prefix}${j}@bench.example`, 'bench-no-login', `b${j}`.slice(0, 30), now, now]);
      }
      await conn.query('INSERT INTO users (email, passwordHash, nickname, createdAt, updatedAt) VALUES ?', [rows]);
    }
    const [users] = await conn.query('SELECT id FROM users WHERE email LIKE ? ORDER BY id', [`${prefix}%`]);
    const ids = (users as { id: number }[]).map((u) => Number(u.id));
    for (let i = 0; i < ids.length; i += INSERT_BATCH) {
      const rows = ids.slice(i, i + INSERT_BATCH).map((id) => [id, 'pawmate-bench', now, now]);
      await conn.query('INSERT INTO sessions (userId, userAgent, createdAt, updatedAt) VALUES ?', [rows]);
    }
    const [sessions] = await conn.query(
      'SELECT s.id, s.userId FROM sessions s JOIN users u ON u.id = s.userId WHERE u.email LIKE ? ORDER BY s.userId',
      [`${prefix}%`],
    );
    const iat = Math.floor(Date.now() / 1000);
    return (sessions as { id: number; userId: number }[]).map((s) => ({
      id: Number(s.userId),
      sessionId: Number(s.id),
      token: jwt.sign(
        { sub: String(s.userId), sid: Number(s.id), jti: randomUUID(), iat, exp: iat + ttlSec },
        jwtSecret,
        { algorithm: 'HS256' },
      ),
    }));
  } finally {
    await conn.end();
  }
}
