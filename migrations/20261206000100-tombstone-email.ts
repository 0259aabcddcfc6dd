import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * A deleted account keeps its row (reviews and messages point at it) but gives up its e-mail as NULL.
 * The old tombstone value `deleted-<id>@deleted.invalid` was a valid address signup accepted: anyone
 * could register it first and make that account's deletion fail on the UNIQUE key forever. NULLs
 * never collide and no signup can produce one.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.changeColumn('users', 'email', { type: DataTypes.STRING(254), allowNull: true });
  await qi.sequelize.query('UPDATE users SET email = NULL WHERE deletedAt IS NOT NULL');
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query(
    "UPDATE users SET email = CONCAT('deleted-', id, '@deleted.invalid') WHERE email IS NULL AND deletedAt IS NOT NULL",
  );
  await qi.changeColumn('users', 'email', { type: DataTypes.STRING(254), allowNull: false });
}
