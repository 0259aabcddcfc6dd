import { DataTypes, Op, QueryTypes, type Model, type ModelStatic, type Sequelize, type Transaction } from 'sequelize';

export type Species = 'dog' | 'cat' | 'other';
export type PetSize = 'small' | 'medium' | 'large';

export interface PetRow {
  id: number;
  ownerId: number;
  name: string;
  species: Species;
  breed: string | null;
  size: PetSize;
  /** DATEONLY: `YYYY-MM-DD` as stored. */
  birthDate: string | null;
  notes: string | null;
  photoUrl: string | null;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type PetFields = Pick<PetRow, 'name' | 'species' | 'breed' | 'size' | 'birthDate' | 'notes'>;
type PetCreate = PetFields & Pick<PetRow, 'ownerId' | 'createdAt' | 'updatedAt'>;
type PetModel = Model<PetRow, PetCreate>;

/** The only code that knows the `pets` table. Soft-deleted rows are invisible to every read here. */
export class PetsRepository {
  private readonly Pet: ModelStatic<PetModel>;

  constructor(private readonly sequelize: Sequelize) {
    this.Pet = sequelize.define<PetModel>(
      'Pet',
      {
        id: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true, autoIncrement: true },
        ownerId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
        name: { type: DataTypes.STRING(40), allowNull: false },
        species: { type: DataTypes.ENUM('dog', 'cat', 'other'), allowNull: false },
        breed: { type: DataTypes.STRING(60), allowNull: true },
        size: { type: DataTypes.ENUM('small', 'medium', 'large'), allowNull: false },
        birthDate: { type: DataTypes.DATEONLY, allowNull: true },
        notes: { type: DataTypes.STRING(1000), allowNull: true },
        photoUrl: { type: DataTypes.STRING(500), allowNull: true },
        deletedAt: { type: DataTypes.DATE(3), allowNull: true },
        createdAt: { type: DataTypes.DATE(3), allowNull: false },
        updatedAt: { type: DataTypes.DATE(3), allowNull: false },
      },
      // Timestamps come from the injected clock (tests move time), not from Sequelize's `new Date()`.
      { tableName: 'pets', timestamps: false },
    );
  }

  async create(data: PetCreate, t: Transaction): Promise<PetRow> {
    const row = await this.Pet.create(data, { transaction: t });
    return (await this.findOwned(data.ownerId, row.get('id') as number, t))!;
  }

  async findOwned(ownerId: number, id: number, t?: Transaction, lock = false): Promise<PetRow | null> {
    const row = await this.Pet.findOne({
      where: { id, ownerId, deletedAt: null },
      transaction: t,
      lock: lock && t ? t.LOCK.UPDATE : undefined,
    });
    return row ? row.get({ plain: true }) : null;
  }

  async findOwnedMany(ownerId: number, ids: number[], t?: Transaction, lock = false): Promise<PetRow[]> {
    if (!ids.length) return [];
    const rows = await this.Pet.findAll({
      where: { id: { [Op.in]: ids }, ownerId, deletedAt: null },
      order: [['id', 'ASC']],
      transaction: t,
      lock: lock && t ? t.LOCK.UPDATE : undefined,
    });
    return rows.map((r) => r.get({ plain: true }));
  }

  /** One page in id order; asks for `limit + 1` so the caller knows whether another page exists. */
  async listOwned(ownerId: number, afterId: number, limit: number): Promise<PetRow[]> {
    const rows = await this.Pet.findAll({
      where: { ownerId, deletedAt: null, id: { [Op.gt]: afterId } },
      order: [['id', 'ASC']],
      limit: limit + 1,
    });
    return rows.map((r) => r.get({ plain: true }));
  }

  /** Locking count: run it after locking the owner's row, in the transaction that inserts. */
  async countActive(ownerId: number, t: Transaction): Promise<number> {
    const [row] = await this.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM pets WHERE ownerId = ? AND deletedAt IS NULL FOR UPDATE',
      { replacements: [ownerId], transaction: t, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Account deletion: soft-deletes the owner's live pets and forgets every photo (deleted pets' too,
   * which kept theirs for reservation history); returns the photo URLs so the caller removes the files.
   */
  async removeAllOf(ownerId: number, now: Date, t: Transaction): Promise<string[]> {
    const rows = await this.Pet.findAll({
      where: { ownerId, [Op.or]: [{ deletedAt: null }, { photoUrl: { [Op.ne]: null } }] },
      transaction: t,
      lock: t.LOCK.UPDATE,
    });
    if (!rows.length) return [];
    const photos = rows.map((r) => r.get('photoUrl') as string | null).filter((u): u is string => u !== null);
    await this.Pet.update({ photoUrl: null, updatedAt: now }, { where: { ownerId }, transaction: t });
    await this.Pet.update({ deletedAt: now }, { where: { ownerId, deletedAt: null }, transaction: t });
    return photos;
  }

  async update(
    id: number,
    changes: Partial<Omit<PetRow, 'id' | 'ownerId' | 'createdAt'>>,
    t: Transaction,
  ): Promise<void> {
    await this.Pet.update(changes, { where: { id }, transaction: t });
  }
}
