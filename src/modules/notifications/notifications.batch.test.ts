import { QueryTypes } from 'sequelize';
import { bearer, signup, startContext, type TestContext, type TestInstance } from '../../../test/helpers/context';
import { Outbox } from '../../infra/outbox';
import { ScriptedTransactions } from '../../infra/sql-script';
import {
  ScriptedNotificationBatch,
  TOPIC_NOTIFICATIONS_CREATED,
  type PreparedNotification,
} from './notifications.batch';
import { NotificationsRepository, type StoredNotification } from './notifications.repository';

/**
 * A standalone batch written as four round trips on the scripted pool must store exactly what the
 * Sequelize path stores: the same rows, numbers, live events and locks.
 */
let ctx: TestContext;
let api: TestInstance;
let scripts: ScriptedTransactions;
let batch: ScriptedNotificationBatch;

beforeAll(async () => {
  [ctx, api] = await startContext();
  scripts = new ScriptedTransactions(ctx.config.databaseUrl, 3);
  const repo = new NotificationsRepository(api.sequelize);
  batch = new ScriptedNotificationBatch(
    scripts,
    repo,
    api.pawmate.services.users,
    new Outbox(api.sequelize, ctx.clock, api.pawmate.outbox),
    ctx.clock,
  );
});
afterAll(async () => {
  await scripts.close();
  await ctx.close();
});

const note = (recipientId: number, title: string, type: PreparedNotification['type'] = 'comment.new') => ({
  recipientId,
  type,
  title,
  body: '',
  data: { title } as Record<string, unknown>,
  dedupeKey: null,
});

async function rowsOf(ids: number[]) {
  return api.sequelize.query<{ id: number; recipientId: number; seq: number; title: string; data: string }>(
    'SELECT id, recipientId, seq, title, data FROM notifications WHERE recipientId IN (?) ORDER BY recipientId, seq',
    { replacements: [ids], type: QueryTypes.SELECT },
  );
}

async function countersOf(ids: number[]): Promise<Record<number, number>> {
  const rows = await api.sequelize.query<{ userId: number; lastSeq: number }>(
    'SELECT userId, lastSeq FROM notification_counters WHERE userId IN (?)',
    { replacements: [ids], type: QueryTypes.SELECT },
  );
  return Object.fromEntries(rows.map((r) => [r.userId, Number(r.lastSeq)]));
}

/** The created-batch outbox rows whose notifications went to any of these recipients. */
async function liveEventsOf(ids: number[]): Promise<StoredNotification[]> {
  const rows = await api.sequelize.query<{ payload: string }>('SELECT payload FROM outbox WHERE topic = ?', {
    replacements: [TOPIC_NOTIFICATIONS_CREATED],
    type: QueryTypes.SELECT,
  });
  return rows.flatMap((r) => JSON.parse(r.payload) as StoredNotification[]).filter((s) => ids.includes(s.recipientId));
}

