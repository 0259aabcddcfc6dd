import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

export interface RefreshTokenRow {
  id: number;
  sessionId: number;
  userId: number;
  expiresAt: Date;
  usedAt: Date | null;
  sessionRevokedAt: Date | null;
}

export interface EmailTokenRow {
  id: number;
  userId: number;
  expiresAt: Date;
  usedAt: Date | null;
}

/** Logins (sessions), their refresh tokens and single-use e-mail tokens. */
export class AuthRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private async insert(sql: string, replacements: unknown[], t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(sql, { replacements, transaction: t, type: QueryTypes.INSERT });
    return Number(id);
  }

  createSession(userId: number, userAgent: string | null, now: Date, t: Transaction): Promise<number> {
    return this.insert(
      'INSERT INTO sessions (userId, userAgent, createdAt, updatedAt) VALUES (?, ?, ?, ?)',
      [userId, userAgent?.slice(0, 200) ?? null, now, now],
      t,
    );
  }

  createRefreshToken(
    sessionId: number,
    tokenHash: string,
    expiresAt: Date,
    now: Date,
    t: Transaction,
  ): Promise<number> {
    return this.insert(
      'INSERT INTO refresh_tokens (sessionId, tokenHash, expiresAt, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)',
      [sessionId, tokenHash, expiresAt, now, now],
      t,
    );
  }

  /** Locks the token row, so two concurrent refreshes with one token serialize (the second is a reuse). */
  async lockRefreshToken(tokenHash: string, t: Transaction): Promise<RefreshTokenRow | null> {
    const rows = await this.sequelize.query<RefreshTokenRow>(
      `SELECT rt.id, rt.sessionId, s.userId, rt.expiresAt, rt.usedAt, s.revokedAt AS sessionRevokedAt
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.sessionId
        WHERE rt.tokenHash = ? FOR UPDATE`,
      { replacements: [tokenHash], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  /** The token of a login spent most recently (the "immediately previous" one of the refresh grace). */
  async lastUsedRefreshTokenId(sessionId: number, t: Transaction): Promise<number | null> {
    const rows = await this.sequelize.query<{ id: number }>(
      `SELECT id FROM refresh_tokens WHERE sessionId = ? AND usedAt IS NOT NULL
        ORDER BY usedAt DESC, id DESC LIMIT 1`,
      { replacements: [sessionId], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0]?.id ?? null;
  }

  async markRefreshTokenUsed(id: number, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query('UPDATE refresh_tokens SET usedAt = ?, updatedAt = ? WHERE id = ?', {
      replacements: [now, now, id],
      transaction: t,
    });
  }

  /**
   * A SQL condition, true while the login is open: a route with `revocation: 'in-query'` puts it in
   * the statement it runs anyway (a constant subquery on the primary key, evaluated once). A missing
   * row (swept long after its revocation) or another user's login counts as closed.
   */
  static openLoginSql(caller: { id: number; sessionId: number }): { sql: string; replacements: unknown[] } {
    return {
      sql: 'EXISTS (SELECT 1 FROM sessions s WHERE s.id = ? AND s.userId = ? AND s.revokedAt IS NULL)',
      replacements: [caller.sessionId, caller.id],
    };
  }

  async isLoginOpen(caller: { id: number; sessionId: number }): Promise<boolean> {
    const open = AuthRepository.openLoginSql(caller);
    const rows = await this.sequelize.query<{ open: number }>(`SELECT ${open.sql} AS open`, {
      replacements: open.replacements,
      type: QueryTypes.SELECT,
    });
    return Number(rows[0]?.open) === 1;
  }

  async findSessionOwner(sessionId: number, t?: Transaction): Promise<number | null> {
    const rows = await this.sequelize.query<{ userId: number }>('SELECT userId FROM sessions WHERE id = ?', {
      replacements: [sessionId],
      transaction: t,
      type: QueryTypes.SELECT,
    });
    return rows[0]?.userId ?? null;
  }

  async revokeSession(sessionId: number, reason: string, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      'UPDATE sessions SET revokedAt = COALESCE(revokedAt, ?), revokeReason = COALESCE(revokeReason, ?), updatedAt = ? WHERE id = ?',
      { replacements: [now, reason, now, sessionId], transaction: t },
    );
  }

  /** Revokes every open login of a user; returns their ids (to deny-list and disconnect). */
  async revokeAllSessions(userId: number, reason: string, now: Date, t: Transaction): Promise<number[]> {
    const rows = await this.sequelize.query<{ id: number }>(
      'SELECT id FROM sessions WHERE userId = ? AND revokedAt IS NULL FOR UPDATE',
      { replacements: [userId], transaction: t, type: QueryTypes.SELECT },
    );
    if (rows.length) {
      await this.sequelize.query(
        'UPDATE sessions SET revokedAt = ?, revokeReason = ?, updatedAt = ? WHERE userId = ? AND revokedAt IS NULL',
        {
          replacements: [now, reason, now, userId],
          transaction: t,
        },
      );
    }
    return rows.map((r) => r.id);
  }

  createEmailToken(
    userId: number,
    purpose: EmailTokenPurpose,
    tokenHash: string,
    expiresAt: Date,
    now: Date,
    t: Transaction,
  ) {
    return this.insert(
      'INSERT INTO email_tokens (userId, purpose, tokenHash, expiresAt, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
      [userId, purpose, tokenHash, expiresAt, now, now],
      t,
    );
  }

  async lockEmailToken(tokenHash: string, purpose: EmailTokenPurpose, t: Transaction): Promise<EmailTokenRow | null> {
    const rows = await this.sequelize.query<EmailTokenRow>(
      'SELECT id, userId, expiresAt, usedAt FROM email_tokens WHERE tokenHash = ? AND purpose = ? FOR UPDATE',
      { replacements: [tokenHash, purpose], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  /** A token as the mail worker sees it (no lock: it only decides whether the mail is still worth sending). */
  async findEmailToken(id: number): Promise<EmailTokenRow | null> {
    const rows = await this.sequelize.query<EmailTokenRow>(
      'SELECT id, userId, expiresAt, usedAt FROM email_tokens WHERE id = ?',
      { replacements: [id], type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  /** A quick check without a lock; the spend re-checks under one. */
  async findUsableEmailToken(tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<EmailTokenRow | null> {
    const rows = await this.sequelize.query<EmailTokenRow>(
      `SELECT id, userId, expiresAt, usedAt FROM email_tokens
        WHERE tokenHash = ? AND purpose = ? AND usedAt IS NULL AND expiresAt > ?`,
      { replacements: [tokenHash, purpose, now], type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  /** Spends every outstanding token of that purpose: on use, and before a newer link is mailed. */
  async spendEmailTokens(userId: number, purpose: EmailTokenPurpose, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      'UPDATE email_tokens SET usedAt = ?, updatedAt = ? WHERE userId = ? AND purpose = ? AND usedAt IS NULL',
      {
        replacements: [now, now, userId, purpose],
        transaction: t,
      },
    );
  }
}
