import bcrypt from 'bcrypt';
import { QueryTypes, type QueryInterface } from 'sequelize';

/** Demo accounts for the quick start. Password for all: pawmate-demo. */
export const DEMO_PASSWORD = 'pawmate-demo';
export const DEMO_USERS = [
  { email: 'demo@pawmate.dev', nickname: 'Demo Owner', bio: 'Two corgis and a cat in Mapo-gu.' },
  { email: 'sitter@pawmate.dev', nickname: 'Jiwoo the Sitter', bio: 'Dog walker near Hangang park.' },
  { email: 'neighbour@pawmate.dev', nickname: 'Minseo', bio: 'Looking for walking buddies.' },
];

export async function up({ context: qi }: { context: QueryInterface }) {
  const cost = Number(process.env.BCRYPT_COST ?? 10);
  const hash = await bcrypt.hash(DEMO_PASSWORD, cost);
  const now = new Date();
  for (const u of DEMO_USERS) {
    const existing = await qi.sequelize.query('SELECT id FROM users WHERE email = ?', {
      replacements: [u.email],
      type: QueryTypes.SELECT,
    });
    if (existing.length) continue;
    await qi.bulkInsert('users', [
      { ...u, passwordHash: hash, emailVerifiedAt: now, isSitter: false, createdAt: now, updatedAt: now },
    ]);
  }
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.bulkDelete('users', { email: DEMO_USERS.map((u) => u.email) });
}
