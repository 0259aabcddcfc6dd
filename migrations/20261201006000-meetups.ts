import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Meetups (issue 8): the meetup, its participants (attendance lives on the participant row), its tags
 * (a child table, so the nearby search filters a tag with an indexed EXISTS), host ratings and a
 * per-host rating summary.
 *
 * Capacity is guarded by `participantCount`, changed only by a guarded UPDATE
 * (`… WHERE participantCount < capacity`) in the same transaction as the participant row, whose
 * UNIQUE(meetupId, userId) makes a second join impossible.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  const flag = (dflt: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue: dflt });
  await qi.createTable(
    'meetups',
    {
      id: id(),
      hostId: fk('users', 'RESTRICT'),
      title: { type: DataTypes.STRING(80), allowNull: false },
      description: { type: DataTypes.TEXT, allowNull: false },
      lat: { type: DataTypes.DOUBLE, allowNull: false },
      lng: { type: DataTypes.DOUBLE, allowNull: false },
      address: { type: DataTypes.STRING(200), allowNull: false },
      startsAt: { type: DataTypes.DATE(3), allowNull: false },
      endsAt: { type: DataTypes.DATE(3), allowNull: false },
      capacity: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      participantCount: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false, defaultValue: 0 },
      // The tags as given, for display (the meetup_tags rows are the searchable copy).
      tagsJson: { type: DataTypes.TEXT, allowNull: false },
      petSmall: flag(true),
      petMedium: flag(true),
      petLarge: flag(true),
      status: { type: DataTypes.ENUM('scheduled', 'cancelled'), allowNull: false, defaultValue: 'scheduled' },
      cancelledAt: { type: DataTypes.DATE(3), allowNull: true },
      chatRoomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      // Whether the geo index should hold the meetup: cleared on cancel and by the sweep at start.
      geoIndexed: flag(true),
      // Bumped under the row lock by every change the geo index follows (see GeoIndex).
      geoVersion: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      // Due-at data for the reminder sweep; reset when the start time moves.
      reminderSentAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('meetups', ['hostId', 'startsAt']);
  await qi.addIndex('meetups', ['status', 'reminderSentAt', 'startsAt'], { name: 'meetups_reminder_due' });
  await qi.addIndex('meetups', ['geoIndexed', 'startsAt'], { name: 'meetups_geo_due' });

  await qi.createTable(
    'meetup_participants',
    {
      id: id(),
      meetupId: fk('meetups'),
      userId: fk('users', 'RESTRICT'),
      joinedAt: { type: DataTypes.DATE(3), allowNull: false },
      attendedAt: { type: DataTypes.DATE(3), allowNull: true },
    },
    tableOptions,
  );
  await qi.addIndex('meetup_participants', ['meetupId', 'userId'], { unique: true, name: 'meetup_participants_once' });
  await qi.addIndex('meetup_participants', ['userId', 'meetupId']);

  await qi.createTable(
    'meetup_tags',
    {
      meetupId: { ...fk('meetups'), primaryKey: true },
      tag: { type: DataTypes.STRING(20), allowNull: false, primaryKey: true },
    },
    tableOptions,
  );
  await qi.addIndex('meetup_tags', ['tag', 'meetupId']);

  await qi.createTable(
    'meetup_host_ratings',
    {
      id: id(),
      meetupId: fk('meetups'),
      hostId: fk('users', 'RESTRICT'),
      raterId: fk('users', 'RESTRICT'),
      rating: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('meetup_host_ratings', ['meetupId', 'raterId'], { unique: true, name: 'meetup_host_ratings_once' });
  await qi.addIndex('meetup_host_ratings', ['hostId']);

  // One row per host who has been rated: recomputed from the ratings under this row's lock.
  await qi.createTable(
    'meetup_host_stats',
    {
      userId: { ...fk('users'), primaryKey: true },
      ratingCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      ratingAvg: { type: DataTypes.DECIMAL(3, 2), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('meetup_host_stats');
  await qi.dropTable('meetup_host_ratings');
  await qi.dropTable('meetup_tags');
  await qi.dropTable('meetup_participants');
  await qi.dropTable('meetups');
}
