import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export interface SessionRow {
  id: number;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
}

export interface EmailChangeRow {
  id: number;
  userId: number;
  newEmail: string;
  expiresAt: Date;
  usedAt: Date | null;
}

/** Most logins a person sees in the list; older open ones still work and can be ended by password change. */
export const SESSIONS_LISTED = 100;

/**
 * Logins as their owner sees them, and pending e-mail changes. A login is open while it is not revoked
 * and its newest refresh token has not expired; "last used" is when its newest refresh token was
 * issued (sign-in or refresh), which is within one access-token lifetime of its last request.
 */
export class AccountsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async listOpenSessions(userId: number, now: Date): Promise<SessionRow[]> {
    return this.sequelize.query<SessionRow>(
      `SELECT s.id, s.userAgent, s.createdAt, MAX(rt.createdAt) AS lastUsedAt
         FROM sessions s JOIN refresh_tokens rt ON rt.sessionId = s.id
        WHERE s.userId = ? AND s.revokedAt IS NULL
        GROUP BY s.id, s.userAgent, s.createdAt
       HAVING MAX(rt.expiresAt) > ?
        ORDER BY lastUsedAt DESC, s.id DESC
        LIMIT ${SESSIONS_LISTED}`,
      { replacements: [userId, now], type: QueryTypes.SELECT },
    );
  }

  /** The caller's open login with that id, locked; null for anyone else's, a revoked or unknown one. */
  async lockOpenSession(userId: number, sessionId: number, t: Transaction): Promise<number | null> {
    const rows = await this.sequelize.query<{ id: number }>(
      'SELECT id FROM sessions WHERE id = ? AND userId = ? AND revokedAt IS NULL FOR UPDATE',
      { replacements: [sessionId, userId], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0]?.id ?? null;
  }

  /** Every open login of a user except one, locked (a password change ends the others). */
  async lockOtherOpenSessions(userId: number, exceptSessionId: number, t: Transaction): Promise<number[]> {
    const rows = await this.sequelize.query<{ id: number }>(
      'SELECT id FROM sessions WHERE userId = ? AND id <> ? AND revokedAt IS NULL FOR UPDATE',
      { replacements: [userId, exceptSessionId], transaction: t, type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.id);
  }

  async createEmailChange(
    userId: number,
    newEmail: string,
    tokenHash: string,
    expiresAt: Date,
    now: Date,
    t: Transaction,
  ): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO email_changes (userId, newEmail, tokenHash, expiresAt, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, ?, ?)`,
      { replacements: [userId, newEmail, tokenHash, expiresAt, now, now], transaction: t, type: QueryTypes.INSERT },
    );
    return Number(id);
  }

  async findEmailChange(id: number): Promise<EmailChangeRow | null> {
    const rows = await this.sequelize.query<EmailChangeRow>(
      'SELECT id, userId, newEmail, expiresAt, usedAt FROM email_changes WHERE id = ?',
      { replacements: [id], type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  async lockEmailChange(tokenHash: string, t: Transaction): Promise<EmailChangeRow | null> {
    const rows = await this.sequelize.query<EmailChangeRow>(
      'SELECT id, userId, newEmail, expiresAt, usedAt FROM email_changes WHERE tokenHash = ? FOR UPDATE',
      { replacements: [tokenHash], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  /** Spends every pending change of the user, so an older link cannot undo a newer change. */
  async spendEmailChanges(userId: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      'UPDATE email_changes SET usedAt = ?, updatedAt = ? WHERE userId = ? AND usedAt IS NULL',
      {
        replacements: [now, now, userId],
        transaction: t,
      },
    );
  }
}
