import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Community: posts, their tags and photos, comments (one level of replies), likes, and the daily
 * activity buckets behind the `popular` feed.
 *
 * - `listed` is 1 while a post is neither deleted nor hidden by reports: every feed index starts with
 *   it, so a list never reads a row it will throw away.
 * - `likeCount`, `commentCount` (live comments and replies) and `recentScore` (likes and comments of
 *   the last 7 days) are written in the transaction that changes the rows they count, under the
 *   post's row lock, so they are exact under any concurrency.
 * - `searchText` holds the title and body as search tokens (see community.search-text.ts) under a
 *   FULLTEXT index: stock InnoDB, no parser plugin.
 * - Likes are one row per (target, user): the PRIMARY KEY makes PUT idempotent. A like transaction
 *   holds the hot post row only from its counter UPDATE to its commit.
 * - post_activity has one row per post and day (SERVICE_TZ) with that day's likes and comments; a
 *   bucket leaving the 7-day window is subtracted from `recentScore` and deleted by the sweep.
 * - chat_rooms.closedAt: a deleted post's room keeps its history but takes no new messages.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'posts',
    {
      id: id(),
      authorId: fk('users'),
      kind: { type: DataTypes.ENUM('general', 'question', 'walk_route', 'open_chat'), allowNull: false },
      title: { type: DataTypes.STRING(100), allowNull: false },
      body: { type: DataTypes.TEXT, allowNull: false },
      tagsJson: { type: DataTypes.STRING(1000), allowNull: false, defaultValue: '[]' },
      lat: { type: DataTypes.DECIMAL(9, 6), allowNull: true },
      lng: { type: DataTypes.DECIMAL(9, 6), allowNull: true },
      address: { type: DataTypes.STRING(200), allowNull: true },
      likeCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      commentCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      recentScore: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      photoCount: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false, defaultValue: 0 },
      chatRoomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      searchText: { type: DataTypes.TEXT('medium'), allowNull: false },
      listed: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 1 },
      geoVersion: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
      hiddenAt: { type: DataTypes.DATE(3), allowNull: true },
      deletedAt: { type: DataTypes.DATE(3), allowNull: true },
      editedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('posts', ['listed', 'createdAt', 'id'], { name: 'posts_recent' });
  await qi.addIndex('posts', ['listed', 'recentScore', 'createdAt', 'id'], { name: 'posts_popular' });
  await qi.addIndex('posts', ['listed', 'kind', 'createdAt', 'id'], { name: 'posts_kind_recent' });
  await qi.addIndex('posts', ['authorId', 'listed', 'createdAt', 'id'], { name: 'posts_author_recent' });
  await qi.sequelize.query('ALTER TABLE posts ADD FULLTEXT INDEX posts_search (searchText)');

  await qi.createTable(
    'post_tags',
    {
      postId: { ...fk('posts'), primaryKey: true },
      tag: { type: DataTypes.STRING(20), allowNull: false, primaryKey: true },
      // A copy of the post's: the tag feed walks (tag, createdAt) without touching posts.
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('post_tags', ['tag', 'createdAt', 'postId'], { name: 'post_tags_recent' });

  await qi.createTable(
    'post_photos',
    {
      id: id(),
      postId: fk('posts'),
      url: { type: DataTypes.STRING(500), allowNull: false },
      thumbnailUrl: { type: DataTypes.STRING(500), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('post_photos', ['postId', 'id'], { name: 'post_photos_post' });

  await qi.createTable(
    'post_comments',
    {
      id: id(),
      postId: fk('posts'),
      parentId: fk('post_comments', 'CASCADE', true),
      authorId: fk('users'),
      body: { type: DataTypes.STRING(2000), allowNull: false },
      likeCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      replyCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      hiddenAt: { type: DataTypes.DATE(3), allowNull: true },
      deletedAt: { type: DataTypes.DATE(3), allowNull: true },
      editedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('post_comments', ['postId', 'parentId', 'id'], { name: 'post_comments_thread' });
  await qi.addIndex('post_comments', ['parentId', 'id'], { name: 'post_comments_replies' });

  await qi.createTable(
    'post_likes',
    {
      // No foreign key to posts: its check would take a shared lock on the post row that the counter
      // UPDATE then upgrades, and concurrent likers deadlock on the upgrade. The service checks the
      // post, and the counter UPDATE (WHERE not deleted) decides.
      postId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.createTable(
    'comment_likes',
    {
      commentId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );

  await qi.createTable(
    'post_activity',
    {
      postId: { ...fk('posts'), primaryKey: true },
      day: { type: DataTypes.DATEONLY, allowNull: false, primaryKey: true },
      score: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    tableOptions,
  );
  await qi.addIndex('post_activity', ['day'], { name: 'post_activity_day' });

  await qi.addColumn('chat_rooms', 'closedAt', { type: DataTypes.DATE(3), allowNull: true });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeColumn('chat_rooms', 'closedAt');
  for (const table of ['post_activity', 'comment_likes', 'post_likes', 'post_comments', 'post_photos', 'post_tags'])
    await qi.dropTable(table);
  await qi.dropTable('posts');
}
