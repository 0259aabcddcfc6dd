import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { execAffected, selectRows } from './db';

/** The raw-SQL calls a repository makes, bound to its Sequelize (one class per module's tables). */
export abstract class SqlRepository {
  constructor(protected readonly sequelize: Sequelize) {}

  protected select<T extends object>(sql: string, replacements: unknown[], t?: Transaction): Promise<T[]> {
    return selectRows<T>(this.sequelize, sql, replacements, t);
  }

  protected exec(sql: string, replacements: unknown[], t?: Transaction): Promise<number> {
    return execAffected(this.sequelize, sql, replacements, t);
  }

  /** A raw INSERT inside `t`; answers the new row's id. */
  protected async insertId(sql: string, replacements: unknown[], t: Transaction): Promise<number> {
    const [id] = await this.sequelize.query(sql, { replacements, transaction: t, type: QueryTypes.INSERT });
    return Number(id);
  }
}
