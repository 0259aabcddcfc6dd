import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * Chat messages become reportable: `hiddenAt` is set while reports from enough distinct users keep
 * a message out of others' sight (until an operator decides), `removedAt` when an operator removed
 * it (its body is then emptied for good).
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.addColumn('chat_messages', 'hiddenAt', { type: DataTypes.DATE(3), allowNull: true });
  await qi.addColumn('chat_messages', 'removedAt', { type: DataTypes.DATE(3), allowNull: true });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeColumn('chat_messages', 'removedAt');
  await qi.removeColumn('chat_messages', 'hiddenAt');
}
