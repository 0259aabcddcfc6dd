import { DataTypes, type QueryInterface } from 'sequelize';
import { id, fk, timestamps, tableOptions } from './helpers';

/**
 * Pets belong to their owner. Deleting a pet only sets `deletedAt`: reservations will reference
 * pets, and their history must keep showing what was booked.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.createTable(
    'pets',
    {
      id: id(),
      ownerId: fk('users'),
      name: { type: DataTypes.STRING(40), allowNull: false },
      species: { type: DataTypes.ENUM('dog', 'cat', 'other'), allowNull: false },
      breed: { type: DataTypes.STRING(60), allowNull: true },
      size: { type: DataTypes.ENUM('small', 'medium', 'large'), allowNull: false },
      birthDate: { type: DataTypes.DATEONLY, allowNull: true },
      notes: { type: DataTypes.STRING(1000), allowNull: true },
      photoUrl: { type: DataTypes.STRING(500), allowNull: true },
      deletedAt: { type: DataTypes.DATE(3), allowNull: true },
      ...timestamps(),
    },
    tableOptions,
  );
  // "My pets" pages (ownerId, deletedAt IS NULL, id > cursor) and the per-owner count.
  await qi.addIndex('pets', ['ownerId', 'deletedAt', 'id']);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.dropTable('pets');
}
