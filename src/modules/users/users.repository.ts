import { DataTypes, Op, QueryTypes, type Model, type ModelStatic, type Sequelize, type Transaction } from 'sequelize';
import type { HotReads } from '../../infra/hot-reads';
import type { ScriptedRead } from '../../infra/sql-script';

export interface UserRow {
  id: number;
  /** Null for an account made from a provider that gave no (verified, free) e-mail. */
  email: string | null;
  /** Null for an account that signs in only with providers. */
  passwordHash: string | null;
  nickname: string;
  bio: string;
  avatarUrl: string | null;
  emailVerifiedAt: Date | null;
  isSitter: boolean;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a message to an account needs: where to send it and how to greet. */
export type UserContact = Pick<UserRow, 'id' | 'email' | 'nickname'>;

const ACTIVE_CONTACTS_SQL = 'SELECT id, email, nickname FROM users WHERE id IN (?) AND deletedAt IS NULL';
const toContacts = (rows: UserContact[]): UserContact[] =>
  rows.map((r) => ({ id: Number(r.id), email: r.email, nickname: r.nickname }));

/** The columns of a UserRow, each prefixed by `as` (a table alias with its dot, or ''). */
const userColumns = (as: string) =>
  [
    'id',
    'email',
    'passwordHash',
    'nickname',
    'bio',
    'avatarUrl',
    'emailVerifiedAt',
    'isSitter',
    'deletedAt',
    'createdAt',
    'updatedAt',
  ]
    .map((c) => `${as}${c}`)
    .join(', ');
const USER_COLUMNS = userColumns('');

/** What the login of a request says about its caller: revoked (or gone), the account gone, or the row. */
export type LoginAndUser = { login: 'revoked' } | { login: 'open'; user: UserRow | null };

type UserCreate = Pick<UserRow, 'email' | 'passwordHash' | 'nickname'> & { emailVerifiedAt?: Date | null };
type UserModel = Model<UserRow, UserCreate>;

/** The only code that knows the `users` table. */
export class UsersRepository {
  private readonly User: ModelStatic<UserModel>;

  constructor(private readonly sequelize: Sequelize) {
    this.User = sequelize.define<UserModel>(
      'User',
      {
        id: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true, autoIncrement: true },
        // NULL on a deleted account (its tombstone) and on one made from a provider that gave none.
        email: { type: DataTypes.STRING(254), allowNull: true },
        // NULL on an account that signs in only with providers.
        passwordHash: { type: DataTypes.STRING(100), allowNull: true },
        nickname: { type: DataTypes.STRING(30), allowNull: false },
        bio: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
        avatarUrl: { type: DataTypes.STRING(500), allowNull: true },
        emailVerifiedAt: { type: DataTypes.DATE(3), allowNull: true },
        isSitter: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        deletedAt: { type: DataTypes.DATE(3), allowNull: true },
        createdAt: DataTypes.DATE(3),
        updatedAt: DataTypes.DATE(3),
      },
      { tableName: 'users' },
    );
  }

  async create(data: UserCreate, t: Transaction): Promise<UserRow> {
    const row = await this.User.create(data, { transaction: t });
    // Reload so defaults the database filled in (nulls, bio, flags) come back as stored.
    return (await this.findActiveById(row.get('id') as number, t))!;
  }

