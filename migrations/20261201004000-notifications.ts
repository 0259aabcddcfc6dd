import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, tableOptions } from './helpers';

/**
 * Notifications (API.md "Notifications"), per-user preferences, the per-recipient lock row that makes
 * a user's notification ids grow in commit order, and the chat e-mail digest state.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'notifications',
    {
      id: id(),
      recipientId: fk('users'),
      // Per-recipient sequence (1, 2, 3 …) written under the counter lock: a stream that sees seq N+2
      // before N+1 knows there is a gap and fetches it from MySQL instead of skipping it.
      seq: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      type: { type: DataTypes.STRING(40), allowNull: false },
      title: { type: DataTypes.STRING(200), allowNull: false },
      body: { type: DataTypes.TEXT, allowNull: false },
      // JSON as text: MariaDB's JSON is LONGTEXT anyway; the repository parses it.
      data: { type: DataTypes.TEXT('long'), allowNull: true },
      readAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  // "My unread, newest first" and the unread count.
  await qi.addIndex('notifications', ['recipientId', 'readAt', 'id'], { name: 'notifications_recipient_unread' });
  // "All of mine, newest first" and Last-Event-ID replay (id > N in id order).
  await qi.addIndex('notifications', ['recipientId', 'id'], { name: 'notifications_recipient_id' });
  // Gap filling by sequence; UNIQUE makes a second row with the same sequence impossible.
  await qi.addIndex('notifications', ['recipientId', 'seq'], { name: 'notifications_recipient_seq', unique: true });

  await qi.createTable(
    'notification_counters',
    {
      userId: { ...fk('users'), primaryKey: true },
      lastSeq: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
    },
    tableOptions,
  );

  await qi.createTable(
    'notification_preferences',
    {
      userId: { ...fk('users'), primaryKey: true },
      type: { type: DataTypes.STRING(40), allowNull: false, primaryKey: true },
      inApp: { type: DataTypes.BOOLEAN, allowNull: false },
      email: { type: DataTypes.BOOLEAN, allowNull: false },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );

  // At most one chat e-mail per (recipient, room) per window; `suppressed` counts the messages held back.
  await qi.createTable(
    'notification_email_digests',
    {
      userId: { ...fk('users'), primaryKey: true },
      roomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, primaryKey: true },
      lastSentAt: { type: DataTypes.DATE(3), allowNull: false },
      suppressed: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
    },
    tableOptions,
  );
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('notification_email_digests');
  await qi.dropTable('notification_preferences');
  await qi.dropTable('notification_counters');
  await qi.dropTable('notifications');
}
