import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, tableOptions } from './helpers';

/**
 * Badges (src/modules/badges): what each user earned, and the progress the rules keep.
 * - `user_badges`: UNIQUE(userId, code) makes every badge earned at most once per user, whatever
 *   runs concurrently.
 * - `badge_tallies`: one counter per user, metric and scope (a group id, or 0), incremented in the
 *   transaction of the event it counts; its row lock also serialises one user's badge checks.
 * - `badge_days`: the calendar days (SERVICE_TZ) on which a user did something a streak counts.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'user_badges',
    {
      id: id(),
      userId: fk('users'),
      code: { type: DataTypes.STRING(40), allowNull: false },
      earnedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('user_badges', ['userId', 'code'], { unique: true, name: 'user_badges_once' });

  await qi.createTable(
    'badge_tallies',
    {
      userId: { ...fk('users'), primaryKey: true },
      metric: { type: DataTypes.STRING(40), allowNull: false, primaryKey: true },
      scope: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, primaryKey: true },
      count: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
    },
    tableOptions,
  );

  await qi.createTable(
    'badge_days',
    {
      userId: { ...fk('users'), primaryKey: true },
      metric: { type: DataTypes.STRING(40), allowNull: false, primaryKey: true },
      day: { type: DataTypes.DATEONLY, allowNull: false, primaryKey: true },
    },
    tableOptions,
  );
}

export async function down({ context: qi }: { context: QueryInterface }) {
  for (const table of ['badge_days', 'badge_tallies', 'user_badges']) await qi.dropTable(table);
}
