import type { QueryInterface } from 'sequelize';

/**
 * The map view moved from a grouped MySQL read to points kept in memory per instance (a whole city
 * grouped in MySQL cost tens of milliseconds per request): its (active, lat, lng) index goes, and
 * `updatedAt` gets one, so that syncing the points before a map read is a range over the few rows
 * changed since the last sync.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.removeIndex('sitters', 'sitters_by_place');
  await qi.addIndex('sitters', ['updatedAt'], { name: 'sitters_by_update' });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.removeIndex('sitters', 'sitters_by_update');
  await qi.addIndex('sitters', ['active', 'lat', 'lng'], { name: 'sitters_by_place' });
}
