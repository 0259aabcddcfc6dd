import { QueryTypes } from 'sequelize';
import { type TestContext, type TestInstance, startContext } from '../../test/helpers/context';
import { execAffected, inTransaction } from './db';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  [ctx, api] = await startContext();
});
afterAll(() => ctx.close());

describe('raw queries', () => {
  const at = new Date('2099-12-02T01:02:03.731Z'); // far ahead: the outbox dispatcher leaves the test row alone
  const one = async (sql: string, replacements: unknown[] | Record<string, unknown>) =>
    (await api.sequelize.query<{ v: unknown }>(sql, { replacements, type: QueryTypes.SELECT }))[0].v;

  it('keep the milliseconds of Date replacements, positional, named and in lists', async () => {
    expect(await one('SELECT DATE_FORMAT(CAST(? AS DATETIME(3)), "%Y-%m-%d %H:%i:%s.%f") AS v', [at])).toBe(
      '2099-12-02 01:02:03.731000',
    );
    expect(await one('SELECT DATE_FORMAT(CAST(:at AS DATETIME(3)), "%f") AS v', { at })).toBe('731000');
    expect(
      Number(
        await one(
          "SELECT COUNT(*) AS v FROM (SELECT CAST('2099-12-02 01:02:03.731' AS DATETIME(3)) AS t) x WHERE x.t IN (?)",
          [[at, new Date(0)]],
        ),
      ),
    ).toBe(1);
  });

  it('store and read back a DATETIME(3) to the millisecond', async () => {
    await api.sequelize.query(
      "INSERT INTO outbox (topic, payload, availableAt, createdAt) VALUES ('test.ms', '{}', ?, ?)",
      { replacements: [at, at] },
    );
    const [row] = await api.sequelize.query<{ availableAt: Date }>(
      "SELECT availableAt FROM outbox WHERE topic = 'test.ms'",
      { type: QueryTypes.SELECT },
    );
    expect(new Date(row.availableAt).toISOString()).toBe(at.toISOString());
  });

  it('count the rows a write changed, whatever the statement starts with', async () => {
    const write = (sql: string) =>
      inTransaction(api.sequelize, (t) => execAffected(api.sequelize, sql, ['test.affected', at, at], t));
    const insert = "INSERT INTO outbox (topic, payload, availableAt, createdAt) VALUES (?, '{}', ?, ?)";
    expect(await write(insert)).toBe(1);
    expect(await write(insert.replace('INSERT INTO', 'INSERT IGNORE INTO'))).toBe(1);
    expect(await write(`${insert} ON DUPLICATE KEY UPDATE id = id`)).toBe(1);
    expect(
      await inTransaction(api.sequelize, (t) =>
        execAffected(api.sequelize, "DELETE FROM outbox WHERE topic = 'test.affected'", [], t),
      ),
    ).toBe(3);
  });
});
