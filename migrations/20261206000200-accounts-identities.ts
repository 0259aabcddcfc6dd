import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Accounts II: sign-in with providers and e-mail change.
 * - An account made from a provider may have no password (and no e-mail: that column is already
 *   nullable for tombstones; UNIQUE(email) holds, as MySQL allows many NULLs in a unique index).
 * - `user_identities`: one row per provider account linked to a Pawmate account. UNIQUE(provider,
 *   subject) makes one provider account belong to one Pawmate account; UNIQUE(userId, provider) keeps
 *   one identity per provider per account (the routes address identities by provider).
 * - `email_changes`: single-use links that confirm a new address, kept apart from `email_tokens`
 *   because they carry the address being confirmed.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.changeColumn('users', 'passwordHash', { type: DataTypes.STRING(100), allowNull: true });

  await qi.createTable(
    'user_identities',
    {
      id: id(),
      userId: fk('users'),
      provider: { type: DataTypes.STRING(40), allowNull: false },
      subject: { type: DataTypes.STRING(255), allowNull: false },
      email: { type: DataTypes.STRING(254), allowNull: true },
      emailVerified: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('user_identities', ['provider', 'subject'], { unique: true, name: 'identities_provider_subject' });
  await qi.addIndex('user_identities', ['userId', 'provider'], { unique: true, name: 'identities_user_provider' });

  await qi.createTable(
    'email_changes',
    {
      id: id(),
      userId: fk('users'),
      newEmail: { type: DataTypes.STRING(254), allowNull: false },
      tokenHash: { type: DataTypes.CHAR(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      usedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('email_changes', ['userId']);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('email_changes');
  await qi.dropTable('user_identities');
  // Password-less accounts cannot go back to the old shape; they get a hash nothing matches.
  await qi.sequelize.query("UPDATE users SET passwordHash = CONCAT('!none:', id) WHERE passwordHash IS NULL");
  await qi.changeColumn('users', 'passwordHash', { type: DataTypes.STRING(100), allowNull: false });
}
