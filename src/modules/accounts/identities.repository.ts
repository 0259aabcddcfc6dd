import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected } from '../../infra/db';

export interface IdentityRow {
  id: number;
  userId: number;
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  createdAt: Date;
}

/** What the provider said about its account, as far as linking needs it (never its tokens). */
export interface IdentityClaims {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
}

const COLUMNS = 'id, userId, provider, subject, email, emailVerified, createdAt';

/** Provider accounts linked to Pawmate accounts (`user_identities`). */
export class IdentitiesRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async listByUser(userId: number, t?: Transaction): Promise<IdentityRow[]> {
    return this.sequelize.query<IdentityRow>(
      `SELECT ${COLUMNS} FROM user_identities WHERE userId = ? ORDER BY createdAt, id`,
      { replacements: [userId], transaction: t, type: QueryTypes.SELECT },
    );
  }

  async lockBySubject(provider: string, subject: string, t: Transaction): Promise<IdentityRow | null> {
    const rows = await this.sequelize.query<IdentityRow>(
      `SELECT ${COLUMNS} FROM user_identities WHERE provider = ? AND subject = ? FOR UPDATE`,
      { replacements: [provider, subject], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  async hasProvider(userId: number, provider: string, t: Transaction): Promise<boolean> {
    const rows = await this.sequelize.query<{ id: number }>(
      'SELECT id FROM user_identities WHERE userId = ? AND provider = ?',
      { replacements: [userId, provider], transaction: t, type: QueryTypes.SELECT },
    );
    return rows.length > 0;
  }

  /** Throws Sequelize's UniqueConstraintError when the provider account (or provider) is taken. */
  async insert(userId: number, c: IdentityClaims, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      `INSERT INTO user_identities (userId, provider, subject, email, emailVerified, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [userId, c.provider, c.subject, c.email, c.emailVerified, now, now],
        transaction: t,
        type: QueryTypes.INSERT,
      },
    );
  }

  /** Keeps the stored e-mail as the provider last asserted it (shown in the identities list). */
  async refreshEmail(id: number, email: string | null, emailVerified: boolean, now: Date, t: Transaction) {
    await this.sequelize.query('UPDATE user_identities SET email = ?, emailVerified = ?, updatedAt = ? WHERE id = ?', {
      replacements: [email, emailVerified, now, id],
      transaction: t,
    });
  }

  async remove(userId: number, provider: string, t: Transaction): Promise<boolean> {
    const sql = 'DELETE FROM user_identities WHERE userId = ? AND provider = ?';
    return (await execAffected(this.sequelize, sql, [userId, provider], t)) > 0;
  }

  async removeAll(userId: number, t: Transaction): Promise<void> {
    await this.sequelize.query('DELETE FROM user_identities WHERE userId = ?', {
      replacements: [userId],
      transaction: t,
    });
  }
}
