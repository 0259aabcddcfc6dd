import { QueryTypes } from 'sequelize';
import { TestContext, type TestInstance } from '../../test/helpers/context';
import { ManualClock } from './clock';

const clock = new ManualClock('2026-12-06T09:00:00Z');
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
  await api.pawmate.outbox.stop(); // the rows below are written by hand; nothing should carry them out
});
afterAll(() => ctx.close());

const DAY = 24 * 60 * 60_000;
const ago = (ms: number) => new Date(clock.now().getTime() - ms);
const run = (sql: string, replacements: unknown[]) => api.sequelize.query(sql, { replacements });
const ids = async (table: string) =>
  (await api.sequelize.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`, { type: QueryTypes.SELECT })).map(
    (r) => r.id,
  );

describe('retention sweep', () => {
  it('deletes spent rows past their age in every table and keeps recent or live ones', async () => {
    const now = clock.now();
    await run(
      "INSERT INTO users (id, email, passwordHash, nickname, createdAt, updatedAt) VALUES (1, 'r@example.com', 'x', 'r', ?, ?)",
      [now, now],
    );
    // outbox: 1 processed 8 d ago (goes), 2 processed 6 d ago (stays), 3 pending and old (stays), 4 dead and old (stays)
    await run(
      `INSERT INTO outbox (id, topic, payload, attempts, availableAt, processedAt, deadAt, createdAt) VALUES
        (1, 't', '{}', 1, ?, ?, NULL, ?), (2, 't', '{}', 1, ?, ?, NULL, ?),
        (3, 't', '{}', 0, ?, NULL, NULL, ?), (4, 't', '{}', 20, ?, NULL, ?, ?)`,
      [ago(9 * DAY), ago(8 * DAY), ago(9 * DAY), ago(7 * DAY), ago(6 * DAY), ago(7 * DAY)].concat([
        ago(40 * DAY),
        ago(40 * DAY),
        ago(40 * DAY),
        ago(40 * DAY),
        ago(40 * DAY),
      ]),
    );
    // sessions: 1 revoked 31 d ago (goes, with its token 1), 2 revoked 29 d ago (stays), 3 live (stays)
    await run(
      `INSERT INTO sessions (id, userId, revokedAt, createdAt, updatedAt) VALUES
        (1, 1, ?, ?, ?), (2, 1, ?, ?, ?), (3, 1, NULL, ?, ?)`,
      [ago(31 * DAY), ago(60 * DAY), now, ago(29 * DAY), ago(60 * DAY), now, ago(60 * DAY), now],
    );
    // refresh tokens: 1 of the ended session (goes), 2 expired 31 d ago (goes), 3 expired 29 d ago (stays), 4 valid (stays)
    await run(
      `INSERT INTO refresh_tokens (id, sessionId, tokenHash, expiresAt, usedAt, createdAt, updatedAt) VALUES
        (1, 1, REPEAT('a', 64), ?, NULL, ?, ?), (2, 3, REPEAT('b', 64), ?, ?, ?, ?),
        (3, 3, REPEAT('c', 64), ?, ?, ?, ?), (4, 3, REPEAT('d', 64), ?, NULL, ?, ?)`,
      [ago(-DAY), now, now, ago(31 * DAY), ago(40 * DAY), now, now, ago(29 * DAY), ago(40 * DAY), now, now].concat([
        ago(-DAY),
        now,
        now,
      ]),
    );
    // e-mail tokens: 1 used 8 d ago (goes), 2 expired 8 d ago (goes), 3 used 6 d ago (stays), 4 unused and valid (stays)
    await run(
      `INSERT INTO email_tokens (id, userId, purpose, tokenHash, expiresAt, usedAt, createdAt, updatedAt) VALUES
        (1, 1, 'verify_email', REPEAT('1', 64), ?, ?, ?, ?), (2, 1, 'reset_password', REPEAT('2', 64), ?, NULL, ?, ?),
        (3, 1, 'verify_email', REPEAT('3', 64), ?, ?, ?, ?), (4, 1, 'reset_password', REPEAT('4', 64), ?, NULL, ?, ?)`,
      [
        ago(-DAY),
        ago(8 * DAY),
        now,
        now,
        ago(8 * DAY),
        now,
        now,
        ago(-DAY),
        ago(6 * DAY),
        now,
        now,
        ago(-DAY),
        now,
        now,
      ],
    );
    await run(
      `INSERT INTO email_changes (id, userId, newEmail, tokenHash, expiresAt, usedAt, createdAt, updatedAt) VALUES
        (1, 1, 'a@example.com', REPEAT('e', 64), ?, NULL, ?, ?), (2, 1, 'b@example.com', REPEAT('f', 64), ?, NULL, ?, ?)`,
      [ago(8 * DAY), now, now, ago(-DAY), now, now],
    );
    // idempotency keys: 1 from 25 h ago (goes), 2 from 23 h ago (stays)
    await run(
      `INSERT INTO idempotency_keys (id, userId, scope, idemKey, requestHash, createdAt) VALUES
        (1, 1, 's', 'k1', REPEAT('0', 64), ?), (2, 1, 's', 'k2', REPEAT('0', 64), ?)`,
      [ago(25 * 60 * 60_000), ago(23 * 60 * 60_000)],
    );

    const counts = await api.pawmate.retention.run();

    expect(counts).toMatchObject({
      outbox: 1,
      refresh_tokens: 1,
      sessions: 1,
      email_tokens: 2,
      email_changes: 1,
      idempotency_keys: 1,
    });
    expect(await ids('outbox')).toEqual([2, 3, 4]);
    expect(await ids('sessions')).toEqual([2, 3]);
    expect(await ids('refresh_tokens')).toEqual([3, 4]);
    expect(await ids('email_tokens')).toEqual([3, 4]);
    expect(await ids('email_changes')).toEqual([2]);
    expect(await ids('idempotency_keys')).toEqual([2]);
    const metrics = await api.pawmate.metrics.registry.getSingleMetricAsString('pawmate_retention_deleted_total');
    expect(metrics).toContain('pawmate_retention_deleted_total{table="email_tokens"} 2');

    // A second run finds nothing left to delete.
    expect(Object.values(await api.pawmate.retention.run()).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
