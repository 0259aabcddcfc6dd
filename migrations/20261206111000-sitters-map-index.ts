import type { QueryInterface } from 'sequelize';

/**
 * The map view (GET /sitters/map) reads the active sitters of a viewport as one latitude range and
 * groups them by grid cell: (active, lat, lng) lets that range skip everything outside the
 * viewport's latitudes and test longitudes without reading the rows that fail.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.addIndex('sitters', ['active', 'lat', 'lng'], { name: 'sitters_by_place' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeIndex('sitters', 'sitters_by_place');
}
