import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, tableOptions } from './helpers';

/**
 * Voice messages of a group: one stored AAC-in-MP4 file each. Rows cascade with their group; the
 * files are deleted through the outbox by the group's deletion (`group.deleted`) and by a message's
 * own deletion. `durationMs` is measured on the stored file, not taken from the upload.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'group_voice_messages',
    {
      id: id(),
      groupId: fk('groups'),
      authorId: fk('users'),
      url: { type: DataTypes.STRING(500), allowNull: false },
      durationMs: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      bytes: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      title: { type: DataTypes.STRING(100), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  // The list walks (groupId, id) descending.
  await qi.addIndex('group_voice_messages', ['groupId', 'id'], { name: 'group_voice_messages_list' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('group_voice_messages');
}
