import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, tableOptions } from './helpers';

/**
 * Safety: blocks and reports.
 *
 * - user_blocks: one row per (blocker, blocked); a block works both ways, so lookups go through the
 *   primary key and its mirror index.
 * - report_cases: one per reported thing (UNIQUE target), with the number of distinct reporters and
 *   the operator's decision. report_cases.hiddenAt is set when the fifth reporter arrives.
 * - reports: one per reporter and case (UNIQUE), so a repeat report counts once.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'user_blocks',
    {
      blockerId: { ...fk('users'), primaryKey: true },
      blockedId: { ...fk('users'), primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('user_blocks', ['blockedId', 'blockerId'], { name: 'user_blocks_mirror' });

  await qi.createTable(
    'report_cases',
    {
      id: id(),
      targetType: {
        type: DataTypes.ENUM('post', 'comment', 'listing', 'user', 'message', 'photo'),
        allowNull: false,
      },
      targetId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      reporterCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      status: { type: DataTypes.ENUM('open', 'kept', 'removed'), allowNull: false, defaultValue: 'open' },
      hiddenAt: { type: DataTypes.DATE(3), allowNull: true },
      resolvedAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('report_cases', ['targetType', 'targetId'], { unique: true, name: 'report_cases_target' });
  await qi.addIndex('report_cases', ['status', 'reporterCount'], { name: 'report_cases_queue' });

  await qi.createTable(
    'reports',
    {
      id: id(),
      caseId: fk('report_cases'),
      reporterId: fk('users'),
      reason: { type: DataTypes.ENUM('spam', 'abuse', 'scam', 'other'), allowNull: false },
      detail: { type: DataTypes.STRING(1000), allowNull: false, defaultValue: '' },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('reports', ['caseId', 'reporterId'], { unique: true, name: 'reports_once' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('reports');
  await qi.dropTable('report_cases');
  await qi.dropTable('user_blocks');
}
