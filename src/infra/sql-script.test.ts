import { QueryTypes, type Sequelize } from 'sequelize';
import { TestContext } from '../../test/helpers/context';
import { createSequelize } from './db';
import { ScriptedTransactions } from './sql-script';

/**
 * Scripted transactions (a packet of statements per round trip): all or nothing, whichever statement
 * of whichever packet fails, and the connection fit for the next transaction afterwards.
 */
let ctx: TestContext;
let scripts: ScriptedTransactions;
let db: Sequelize;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  db = createSequelize(ctx.config.databaseUrl, 1);
  await db.query('CREATE TABLE script_probe (id INT PRIMARY KEY, note VARCHAR(20) NOT NULL)');
  scripts = new ScriptedTransactions(ctx.config.databaseUrl, 1); // one connection: every test reuses it
});
afterAll(async () => {
  await scripts.close();
  await db.close();
  await ctx.close();
});
beforeEach(() => db.query('DELETE FROM script_probe'));

const ids = async () =>
  (await db.query<{ id: number }>('SELECT id FROM script_probe ORDER BY id', { type: QueryTypes.SELECT })).map(
    (r) => r.id,
  );
const insert = (id: number, note = 'n') => ({
  sql: 'INSERT INTO script_probe (id, note) VALUES (?, ?)',
  values: [id, note],
});

describe('ScriptedTransactions', () => {
  it('answers each statement of a packet in order and commits with the last one', async () => {
    const answers = await scripts.run(async (tx) => {
      const [header, rows] = await tx.send([insert(1), { sql: 'SELECT COUNT(*) AS n FROM script_probe' }]);
      const [second] = await tx.send([insert(2)], { commit: true });
      return { header, rows, second };
    });
    expect(answers.header).toMatchObject({ affectedRows: 1 });
    expect(answers.rows).toEqual([{ n: 1 }]);
    expect(answers.second).toMatchObject({ affectedRows: 1 });
    expect(await ids()).toEqual([1, 2]);
  });

  it('rolls back every packet when a statement of a later packet fails, and the connection serves the next one', async () => {
    await expect(
      scripts.run(async (tx) => {
        await tx.send([insert(1)]);
        await tx.send([insert(2), insert(1), insert(3)], { commit: true }); // the repeated key fails mid-packet
      }),
    ).rejects.toMatchObject({ errno: 1062 });
    expect(await ids()).toEqual([]);
    await scripts.run((tx) => tx.send([insert(4)], { commit: true }));
    expect(await ids()).toEqual([4]);
  });

  it('rolls back a transaction whose work throws, and refuses one that ends without a commit', async () => {
    await expect(
      scripts.run(async (tx) => {
        await tx.send([insert(1)]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(scripts.run((tx) => tx.send([insert(2)]))).rejects.toThrow('without a commit');
    expect(await ids()).toEqual([]);
  });

  it('runs its work again after a deadlock', async () => {
    let attempts = 0;
    await scripts.run(async (tx) => {
      attempts++;
      if (attempts === 1) throw Object.assign(new Error('Deadlock found'), { errno: 1213 });
      await tx.send([insert(5)], { commit: true });
    });
    expect(attempts).toBe(2);
    expect(await ids()).toEqual([5]);
  });
});
