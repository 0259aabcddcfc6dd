import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Chat: rooms, their members (with a read pointer) and messages.
 *
 * - A direct room is unique per unordered pair: (userLowId, userHighId) is UNIQUE and only direct
 *   rooms set it, so concurrent get-or-creates end with one room (NULLs never collide).
 * - reservationId / meetupId / postId are UNIQUE seams without foreign keys: those tables land with
 *   their own features, which create the room inside their own transaction.
 * - lastMessageId / lastActivityAt are written while the room row is locked (every insert of a
 *   message takes that lock), so the room list needs no per-room MAX() query.
 * - UNIQUE(roomId, senderId, clientId) makes sending idempotent; clientId is compared byte-wise
 *   (ascii_bin), since `abc` and `ABC` are different retries.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'chat_rooms',
    {
      id: id(),
      type: { type: DataTypes.ENUM('direct', 'reservation', 'meetup', 'post'), allowNull: false },
      userLowId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      userHighId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      reservationId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      meetupId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      postId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      lastMessageId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      lastActivityAt: { type: DataTypes.DATE(3), allowNull: false },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('chat_rooms', ['userLowId', 'userHighId'], { unique: true, name: 'chat_rooms_direct_pair' });
  await qi.addIndex('chat_rooms', ['reservationId'], { unique: true, name: 'chat_rooms_reservation' });
  await qi.addIndex('chat_rooms', ['meetupId'], { unique: true, name: 'chat_rooms_meetup' });
  await qi.addIndex('chat_rooms', ['postId'], { unique: true, name: 'chat_rooms_post' });

  await qi.createTable(
    'chat_members',
    {
      id: id(),
      roomId: fk('chat_rooms'),
      userId: fk('users'),
      lastReadMessageId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('chat_members', ['roomId', 'userId'], { unique: true, name: 'chat_members_room_user' });
  // "My rooms" starts from the member rows of one user.
  await qi.addIndex('chat_members', ['userId', 'roomId'], { name: 'chat_members_user_room' });

  await qi.createTable(
    'chat_messages',
    {
      id: id(),
      roomId: fk('chat_rooms'),
      senderId: fk('users'),
      body: { type: DataTypes.STRING(2000), allowNull: false },
      clientId: { type: 'VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin', allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('chat_messages', ['roomId', 'senderId', 'clientId'], {
    unique: true,
    name: 'chat_messages_idempotency',
  });
  // History pages (before/after an id) and unread counts are range scans on this index.
  await qi.addIndex('chat_messages', ['roomId', 'id'], { name: 'chat_messages_room_id' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('chat_messages');
  await qi.dropTable('chat_members');
  await qi.dropTable('chat_rooms');
}
