import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Market: listings of used pet goods, their photos, favourites, offers, trade reviews, the trade
 * rating per user, and the price-drop fan-outs in progress.
 *
 * - `listed` is 1 while a listing is neither deleted nor hidden by reports: search indexes start
 *   with it. `status` rides next, so the default `on_sale` search walks only what it shows.
 * - The sort indexes end in (id, lat, lng): a walk in sort order skips rows outside the search
 *   circle's box from the index alone (see src/infra/geo-sorted.ts).
 * - `favoriteCount` and `offerCount` are written in the transaction that adds the row they count.
 * - `searchText` holds title and description as search tokens (src/modules/search-text.ts).
 * - market_sellers is one lock row per seller: creating or reopening a listing locks it, so the
 *   count of on_sale listings is checked without a race.
 * - market_trade_ratings holds each user's (sum, count) of trade reviews, recomputed from the
 *   reviews in the transaction that adds one.
 * - market_price_drops: one row per price drop, with the last favouriting user already notified:
 *   the fan-out writes a batch and moves that cursor in one transaction, so it resumes after a crash
 *   without notifying anyone twice.
 * - chat_rooms gets the `listing` seam: one room per (listing, buyer), UNIQUE.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'market_listings',
    {
      id: id(),
      sellerId: fk('users'),
      title: { type: DataTypes.STRING(60), allowNull: false },
      description: { type: DataTypes.TEXT, allowNull: false },
      category: {
        type: DataTypes.ENUM('food', 'toys', 'clothes', 'furniture', 'health', 'other'),
        allowNull: false,
      },
      price: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      status: { type: DataTypes.ENUM('on_sale', 'reserved', 'sold'), allowNull: false, defaultValue: 'on_sale' },
      buyerId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      lat: { type: DataTypes.DECIMAL(9, 6), allowNull: false },
      lng: { type: DataTypes.DECIMAL(9, 6), allowNull: false },
      address: { type: DataTypes.STRING(200), allowNull: false },
      favoriteCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      offerCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      photoCount: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false, defaultValue: 0 },
      searchText: { type: DataTypes.TEXT('medium'), allowNull: false },
      listed: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 1 },
      geoVersion: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
      hiddenAt: { type: DataTypes.DATE(3), allowNull: true },
      deletedAt: { type: DataTypes.DATE(3), allowNull: true },
      soldAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('market_listings', {
    name: 'market_listings_recent',
    fields: ['listed', 'status', { name: 'createdAt', order: 'DESC' }, { name: 'id', order: 'DESC' }, 'lat', 'lng'],
  });
  await qi.addIndex('market_listings', {
    name: 'market_listings_price',
    fields: ['listed', 'status', 'price', 'id', 'lat', 'lng'],
  });
  await qi.addIndex('market_listings', ['sellerId', 'status', 'id'], { name: 'market_listings_seller' });
  await qi.addIndex('market_listings', ['buyerId'], { name: 'market_listings_buyer' });
  await qi.sequelize.query('ALTER TABLE market_listings ADD FULLTEXT INDEX market_listings_search (searchText)');

  await qi.createTable(
    'market_listing_photos',
    {
      id: id(),
      listingId: fk('market_listings'),
      url: { type: DataTypes.STRING(500), allowNull: false },
      thumbnailUrl: { type: DataTypes.STRING(500), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('market_listing_photos', ['listingId', 'id'], { name: 'market_listing_photos_listing' });

  await qi.createTable(
    'market_favorites',
    {
      listingId: { ...fk('market_listings'), primaryKey: true },
      userId: { ...fk('users'), primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('market_favorites', ['userId', 'createdAt', 'listingId'], { name: 'market_favorites_user' });

  await qi.createTable(
    'market_offers',
    {
      id: id(),
      listingId: fk('market_listings'),
      buyerId: fk('users'),
      price: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      message: { type: DataTypes.STRING(1000), allowNull: true },
      chatRoomId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('market_offers', ['listingId', 'id'], { name: 'market_offers_listing' });
  await qi.addIndex('market_offers', ['listingId', 'buyerId'], { name: 'market_offers_buyer' });

  await qi.createTable(
    'market_reviews',
    {
      id: id(),
      listingId: fk('market_listings'),
      authorId: fk('users'),
      subjectId: fk('users'),
      rating: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      comment: { type: DataTypes.STRING(1000), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );
  await qi.addIndex('market_reviews', ['listingId', 'authorId'], { unique: true, name: 'market_reviews_once' });
  await qi.addIndex('market_reviews', ['subjectId', 'id'], { name: 'market_reviews_subject' });

  await qi.createTable(
    'market_trade_ratings',
    {
      userId: { ...fk('users'), primaryKey: true },
      ratingSum: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      ratingCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );

  await qi.createTable(
    'market_sellers',
    { userId: { ...fk('users'), primaryKey: true }, createdAt: { type: DataTypes.DATE(3), allowNull: false } },
    tableOptions,
  );

  await qi.createTable(
    'market_price_drops',
    {
      id: id(),
      listingId: fk('market_listings'),
      oldPrice: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      newPrice: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      afterUserId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      notified: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      doneAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );

  await qi.addColumn('chat_rooms', 'listingId', { type: DataTypes.INTEGER.UNSIGNED, allowNull: true });
  await qi.addColumn('chat_rooms', 'listingBuyerId', { type: DataTypes.INTEGER.UNSIGNED, allowNull: true });
  await qi.addIndex('chat_rooms', ['listingId', 'listingBuyerId'], { unique: true, name: 'chat_rooms_listing' });
  // Both room types of v1.1 at once (`group` belongs to the groups feature): a later migration that
  // redefines the ENUM without one of them would break the other's inserts.
  await qi.sequelize.query(
    "ALTER TABLE chat_rooms MODIFY type ENUM('direct', 'reservation', 'meetup', 'post', 'listing', 'group') NOT NULL",
  );
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query("DELETE FROM chat_rooms WHERE type = 'listing'");
  await qi.sequelize.query(
    "ALTER TABLE chat_rooms MODIFY type ENUM('direct', 'reservation', 'meetup', 'post', 'group') NOT NULL",
  );
  await qi.removeIndex('chat_rooms', 'chat_rooms_listing');
  await qi.removeColumn('chat_rooms', 'listingBuyerId');
  await qi.removeColumn('chat_rooms', 'listingId');
  for (const table of [
    'market_price_drops',
    'market_sellers',
    'market_trade_ratings',
    'market_reviews',
    'market_offers',
    'market_favorites',
    'market_listing_photos',
    'market_listings',
  ])
    await qi.dropTable(table);
}
