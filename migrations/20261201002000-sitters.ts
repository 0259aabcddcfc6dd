import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Sitter profiles, their unavailable days, photos and the reviews they receive.
 *
 * The four services and three pet sizes are fixed by the API contract, so they are columns rather
 * than child tables: the search filters them in the same single-table pass that checks the ids the
 * geo index returned. A NULL price means the service is not offered; `minPrice` is the lowest of
 * them, kept by the service, because "price" without a service means the lowest one.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  const price = () => ({ type: DataTypes.INTEGER.UNSIGNED, allowNull: true });
  const flag = () => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  await qi.createTable(
    'sitters',
    {
      id: id(),
      userId: { ...fk('users'), unique: true },
      headline: { type: DataTypes.STRING(80), allowNull: false },
      bio: { type: DataTypes.TEXT, allowNull: false },
      boardingPrice: price(),
      daycarePrice: price(),
      walkingPrice: price(),
      dropInPrice: price(),
      minPrice: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      acceptsSmall: flag(),
      acceptsMedium: flag(),
      acceptsLarge: flag(),
      maxPets: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      lat: { type: DataTypes.DOUBLE, allowNull: false },
      lng: { type: DataTypes.DOUBLE, allowNull: false },
      address: { type: DataTypes.STRING(200), allowNull: false },
      // Kept up to date by the reservations module when a review is written (NULL while none).
      rating: { type: DataTypes.DECIMAL(3, 2), allowNull: true },
      reviewCount: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
      // Bumped by every change the geo index must follow (under the row lock, so in commit order):
      // the index applies a change only if it is newer than the last one it applied.
      geoVersion: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      deactivatedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  // Reindex walks active sitters in id order.
  await qi.addIndex('sitters', ['active', 'id']);

  await qi.createTable(
    'sitter_unavailable_dates',
    {
      sitterId: { ...fk('sitters'), primaryKey: true },
      day: { type: DataTypes.DATEONLY, allowNull: false, primaryKey: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    tableOptions,
  );

  await qi.createTable(
    'sitter_photos',
    {
      id: id(),
      sitterId: fk('sitters'),
      url: { type: DataTypes.STRING(500), allowNull: false },
      thumbnailUrl: { type: DataTypes.STRING(500), allowNull: false },
      ...timestamps(),
    },
    tableOptions,
  );
  await qi.addIndex('sitter_photos', ['sitterId', 'id']);

  await qi.createTable(
    'reviews',
    {
      id: id(),
      // No foreign key yet: reservations come in a later migration, which may add it.
      reservationId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, unique: true },
      sitterId: fk('sitters'),
      authorId: fk('users'),
      rating: { type: DataTypes.TINYINT.UNSIGNED, allowNull: false },
      comment: { type: DataTypes.STRING(2000), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  // Newest-first listing per sitter, and the per-star GROUP BY of the rating summary.
  await qi.addIndex('reviews', ['sitterId', 'id']);
  await qi.addIndex('reviews', ['sitterId', 'rating']);
  // CHECK is enforced by MariaDB ≥ 10.2 and MySQL ≥ 8.0.16.
  await qi.sequelize.query('ALTER TABLE reviews ADD CONSTRAINT reviews_rating_range CHECK (rating BETWEEN 1 AND 5)');
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('reviews');
  await qi.dropTable('sitter_photos');
  await qi.dropTable('sitter_unavailable_dates');
  await qi.dropTable('sitters');
}
