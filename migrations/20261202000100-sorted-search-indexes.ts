import type { QueryInterface } from 'sequelize';

/**
 * Indexes that the rating, price and start-time sorts walk when a search circle is dense (see
 * src/infra/geo-sorted.ts): the sort column, the id (the tie-break, so the walk is already in page
 * order), then lat and lng, which let the bounding box skip rows before they are read. The rating
 * index is descending (MariaDB ≥ 10.8), so highest-first with ties by ascending id is a forward scan.
 */
const SITTER_INDEXES: Array<[name: string, column: string, order: 'ASC' | 'DESC']> = [
  ['sitters_by_rating', 'rating', 'DESC'],
  ['sitters_by_min_price', 'minPrice', 'ASC'],
  ['sitters_by_boarding_price', 'boardingPrice', 'ASC'],
  ['sitters_by_daycare_price', 'daycarePrice', 'ASC'],
  ['sitters_by_walking_price', 'walkingPrice', 'ASC'],
  ['sitters_by_drop_in_price', 'dropInPrice', 'ASC'],
];

export async function up({ context: qi }: { context: QueryInterface }) {
  for (const [name, column, order] of SITTER_INDEXES) {
    await qi.addIndex('sitters', { name, fields: ['active', { name: column, order }, 'id', 'lat', 'lng'] });
  }
  await qi.addIndex('meetups', ['status', 'startsAt', 'id', 'lat', 'lng'], { name: 'meetups_by_start' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeIndex('meetups', 'meetups_by_start');
  for (const [name] of SITTER_INDEXES) await qi.removeIndex('sitters', name);
}
