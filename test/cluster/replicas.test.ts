import { TestContext, bearer, signup, type TestInstance } from '../helpers/context';
import { eventually } from '../helpers/faults';
import { makeSitter } from '../helpers/fixtures';
import { MariaDbReplicaPair } from './mariadb-replica';

/**
 * DATABASE_REPLICA_URLS against a real replica: a private MariaDB primary and a replica following it
 * (test/cluster/mariadb-replica.ts). Which server answered is told by a value changed on the replica
 * alone (root may write to a read-only replica): the replica's value in the answer means the read
 * went there. Bound 2 s, probe every 200 ms: read-your-writes window 3.4 s.
 */

let pair: MariaDbReplicaPair;
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  pair = await new MariaDbReplicaPair().start();
  const db = `pm_replica_${process.pid}`;
  ctx = await new TestContext({
    env: {
      DATABASE_URL: pair.url(pair.primary, db),
      DATABASE_REPLICA_URLS: pair.url(pair.replica, db),
      DATABASE_REPLICA_MAX_LAG_SEC: '2',
      DATABASE_REPLICA_PROBE_MS: '200',
    },
  }).setup();
  api = await ctx.instance();
  await eventually(async () => api.pawmate.replicas.status()[0].usable, 10_000, 'replica in use');
}, 120_000);
afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  await pair?.stop();
});

const dbName = () => new URL(ctx.config.databaseUrl).pathname.slice(1);
/** Changes a row on the replica only (the primary keeps its value). */
const onReplicaOnly = (sql: string) => pair.sql(pair.replica, `SET SESSION sql_log_bin = 0; USE ${dbName()}; ${sql}`);
const nicknameOf = async (id: number, token?: string) => {
  const req = api.http.get(`/api/v1/users/${id}`);
  const res = await (token ? req.set(bearer(token)) : req).expect(200);
  return res.body.nickname as string;
};

it('sends public profiles and search candidates to the replica', async () => {
  const { user, sitter } = await makeSitter(api);
  await pair.waitCaughtUp();
  onReplicaOnly(`UPDATE users SET nickname = 'OnReplica' WHERE id = ${user.user.id};
    UPDATE sitters SET headline = 'Replica headline' WHERE id = ${sitter.id}`);
  expect(await nicknameOf(user.user.id)).toBe('OnReplica');
  const profile = await api.http.get(`/api/v1/sitters/${sitter.id}`).expect(200);
  expect(profile.body.headline).toBe('Replica headline');
  const search = await api.http.get('/api/v1/sitters/search').query({ lat: 37.5563, lng: 126.9236 }).expect(200);
  expect(search.body.items.find((i: { id: number }) => i.id === sitter.id).headline).toBe('Replica headline');
  // The primary never had it: writes and the caller's own account stay there.
  const me = await api.http.get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
  expect(me.body.nickname).toBe('Sitter');
});

it('a client that just wrote reads its write from the primary until the replicas must have it', async () => {
  const u = await signup(api, { nickname: 'Before' });
  await api.http.patch('/api/v1/users/me').set(bearer(u.accessToken)).send({ nickname: 'Fresh' }).expect(200);
  await pair.waitCaughtUp();
  // The replica now answers something else than the primary for this user.
  onReplicaOnly(`UPDATE users SET nickname = 'Stale' WHERE id = ${u.user.id}`);
  const wroteAt = Date.now();
  expect(await nicknameOf(u.user.id, u.accessToken)).toBe('Fresh'); // the writer: primary
  expect(await nicknameOf(u.user.id)).toBe('Stale'); // anyone else: replica
  const window = api.pawmate.replicas.readYourWritesMs;
  expect(window).toBe(3400);
  // Once the window is over, the writer reads from the replica too.
  await new Promise((r) => setTimeout(r, Math.max(0, wroteAt + window + 200 - Date.now())));
  expect(await nicknameOf(u.user.id, u.accessToken)).toBe('Stale');
});

it('skips a replica lagging past the bound, and takes it back once it has caught up', async () => {
  pair.sql(pair.replica, 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; START SLAVE;');
  try {
    const u = await signup(api, { nickname: 'Newcomer' }); // not on the replica for 60 s
    await eventually(
      async () => /^lagging/.test(api.pawmate.replicas.status()[0].reason ?? ''),
      15_000,
      'replica seen lagging',
    );
    expect(api.pawmate.replicas.status()[0]).toMatchObject({ usable: false });
    expect(api.pawmate.replicas.status()[0].lagSec).toBeGreaterThan(2);
    // Anonymous, so it would go to the replica (404 there): the primary answers.
    expect(await nicknameOf(u.user.id)).toBe('Newcomer');
  } finally {
    pair.sql(pair.replica, 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE;');
  }
  await pair.waitCaughtUp();
  await eventually(async () => api.pawmate.replicas.status()[0].usable, 10_000, 'replica back in use');
});

it('a replica that is down costs no error: its reads go to the primary', async () => {
  const u = await signup(api, { nickname: 'Survivor' });
  await pair.waitCaughtUp();
  onReplicaOnly(`UPDATE users SET nickname = 'Ghost' WHERE id = ${u.user.id}`);
  expect(await nicknameOf(u.user.id)).toBe('Ghost');
  await pair.kill(pair.replica);
  // Before any probe has noticed: the failed query is run again on the primary.
  expect(await nicknameOf(u.user.id)).toBe('Survivor');
  await eventually(
    async () => /^unreachable|^query failed/.test(api.pawmate.replicas.status()[0].reason ?? ''),
    10_000,
    'replica seen down',
  );
  for (let i = 0; i < 5; i++) expect(await nicknameOf(u.user.id)).toBe('Survivor');
  const search = await api.http.get('/api/v1/sitters/search').query({ lat: 37.5563, lng: 126.9236 });
  expect(search.status).toBe(200);
});
