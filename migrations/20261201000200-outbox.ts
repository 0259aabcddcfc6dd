import { DataTypes, type QueryInterface } from 'sequelize';
import { id, tableOptions } from './helpers';

/**
 * Side effects (mail, notifications, geo index, realtime fan-out) written in the same transaction as
 * the change that causes them, then carried out by the dispatcher: an outage delays them, never loses them.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'outbox',
    {
      id: id(),
      topic: { type: DataTypes.STRING(60), allowNull: false },
      payload: { type: DataTypes.TEXT('long'), allowNull: false },
      attempts: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      availableAt: { type: DataTypes.DATE(3), allowNull: false },
      processedAt: { type: DataTypes.DATE(3), allowNull: true },
      lastError: { type: DataTypes.STRING(500), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  // The dispatcher's claim query: pending rows that are due, oldest first.
  await qi.addIndex('outbox', ['processedAt', 'availableAt', 'id']);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('outbox');
}
