import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeMeetup } from '../../../test/helpers/fixtures';
import { ack, connectSocket, next } from '../../../test/helpers/socket';

/**
 * Blocks across the meetups module (API.md "Safety"): besides search, a meetup by id is not there for a
 * user on either side of a block with its host (view and join answer 404), and participants on either
 * side of a block do not see each other's live position.
 */
const T0 = '2027-06-01T00:00:00.000Z';
const MIN = 60 * 1000;
const clock = new ManualClock(T0);
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const POINT = { lat: 37.5563, lng: 126.9236 };
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await new TestContext({ clock, env: { ACCESS_TOKEN_TTL_SEC: String(90 * 24 * 3600) } }).setup();
  a = await ctx.instance();
  b = await ctx.instance();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await ctx.close();
});
beforeEach(() => clock.set(T0));

type User = Awaited<ReturnType<typeof signup>>;
const block = (by: User, whom: User) =>
  a.http.put(`/api/v1/users/${whom.user.id}/block`).set(bearer(by.accessToken)).expect(204);
const unblock = (by: User, whom: User) =>
  a.http.delete(`/api/v1/users/${whom.user.id}/block`).set(bearer(by.accessToken)).expect(204);

it('hides a meetup by id from a user on either side of a block with its host, view and join', async () => {
  const host = await signup(a);
  const blockedByHost = await signup(a);
  const blocker = await signup(a);
  const bystander = await signup(a);
  const m = await makeMeetup(a, host, { startsAt: at(60 * MIN), capacity: 5 });
  await block(host, blockedByHost);
  await block(blocker, host);

  for (const u of [blockedByHost, blocker]) {
    expect((await b.http.get(`/api/v1/meetups/${m.id}`).set(bearer(u.accessToken))).status).toBe(404);
    const join = await b.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(u.accessToken));
    expect(join.status).toBe(404);
    expect(join.headers['content-type']).toMatch(/application\/problem\+json/);
  }
  // Nobody joined: the count and the chat room are as before.
  const seen = await a.http.get(`/api/v1/meetups/${m.id}`).set(bearer(bystander.accessToken)).expect(200);
  expect(seen.body.participantCount).toBe(1);
  expect(seen.body.participants.map((p: { id: number }) => p.id)).toEqual([host.user.id]);
  // The host still sees their own meetup.
  await a.http.get(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(200);

  // Unblocked, it is there again and can be joined.
  await unblock(host, blockedByHost);
  await a.http.get(`/api/v1/meetups/${m.id}`).set(bearer(blockedByHost.accessToken)).expect(200);
  await a.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(blockedByHost.accessToken)).expect(201);
});

it('does not share live positions between participants on either side of a block', async () => {
  const host = await signup(a, { nickname: 'Host' });
  const g1 = await signup(a, { nickname: 'Guest one' });
  const g2 = await signup(a, { nickname: 'Guest two' });
  const m = await makeMeetup(a, host, { location: POINT, startsAt: at(60 * MIN), capacity: 5 });
  for (const g of [g1, g2]) {
    await a.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(g.accessToken)).expect(201);
  }
  await block(g1, g2);
  const hostSocket = await connectSocket(a.url, host.accessToken, clients);
  const g1Socket = await connectSocket(b.url, g1.accessToken, clients);
  const g2Socket = await connectSocket(a.url, g2.accessToken, clients);
  clock.set(at(40 * MIN)); // inside the sharing window

  // The host's position reaches both guests.
  const toG1 = next(g1Socket, 'location:nearby');
  const toG2 = next(g2Socket, 'location:nearby');
  expect((await ack(hostSocket, 'location:update', { meetupId: m.id, ...POINT })).ok).toBe(true);
  for (const e of await Promise.all([toG1, toG2])) {
    expect(e.participants.map((p: { userId: number }) => p.userId)).toEqual([host.user.id]);
  }

  // g2 shares: the host sees host + g2; g1 (who blocked g2) gets a snapshot without g2.
  const hostSees = next(hostSocket, 'location:nearby');
  const g1Sees = next(g1Socket, 'location:nearby');
  const g2Ack = await ack(g2Socket, 'location:update', { meetupId: m.id, lat: 37.557, lng: 126.924 });
  expect(g2Ack.ok).toBe(true);
  expect((await hostSees).participants.map((p: { userId: number }) => p.userId).sort()).toEqual(
    [host.user.id, g2.user.id].sort(),
  );
  expect((await g1Sees).participants.map((p: { userId: number }) => p.userId)).toEqual([host.user.id]);

  // g1 shares: g2's ack-free view (the next event) leaves g1 out, and g1's own ack leaves g2 out.
  const g2Sees = next(g2Socket, 'location:nearby');
  const g1Ack = await ack(g1Socket, 'location:update', { meetupId: m.id, lat: 37.5568, lng: 126.9238 });
  expect(g1Ack.participants.map((p: { userId: number }) => p.userId).sort()).toEqual([host.user.id, g1.user.id].sort());
  expect((await g2Sees).participants.map((p: { userId: number }) => p.userId).sort()).toEqual(
    [host.user.id, g2.user.id].sort(),
  );
});
