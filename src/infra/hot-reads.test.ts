import { TestContext } from '../../test/helpers/context';
import { HotReads } from './hot-reads';

/**
 * The hot-reads pool answers plain and prepared SELECTs alike (dates in UTC to the millisecond,
 * numbers as numbers), and keeps at most a few prepared statements open per connection, however many
 * distinct statements it is given: the server's cap on them is shared by every client.
 */
let ctx: TestContext;
let reads: HotReads;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  reads = new HotReads(ctx.config.databaseUrl, 1);
});
afterAll(async () => {
  await reads.close();
  await ctx.close();
});

const at = new Date('2099-12-02T01:02:03.731Z');
const SQL = `SELECT CAST(? AS DATETIME(3)) AS at, ? + 1 AS n, CAST(? AS DECIMAL(9,6)) AS d, ? IS NULL AS none,
  DATE_FORMAT(CAST(? AS DATETIME(3)), '%Y-%m-%d %H:%i:%s.%f') AS text`;

describe('HotReads', () => {
  it('answers a prepared statement as it answers the same plain one', async () => {
    const values = [at, 41, '37.5665', null, at];
    const plain = await reads.rows(SQL, values);
    const prepared = await reads.prepared(SQL, values);
    expect(prepared).toEqual(plain);
    expect(prepared[0]).toMatchObject({ at, n: 42, none: 1, text: '2099-12-02 01:02:03.731000' });
    expect(Number((prepared[0] as { d: string }).d)).toBe(37.5665);
  });

  it('keeps at most PREPARED_PER_CONNECTION statements open on its connection', async () => {
    const open = async () => {
      const [row] = await reads.rows<{ n: string }>(
        "SELECT VARIABLE_VALUE AS n FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_CLOSE'",
        [],
      );
      return Number(row.n);
    };
    const closedBefore = await open();
    const distinct = HotReads.PREPARED_PER_CONNECTION + 10;
    for (let i = 0; i < distinct; i++)
      expect(await reads.prepared(`SELECT ${i} + ? AS v`, [1])).toEqual([{ v: i + 1 }]);
    // One connection (the pool holds one), so every eviction closed a statement on it.
    expect((await open()) - closedBefore).toBeGreaterThanOrEqual(10);
  });
});
