import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/** Users, logins (sessions = refresh-token families), refresh tokens and single-use e-mail tokens. */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'users',
    {
      id: id(),
      email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
      passwordHash: { type: DataTypes.STRING(100), allowNull: false },
      nickname: { type: DataTypes.STRING(30), allowNull: false },
      bio: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
      avatarUrl: { type: DataTypes.STRING(500), allowNull: true },
      emailVerifiedAt: { type: DataTypes.DATE(3), allowNull: true },
      isSitter: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      deletedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );

  await qi.createTable(
    'sessions',
    {
      id: id(),
      userId: fk('users'),
      userAgent: { type: DataTypes.STRING(200), allowNull: true },
      revokedAt: { type: DataTypes.DATE(3), allowNull: true },
      revokeReason: { type: DataTypes.STRING(40), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('sessions', ['userId', 'revokedAt']);

  await qi.createTable(
    'refresh_tokens',
    {
      id: id(),
      sessionId: fk('sessions'),
      tokenHash: { type: DataTypes.CHAR(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      usedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );

  await qi.createTable(
    'email_tokens',
    {
      id: id(),
      userId: fk('users'),
      purpose: { type: DataTypes.ENUM('verify_email', 'reset_password'), allowNull: false },
      tokenHash: { type: DataTypes.CHAR(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      usedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('email_tokens', ['userId', 'purpose']);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('email_tokens');
  await qi.dropTable('refresh_tokens');
  await qi.dropTable('sessions');
  await qi.dropTable('users');
}