describe('a standalone notification batch on the scripted pool', () => {
  it('stores per-recipient order after earlier rows, skips deleted accounts and in-app off, and writes the live events', async () => {
    const [u, v, gone, quiet] = [await signup(api), await signup(api), await signup(api), await signup(api)];
    await api.http.delete('/api/v1/users/me').set(bearer(gone.accessToken)).expect(204);
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(quiet.accessToken))
      .send({ preferences: { 'comment.new': { inApp: false } } })
      .expect(200);
    await batch.write([note(u.user.id, 'before')]); // u's counter already moved
    const out = await batch.write([
      note(v.user.id, 'v1'),
      note(u.user.id, 'u1'),
      note(gone.user.id, 'gone'),
      note(quiet.user.id, 'quiet'),
      note(u.user.id, 'u2 it\'s \\ "quoted" 🐕'),
      note(v.user.id, 'v2'),
    ]);
    expect(out).not.toBeNull();
    expect(out!.map((n) => n?.title ?? null)).toEqual(['v1', 'u1', null, null, 'u2 it\'s \\ "quoted" 🐕', 'v2']);

    const ids = [u.user.id, v.user.id, gone.user.id, quiet.user.id];
    const rows = await rowsOf(ids);
    const of = (id: number) => rows.filter((r) => r.recipientId === id);
    expect(of(u.user.id).map((r) => [r.seq, r.title])).toEqual([
      [1, 'before'],
      [2, 'u1'],
      [3, 'u2 it\'s \\ "quoted" 🐕'],
    ]);
    expect(of(v.user.id).map((r) => [r.seq, r.title])).toEqual([
      [1, 'v1'],
      [2, 'v2'],
    ]);
    expect(of(gone.user.id).length + of(quiet.user.id).length).toBe(0);
    // Ids grow with the seqs, and what the batch answered is what was stored.
    for (const id of [u.user.id, v.user.id]) {
      expect(of(id).map((r) => r.id)).toEqual([...of(id).map((r) => r.id)].sort((x, y) => x - y));
    }
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    for (const n of out!.filter((x) => x !== null)) {
      expect(byId.get(n.id)?.title).toBe(n.title);
      expect(JSON.parse(byId.get(n.id)!.data)).toEqual(n.data);
    }
    // Every live recipient was locked, as on the Sequelize path: the quiet one with nothing reserved.
    expect(await countersOf(ids)).toEqual({ [u.user.id]: 3, [v.user.id]: 2, [quiet.user.id]: 0 });
    // One live event per stored row, with its recipient and seq.
    const events = await liveEventsOf(ids);
    expect(events.map((e) => [e.recipientId, e.seq, e.notification.title]).sort()).toEqual(
      rows.map((r) => [r.recipientId, r.seq, r.title]).sort(),
    );
  });

  it('writes nothing and answers null when a recipient is to be mailed; the service then mails through Sequelize', async () => {
    const [u, mailed] = [await signup(api), await signup(api)];
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(mailed.accessToken))
      .send({ preferences: { 'comment.new': { email: true } } })
      .expect(200);
    const mailsBefore = await mailRows();
    expect(await batch.write([note(u.user.id, 'a'), note(mailed.user.id, 'b')])).toBeNull();
    expect(await rowsOf([u.user.id, mailed.user.id])).toEqual([]);
    expect(await countersOf([u.user.id, mailed.user.id])).toEqual({});

    const out = await api.pawmate.services.notifications.notifyMany([
      { recipientId: u.user.id, type: 'comment.new', title: 'a' },
      { recipientId: mailed.user.id, type: 'comment.new', title: 'b' },
    ]);
    expect(out.map((n) => n?.title)).toEqual(['a', 'b']);
    expect((await rowsOf([u.user.id, mailed.user.id])).map((r) => r.title)).toEqual(['a', 'b']);
    expect((await mailRows()) - mailsBefore).toBe(1);
  });

  it('keeps every recipient’s numbers gapless and unique under concurrent batches and single notifications', async () => {
    const users = [await signup(api), await signup(api), await signup(api)].map((s) => s.user.id);
    const service = api.pawmate.services.notifications;
    const work: Array<Promise<unknown>> = [];
    const singles = new Map(users.map((id) => [id, 0]));
    for (let k = 0; k < 12; k++) {
      // Overlapping recipients in both orders: the locks are taken in id order, so none deadlocks for good.
      const mine = k % 2 ? users : [...users].reverse();
      work.push(batch.write(mine.flatMap((id) => [note(id, `b${k}a`), note(id, `b${k}b`)])));
      work.push(service.notify({ recipientId: mine[k % 3], type: 'comment.new', title: `s${k}` }));
      singles.set(mine[k % 3], singles.get(mine[k % 3])! + 1);
    }
    await Promise.all(work);
    const rows = await rowsOf(users);
    const counters = await countersOf(users);
    for (const id of users) {
      const mine = rows.filter((r) => r.recipientId === id);
      expect(mine.length).toBe(12 * 2 + singles.get(id)!);
      expect(mine.map((r) => r.seq)).toEqual(mine.map((_r, k) => k + 1));
      expect(mine.map((r) => r.id)).toEqual([...mine.map((r) => r.id)].sort((x, y) => x - y));
      expect(counters[id]).toBe(mine.length);
      // A batch's two rows for one recipient stay adjacent and in input order.
      for (let k = 0; k < 12; k++) {
        const a = mine.findIndex((r) => r.title === `b${k}a`);
        expect(mine[a + 1].title).toBe(`b${k}b`);
      }
    }
  });
});

async function mailRows(): Promise<number> {
  const [row] = await api.sequelize.query<{ n: number }>("SELECT COUNT(*) AS n FROM outbox WHERE topic = 'mail.send'", {
    type: QueryTypes.SELECT,
  });
  return Number(row.n);
}
