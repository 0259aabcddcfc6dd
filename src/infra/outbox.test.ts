import { QueryTypes, type Transaction } from 'sequelize';
import { TestContext, type TestInstance } from '../../test/helpers/context';
import { systemClock } from './clock';
import { createLogger } from './logger';
import { OutboxDispatcher, addManyToOutbox } from './outbox';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  await api.pawmate.outbox.stop(); // only the dispatcher under test carries rows out
});
afterAll(() => ctx.close());

const pending = async () =>
  api.sequelize.query<{ payload: string; attempts: number }>(
    'SELECT payload, attempts FROM outbox WHERE processedAt IS NULL ORDER BY id',
    { type: QueryTypes.SELECT },
  );

describe('outbox dispatcher', () => {
  it('issues pipelined handlers in id order without waiting for each, lets an ordinary handler wait for them, and keeps a failed row pending', async () => {
    const events: string[] = [];
    const dispatcher = new OutboxDispatcher(api.sequelize, systemClock, createLogger('silent'), 60_000);
    dispatcher.on('test.pipe', {
      pipelined: true,
      handler: async (p: { n: number }) => {
        events.push(`call ${p.n}`);
        await new Promise((r) => setTimeout(r, 20 - p.n)); // later rows finish first
        events.push(`done ${p.n}`);
        if (p.n === 3) throw new Error('refused');
      },
    });
    dispatcher.on('test.plain', async (p: { n: number }) => {
      events.push(`plain ${p.n}`);
    });
    await api.sequelize.transaction(async (t: Transaction) => {
      await addManyToOutbox(api.sequelize, t, systemClock, 'test.pipe', [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      await addManyToOutbox(api.sequelize, t, systemClock, 'test.plain', [{ n: 5 }]);
      await addManyToOutbox(api.sequelize, t, systemClock, 'test.pipe', [{ n: 6 }]);
    });
    expect(await dispatcher.drain()).toBe(6);
    // The four pipelined rows were all called before any finished; the plain row waited for all four.
    expect(events.slice(0, 4)).toEqual(['call 1', 'call 2', 'call 3', 'call 4']);
    expect(events.indexOf('plain 5')).toBe(8);
    expect(events.slice(9)).toEqual(['call 6', 'done 6']);
    expect(await pending()).toEqual([{ payload: '{"n":3}', attempts: 1 }]);
  });
});
