import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * An optional caller-chosen key per notification (e.g. `chat:<messageId>`): a caller whose outbox row
 * runs twice after a crash notifies once. UNIQUE per recipient; NULLs (no key) never collide.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.addColumn('notifications', 'dedupeKey', { type: DataTypes.STRING(100), allowNull: true });
  await qi.addIndex('notifications', ['recipientId', 'dedupeKey'], {
    name: 'notifications_recipient_dedupe',
    unique: true,
  });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeIndex('notifications', 'notifications_recipient_dedupe');
  await qi.removeColumn('notifications', 'dedupeKey');
}
