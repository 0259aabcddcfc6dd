import { QueryTypes, type Transaction } from 'sequelize';
import { TestContext, type TestInstance } from '../../test/helpers/context';
import { ManualClock, systemClock } from './clock';
import { createLogger } from './logger';
import { Outbox, OutboxDispatcher } from './outbox';

// This file's own topics (the map is checked at compile time; see OutboxTopics).
declare module './outbox' {
  interface OutboxTopics {
    'test.pipe': { n: number };
    'test.plain': { n: number };
    'test.fast': { n: number };
    'test.count': { n: number };
    'test.poison': { n: number };
    'test.grouped': { n: number };
  }
}

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
    const dispatcher = new OutboxDispatcher(api.sequelize, api.scripts, systemClock, createLogger('silent'), 60_000);
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
    const outbox = new Outbox(api.sequelize, systemClock, dispatcher); // never started: the nudge does nothing
    await api.sequelize.transaction(async (t: Transaction) => {
      await outbox.addMany(t, 'test.pipe', [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      await outbox.add(t, 'test.plain', { n: 5 });
      await outbox.addMany(t, 'test.pipe', [{ n: 6 }]);
    });
    expect(await dispatcher.drain()).toBe(6);
    // The four pipelined rows were all called before any finished; the plain row waited for all four.
    expect(events.slice(0, 4)).toEqual(['call 1', 'call 2', 'call 3', 'call 4']);
    expect(events.indexOf('plain 5')).toBe(8);
    expect(events.slice(9)).toEqual(['call 6', 'done 6']);
    expect(await pending()).toEqual([{ payload: '{"n":3}', attempts: 1 }]);
  });

  it('gives a grouped topic every row of the claimed batch in one call, and after a failure each row alone', async () => {
    await api.sequelize.query('DELETE FROM outbox WHERE processedAt IS NULL'); // earlier tests' failed rows
    const calls: number[][] = [];
    let down = true;
    const dispatcher = new OutboxDispatcher(api.sequelize, api.scripts, systemClock, createLogger('silent'), 60_000);
    dispatcher.on('test.grouped', {
      grouped: true,
      handler: async (payloads: Array<{ n: number }>) => {
        calls.push(payloads.map((p) => p.n));
        if (down || payloads.some((p) => p.n === 2)) throw new Error('refused'); // 2 is poisoned
      },
    });
    dispatcher.on('test.plain', async () => undefined);
    const outbox = new Outbox(api.sequelize, systemClock, dispatcher);
    await api.sequelize.transaction(async (t: Transaction) => {
      await outbox.addMany(t, 'test.grouped', [{ n: 1 }, { n: 2 }]);
      await outbox.add(t, 'test.plain', { n: 3 });
      await outbox.addMany(t, 'test.grouped', [{ n: 4 }]);
    });
    // Down: one call for the three, then one each, all refused and due again after the backoff.
    expect(await dispatcher.drain()).toBe(4);
    expect(calls).toEqual([[1, 2, 4], [1], [2], [4]]);
    expect((await pending()).map((r) => [r.payload, r.attempts])).toEqual([
      ['{"n":1}', 1],
      ['{"n":2}', 1],
      ['{"n":4}', 1],
    ]);
    // Back: the group fails on the poisoned row alone, its neighbours are done.
    down = false;
    calls.length = 0;
    await api.sequelize.query('UPDATE outbox SET availableAt = NOW(3) WHERE processedAt IS NULL');
    expect(await dispatcher.drain()).toBe(3);
    expect(calls).toEqual([[1, 2, 4], [1], [2], [4]]);
    expect((await pending()).map((r) => [r.payload, r.attempts])).toEqual([['{"n":2}', 2]]);
  });

  it('carries a row out right after its transaction commits, without waiting for the poll', async () => {
    const dispatcher = new OutboxDispatcher(
      api.sequelize,
      api.scripts,
      systemClock,
      createLogger('silent'),
      60 * 60_000,
    );
    const outbox = new Outbox(api.sequelize, systemClock, dispatcher);
    const ran = new Promise<unknown>((resolve) => dispatcher.on('test.fast', async (p) => resolve(p)));
    dispatcher.start(); // its first poll is an hour away
    try {
      await dispatcher.drain(); // rows left by the test above are not this test's
      await api.sequelize.transaction((t) => outbox.add(t, 'test.fast', { n: 7 }));
      await expect(ran).resolves.toEqual({ n: 7 });
    } finally {
      await dispatcher.stop();
    }
  });

  it('nudges once per committed transaction, on the outermost one, and never for a rollback', async () => {
    let nudges = 0;
    const outbox = new Outbox(api.sequelize, systemClock, { nudge: () => nudges++ });
    await api.sequelize.transaction(async (t) => {
      await outbox.add(t, 'test.count', { n: 1 });
      await outbox.addMany(t, 'test.count', [{ n: 2 }, { n: 3 }]);
      await api.sequelize.transaction({ transaction: t }, (sp) => outbox.add(sp, 'test.count', { n: 4 }));
      expect(nudges).toBe(0); // the savepoint's end publishes nothing yet
    });
    expect(nudges).toBe(1);
    await expect(
      api.sequelize.transaction(async (t) => {
        await outbox.add(t, 'test.count', { n: 5 });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(nudges).toBe(1);
    const rows = await api.sequelize.query<{ payload: string }>(
      "SELECT payload FROM outbox WHERE topic = 'test.count' ORDER BY id",
      { type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => JSON.parse(r.payload).n)).toEqual([1, 2, 3, 4]);
  });

  it('marks a row dead after its last allowed attempt and never claims it again', async () => {
    const clock = new ManualClock('2026-12-06T09:00:00Z');
    const dispatcher = new OutboxDispatcher(api.sequelize, api.scripts, clock, createLogger('silent'), 60_000, 3);
    await dispatcher.drain(); // rows left by the tests above are not this test's
    let calls = 0;
    dispatcher.on('test.poison', async () => {
      calls++;
      throw new Error('always refused');
    });
    const outbox = new Outbox(api.sequelize, clock, dispatcher);
    await api.sequelize.transaction((t) => outbox.add(t, 'test.poison', { n: 1 }));
    for (let i = 0; i < 6; i++) {
      await dispatcher.drain();
      clock.advance(2 * 60_000); // past any backoff
    }
    expect(calls).toBe(3);
    const [row] = await api.sequelize.query<{ attempts: number; deadAt: Date | null; processedAt: Date | null }>(
      "SELECT attempts, deadAt, processedAt FROM outbox WHERE topic = 'test.poison'",
      { type: QueryTypes.SELECT },
    );
    expect(row).toMatchObject({ attempts: 3, processedAt: null });
    expect(row.deadAt).not.toBeNull();
    expect(await dispatcher.deadCount()).toBeGreaterThanOrEqual(1);
  });
});
