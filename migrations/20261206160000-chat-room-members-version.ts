import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * `chat_rooms.membersVersion` counts member removals, bumped in the removing transaction under the
 * room's row lock. A chat batch reads membership before it locks its rooms (one round trip fewer
 * under the locks); comparing the version it read with the locked row's tells it whether a removal
 * committed in between, and only then does it read membership again (so a removed member's send can
 * never be stored after the removal). MariaDB adds the column instantly.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.addColumn('chat_rooms', 'membersVersion', {
    type: DataTypes.INTEGER.UNSIGNED,
    allowNull: false,
    defaultValue: 0,
  });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeColumn('chat_rooms', 'membersVersion');
}
