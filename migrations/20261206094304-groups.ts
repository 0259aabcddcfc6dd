import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Groups (family spaces): members with roles, e-mail invites, a calendar, a gallery with likes and
 * comments, and missions.
 *
 * - `memberCount` is written under the group's row lock by every join and leave, so the 50-member cap
 *   holds under concurrent accepts.
 * - An invite's `pendingEmail` holds its address while it is pending and NULL once it is answered or
 *   expired: UNIQUE(groupId, pendingEmail) allows one pending invite per address and group.
 * - Events carry `remindAt` (an hour before, or 09:00 the day before an all-day event) and
 *   `reminderSentAt`; the sweep claims due rows with SKIP LOCKED, so a reminder goes out once.
 * - Likes and completions are one row per (target, user): PRIMARY KEYs make them idempotent or 409.
 * - Everything hangs off `groups` with ON DELETE CASCADE: deleting a group is one DELETE once its
 *   files are scheduled for deletion.
 * - chat_rooms gets `groupId` (UNIQUE, like the other owners) and the `group` type. The ENUM is
 *   extended from what the table holds now, so another feature adding its own room type in a
 *   migration of its own keeps it.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'groups',
    {
      id: id(),
      name: { type: DataTypes.STRING(40), allowNull: false },
      description: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
      avatarUrl: { type: DataTypes.STRING(500), allowNull: true },
      ownerId: fk('users', 'RESTRICT'),
      memberCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      photoCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      chatRoomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('groups', ['ownerId'], { name: 'groups_owner' });

  await qi.createTable(
    'group_members',
    {
      id: id(),
      groupId: fk('groups'),
      userId: fk('users'),
      role: { type: DataTypes.ENUM('owner', 'admin', 'member'), allowNull: false },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('group_members', ['groupId', 'userId'], { unique: true, name: 'group_members_group_user' });
  await qi.addIndex('group_members', ['userId', 'groupId'], { name: 'group_members_user' });

  await qi.createTable(
    'group_invites',
    {
      id: id(),
      groupId: fk('groups'),
      invitedById: fk('users'),
      email: { type: DataTypes.STRING(254), allowNull: false },
      inviteeId: fk('users', 'CASCADE', true),
      status: { type: DataTypes.ENUM('pending', 'accepted', 'declined', 'expired'), allowNull: false },
      pendingEmail: { type: DataTypes.STRING(254), allowNull: true },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      respondedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('group_invites', ['groupId', 'pendingEmail'], { unique: true, name: 'group_invites_pending' });
  await qi.addIndex('group_invites', ['email', 'status'], { name: 'group_invites_email' });
  await qi.addIndex('group_invites', ['inviteeId', 'status'], { name: 'group_invites_invitee' });
  await qi.addIndex('group_invites', ['status', 'expiresAt'], { name: 'group_invites_due' });

  await qi.createTable(
    'group_events',
    {
      id: id(),
      groupId: fk('groups'),
      title: { type: DataTypes.STRING(100), allowNull: false },
      description: { type: DataTypes.STRING(2000), allowNull: false, defaultValue: '' },
      startsAt: { type: DataTypes.DATE(3), allowNull: false },
      endsAt: { type: DataTypes.DATE(3), allowNull: false },
      allDay: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      startDate: { type: DataTypes.DATEONLY, allowNull: true },
      endDate: { type: DataTypes.DATEONLY, allowNull: true },
      location: { type: DataTypes.STRING(200), allowNull: true },
      createdById: fk('users'),
      remindAt: { type: DataTypes.DATE(3), allowNull: false },
      reminderSentAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('group_events', ['groupId', 'startsAt', 'id'], { name: 'group_events_calendar' });
  await qi.addIndex('group_events', ['reminderSentAt', 'remindAt'], { name: 'group_events_due' });

  await qi.createTable(
    'group_photos',
    {
      id: id(),
      groupId: fk('groups'),
      authorId: fk('users'),
      url: { type: DataTypes.STRING(500), allowNull: false },
      thumbnailUrl: { type: DataTypes.STRING(500), allowNull: false },
      caption: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
      likeCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      commentCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      hiddenAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  // The gallery page walks (groupId, id) descending: counts are columns, no join per photo.
  await qi.addIndex('group_photos', ['groupId', 'id'], { name: 'group_photos_gallery' });

  await qi.createTable(
    'group_photo_likes',
    {
      photoId: { ...fk('group_photos'), primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );

  await qi.createTable(
    'group_photo_comments',
    {
      id: id(),
      photoId: fk('group_photos'),
      authorId: fk('users'),
      body: { type: DataTypes.STRING(2000), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('group_photo_comments', ['photoId', 'id'], { name: 'group_photo_comments_photo' });

  await qi.createTable(
    'group_missions',
    {
      id: id(),
      groupId: fk('groups'),
      title: { type: DataTypes.STRING(100), allowNull: false },
      dueDate: { type: DataTypes.DATEONLY, allowNull: true },
      forEveryone: { type: DataTypes.BOOLEAN, allowNull: false },
      status: { type: DataTypes.ENUM('open', 'done'), allowNull: false, defaultValue: 'open' },
      createdById: fk('users'),
      doneAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('group_missions', ['groupId', 'status', 'id'], { name: 'group_missions_list' });

  await qi.createTable(
    'group_mission_assignees',
    {
      missionId: { ...fk('group_missions'), primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
    },
    tableOptions,
  );
  await qi.createTable(
    'group_mission_completions',
    {
      missionId: { ...fk('group_missions'), primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
      completedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('group_mission_completions', ['userId', 'completedAt'], { name: 'group_mission_completions_user' });

  await qi.addColumn('chat_rooms', 'groupId', { type: DataTypes.INTEGER.UNSIGNED, allowNull: true });
  await qi.addIndex('chat_rooms', ['groupId'], { unique: true, name: 'chat_rooms_group' });
  await setRoomTypes(qi, (types) => (types.includes('group') ? types : [...types, 'group']));
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query("DELETE FROM chat_rooms WHERE type = 'group'");
  await setRoomTypes(qi, (types) => types.filter((t) => t !== 'group'));
  await qi.removeIndex('chat_rooms', 'chat_rooms_group');
  await qi.removeColumn('chat_rooms', 'groupId');
  for (const table of [
    'group_mission_completions',
    'group_mission_assignees',
    'group_missions',
    'group_photo_comments',
    'group_photo_likes',
    'group_photos',
    'group_events',
    'group_invites',
    'group_members',
    'groups',
  ])
    await qi.dropTable(table);
}

/** Rewrites chat_rooms.type from the values it has now (other features add theirs the same way). */
async function setRoomTypes(qi: QueryInterface, change: (types: string[]) => string[]): Promise<void> {
  const [row] = await qi.sequelize.query<{ t: string }>(
    `SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'chat_rooms' AND COLUMN_NAME = 'type'`,
    { type: QueryTypes.SELECT },
  );
  const types = [...row.t.matchAll(/'([^']*)'/g)].map((m) => m[1]);
  const next = change(types);
  await qi.sequelize.query(`ALTER TABLE chat_rooms MODIFY type ENUM(${next.map((t) => `'${t}'`).join(', ')}) NOT NULL`);
}
