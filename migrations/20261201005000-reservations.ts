import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Reservations, the per-day booked load of each sitter (capacity and the search's "full day"
 * filter), and idempotency keys for POST /reservations.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'reservations',
    {
      id: id(),
      ownerId: fk('users', 'RESTRICT'),
      sitterId: fk('sitters', 'RESTRICT'),
      // The sitter's account, fixed at booking: access checks and lists need no join.
      sitterUserId: fk('users', 'RESTRICT'),
      service: { type: DataTypes.ENUM('boarding', 'daycare', 'walking', 'drop_in'), allowNull: false },
      startDate: { type: DataTypes.DATEONLY, allowNull: false },
      endDate: { type: DataTypes.DATEONLY, allowNull: false },
      petCount: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      // The pets as they were when booked: the booking record must not change when a pet is edited.
      petsJson: { type: DataTypes.TEXT, allowNull: false },
      unitPrice: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      totalPrice: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      note: { type: DataTypes.STRING(1000), allowNull: true },
      status: { type: DataTypes.ENUM('requested', 'accepted', 'rejected', 'cancelled', 'completed'), allowNull: false },
      chatRoomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      cancelledBy: { type: DataTypes.ENUM('owner', 'sitter', 'system'), allowNull: true },
      cancelReason: { type: DataTypes.STRING(200), allowNull: true },
      // Due-at data for the sweeper: an unanswered request expires at this instant.
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      reminderSentAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('reservations', ['ownerId', 'id']);
  await qi.addIndex('reservations', ['sitterUserId', 'id']);
  await qi.addIndex('reservations', ['sitterId', 'status', 'startDate']);
  await qi.addIndex('reservations', ['status', 'expiresAt']);
  await qi.addIndex('reservations', ['status', 'endDate']);

  await qi.createTable(
    'sitter_booked_days',
    {
      sitterId: { ...fk('sitters'), primaryKey: true },
      day: { type: DataTypes.DATEONLY, allowNull: false, primaryKey: true },
      pets: { type: DataTypes.SMALLINT.UNSIGNED, allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('sitter_booked_days', ['day', 'sitterId']);

  await qi.createTable(
    'idempotency_keys',
    {
      id: id(),
      userId: fk('users'),
      scope: { type: DataTypes.STRING(40), allowNull: false },
      idemKey: { type: DataTypes.STRING(200), allowNull: false },
      requestHash: { type: DataTypes.CHAR(64), allowNull: false },
      responseStatus: { type: DataTypes.SMALLINT.UNSIGNED, allowNull: true },
      responseBody: { type: DataTypes.TEXT('long'), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('idempotency_keys', ['userId', 'scope', 'idemKey'], {
    unique: true,
    name: 'idempotency_keys_user_scope_key',
  });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('idempotency_keys');
  await qi.dropTable('sitter_booked_days');
  await qi.dropTable('reservations');
}
