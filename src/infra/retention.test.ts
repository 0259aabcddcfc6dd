import { QueryTypes } from 'sequelize';
import { TestContext, type TestInstance } from '../../test/helpers/context';
import { ManualClock } from './clock';
import { Metrics } from './metrics';
import { outboxRetryHorizonMs } from './outbox';
import { DEFAULT_RETENTION, RetentionSweep } from './retention';
import { createLogger } from './logger';

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

  it('forgets the last version of an id removed from a geo index once it has been removed for the tombstone age', async () => {
    const geo = api.pawmate.modules.find((m) => m.name === 'sitters')!.geoIndexes![0];
    const at = { lat: 37.5, lng: 127.0 };
    await geo.apply([1, 2, 3].map((id) => ({ id: 900_000 + id, version: 1, point: at })));
    await geo.apply([
      { id: 900_001, version: 2, point: null },
      { id: 900_003, version: 2, point: null },
    ]);
    const versions = () => api.redis.hgetall(geo.versionsKey);

    // First sighting: kept, and still doing its job against a late outbox row of an older change.
    expect((await api.pawmate.retention.run()).geo_tombstones_sitters).toBe(0);
    expect(await versions()).toEqual({ '900001': '2', '900002': '1', '900003': '2' });
    expect(await geo.apply([{ id: 900_001, version: 1, point: at }])).toBe(0);
    // 900003 comes back before its tombstone is old: it is no tombstone any more.
    await geo.apply([{ id: 900_003, version: 3, point: at }]);

    clock.advance(DAY - 60_000);
    expect((await api.pawmate.retention.run()).geo_tombstones_sitters).toBe(0);
    clock.advance(2 * 60_000); // past RETENTION_GEO_TOMBSTONES_HOURS (24)
    expect((await api.pawmate.retention.run()).geo_tombstones_sitters).toBe(1);
    expect(await versions()).toEqual({ '900002': '1', '900003': '3' });
    expect(await api.redis.hgetall(geo.tombstonesKey)).toEqual({});
    expect((await geo.search(at, 1)).map((h) => h.id).sort()).toEqual([900_002, 900_003]);
  });

  it('never forgets a geo tombstone sooner than the outbox retry horizon, whatever the configured age', async () => {
    const geo = api.pawmate.modules.find((m) => m.name === 'meetups')!.geoIndexes![0];
    const at = { lat: 35.1, lng: 129.0 };
    await geo.apply([
      { id: 1, version: 1, point: at },
      { id: 2, version: 1, point: at },
    ]);
    await geo.apply([{ id: 1, version: 2, point: null }]);
    const horizon = outboxRetryHorizonMs(20);
    expect(horizon).toBeGreaterThan(10 * 60_000); // backoff 0.5 s doubling to a 1 min cap, 19 waits
    const sweep = new RetentionSweep(
      api.sequelize,
      clock,
      createLogger('silent'),
      new Metrics(),
      { ...DEFAULT_RETENTION, geoTombstonesMs: 0 },
      undefined,
      { indexes: [geo], minAgeMs: horizon },
    );
    await sweep.run();
    clock.advance(horizon - 1000);
    expect((await sweep.run()).geo_tombstones_meetups).toBe(0);
    expect(await api.redis.hget(geo.versionsKey, '1')).toBe('2');
    clock.advance(2000);
    expect((await sweep.run()).geo_tombstones_meetups).toBe(1);
    expect(await api.redis.hget(geo.versionsKey, '1')).toBeNull();
  });
});