  /**
   * Plain SQL: this runs on every authenticated request, and Sequelize's model layer (query building,
   * instance plumbing) cost more than the query itself.
   */
  async findActiveById(id: number, t?: Transaction, lock = false): Promise<UserRow | null> {
    const rows = await this.sequelize.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE id = ? AND deletedAt IS NULL${lock && t ? ' FOR UPDATE' : ''}`,
      { replacements: [id], transaction: t, type: QueryTypes.SELECT },
    );
    return rows[0] ?? null;
  }

  async findActiveByIds(ids: number[], t?: Transaction): Promise<UserRow[]> {
    if (!ids.length) return [];
    const rows = await this.User.findAll({ where: { id: { [Op.in]: ids }, deletedAt: null }, transaction: t });
    return rows.map((r) => r.get({ plain: true }));
  }

  /**
   * Id, e-mail and nickname of the active accounts among `ids`, as plain rows: a broadcast reads
   * thousands per transaction, and a model instance per row costs more CPU than the query.
   */
  async findActiveContacts(ids: number[], t?: Transaction): Promise<UserContact[]> {
    if (!ids.length) return [];
    const rows = await this.sequelize.query<UserContact>(ACTIVE_CONTACTS_SQL, {
      replacements: [ids],
      transaction: t,
      type: QueryTypes.SELECT,
    });
    return toContacts(rows);
  }

  /** findActiveContacts as a statement of a scripted transaction (src/infra/sql-script.ts); `ids` not empty. */
  activeContactsRead(ids: number[]): ScriptedRead<UserContact[]> {
    if (!ids.length) throw new Error('activeContactsRead: no ids');
    return {
      statement: { sql: ACTIVE_CONTACTS_SQL, values: [ids] },
      parse: (rows) => toContacts(rows as UserContact[]),
    };
  }

  async findActiveByEmail(email: string, t?: Transaction, lock = false): Promise<UserRow | null> {
    const row = await this.User.findOne({ where: { email, deletedAt: null }, transaction: t, lock: lock && !!t });
    return row ? row.get({ plain: true }) : null;
  }

  /**
   * Turns the account into a tombstone: personal data cleared, the e-mail released as NULL (a value no
   * signup can take, so nobody can squat it and block the deletion), the password unusable.
   */
  async tombstone(id: number, unusablePasswordHash: string, now: Date, t: Transaction): Promise<void> {
    await this.sequelize.query(
      `UPDATE users SET deletedAt = ?, email = NULL, passwordHash = ?, nickname = 'Deleted user', bio = '',
              avatarUrl = NULL, updatedAt = ?
        WHERE id = ?`,
      { replacements: [now, unusablePasswordHash, now, id], transaction: t },
    );
  }

  async emailExists(email: string, t?: Transaction): Promise<boolean> {
    return (await this.User.count({ where: { email }, transaction: t })) > 0;
  }

  async nicknameExists(nickname: string, t?: Transaction): Promise<boolean> {
    return (await this.User.count({ where: { nickname, deletedAt: null }, transaction: t })) > 0;
  }

  async update(id: number, changes: Partial<Omit<UserRow, 'id' | 'createdAt'>>, t?: Transaction): Promise<void> {
    await this.User.update(changes, { where: { id }, transaction: t });
  }
}

/**
 * The caller's own row and the state of their login, read together on the hot pool in one round trip
 * (GET /users/me): the login check that would otherwise be a Redis read before the handler. A login
 * row that is missing (swept long after its revocation) or belongs to someone else counts as revoked.
 *
 * This stands in for the Redis deny-list only because every revocation revokes a whole login
 * (`sessions.revokedAt`, in the revoking transaction); the deny-list's per-token entry (`revokeJti`)
 * is only ever written together with its login's. A feature that revokes one access token alone must
 * also be checked here, or this route would still accept that token.
 */
export class SelfReads {
  private static readonly SQL = `SELECT s.revokedAt IS NULL AS loginOpen, ${userColumns('u.')}
      FROM sessions s LEFT JOIN users u ON u.id = s.userId AND u.deletedAt IS NULL
     WHERE s.id = ? AND s.userId = ?`;

  constructor(private readonly db: HotReads) {}

  async loginAndUser(userId: number, sessionId: number): Promise<LoginAndUser> {
    type Row = Omit<UserRow, 'id' | 'isSitter'> & { loginOpen: 0 | 1; id: number | null; isSitter: 0 | 1 };
    const [row] = await this.db.rows<Row>(SelfReads.SQL, [sessionId, userId]);
    if (!row || row.loginOpen !== 1) return { login: 'revoked' };
    if (row.id === null) return { login: 'open', user: null };
    const { loginOpen: _open, ...user } = row;
    return { login: 'open', user: { ...user, id: row.id, isSitter: row.isSitter === 1 } };
  }
}
