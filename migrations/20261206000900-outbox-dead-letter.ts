import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * A row whose handler keeps failing is retried a bounded number of times, then set aside as dead
 * (kept for inspection, never claimed again) instead of being retried forever. The claim index
 * gains the column so dead rows drop out of the range the dispatcher scans.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.addColumn('outbox', 'deadAt', { type: DataTypes.DATE(3), allowNull: true });
  await qi.addIndex('outbox', ['processedAt', 'deadAt', 'availableAt', 'id'], { name: 'outbox_claim' });
  await qi.removeIndex('outbox', ['processedAt', 'availableAt', 'id']);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.addIndex('outbox', ['processedAt', 'availableAt', 'id']);
  await qi.removeIndex('outbox', 'outbox_claim');
  await qi.removeColumn('outbox', 'deadAt');
}
