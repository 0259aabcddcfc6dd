import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeMeetup } from '../../../test/helpers/fixtures';
import { ack, connectSocket, next, record } from '../../../test/helpers/socket';
import { haversineMeters } from '../../infra/geo';

/** Live location across two instances: window, rate limit, participants only, Redis only. */
const T0 = '2027-06-01T00:00:00.000Z';
const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const clock = new ManualClock(T0);
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
const clients: ClientSocket[] = [];
const POINT = { lat: 37.5563, lng: 126.9236 };

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

const connect = (inst: TestInstance, token: string) => connectSocket(inst.url, token, clients);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A meetup starting one hour after T0 (default) with a host and a guest. */
async function setup(o: { startsAt?: string; endsAt?: string } = {}) {
  const host = await signup(a, { nickname: 'Host' });
  const guest = await signup(a, { nickname: 'Guest' });
  const m = await makeMeetup(a, host, {
    location: POINT,
    startsAt: o.startsAt ?? at(HOUR),
    endsAt: o.endsAt,
    capacity: 5,
  });
  await a.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(guest.accessToken)).expect(201);
  return { host, guest, m };
}

describe('live location', () => {
  it('reaches the other participants across instances, with distances to the meeting point', async () => {
    const { host, guest, m } = await setup();
    const hostSocket = await connect(a, host.accessToken);
    const guestSocket = await connect(b, guest.accessToken);
    clock.set(at(40 * MIN)); // 20 min before the start: inside the window
    const mine = record(hostSocket, 'location:nearby');

    const pos = { lat: 37.5573, lng: 126.9246 };
    const arrived = next(guestSocket, 'location:nearby');
    const res = await ack(hostSocket, 'location:update', { meetupId: m.id, ...pos });
    expect(res).toMatchObject({ ok: true, meetupId: m.id });
    const event = await arrived;
    const expected = Math.round(haversineMeters(POINT, pos));
    expect(event).toEqual({
      meetupId: m.id,
      participants: [
        {
          userId: host.user.id,
          lat: pos.lat,
          lng: pos.lng,
          distanceToMeetingPointM: expected,
          updatedAt: at(40 * MIN),
        },
      ],
    });
    expect(expected).toBeGreaterThan(100);
    expect(res.participants).toEqual(event.participants);

    // The guest answers from the other instance: the host sees both positions.
    const back = next(hostSocket, 'location:nearby');
    const res2 = await ack(guestSocket, 'location:update', { meetupId: m.id, ...POINT });
    expect(res2.ok).toBe(true);
    const both = await back;
    expect(both.participants.map((p: { userId: number }) => p.userId)).toEqual(
      [host.user.id, guest.user.id].sort((x, y) => x - y),
    );
    expect(both.participants.find((p: { userId: number }) => p.userId === guest.user.id).distanceToMeetingPointM).toBe(
      0,
    );
    // Nobody receives their own update.
    await sleep(200);
    expect(mine).toHaveLength(1);

    // Only Redis holds positions, with a TTL that ends no later than the meetup.
    const key = `${ctx.config.redisPrefix}meetup:${m.id}:loc`;
    expect(await a.redis.hlen(key)).toBe(2);
    const ttl = await a.redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(Date.parse(m.endsAt) - Date.parse(at(40 * MIN)));

    // Stopping removes my position for everyone.
    const afterStop = next(hostSocket, 'location:nearby');
    expect(await ack(guestSocket, 'location:stop', { meetupId: m.id })).toEqual({ ok: true, stopped: true });
    expect((await afterStop).participants.map((p: { userId: number }) => p.userId)).toEqual([host.user.id]);
    expect(await a.redis.hexists(key, String(guest.user.id))).toBe(0);
  });

  it('allows one update per 2 s per user, across sockets and instances', async () => {
    const { host, m } = await setup();
    const s1 = await connect(a, host.accessToken);
    const s2 = await connect(b, host.accessToken);
    clock.set(at(HOUR));
    expect((await ack(s1, 'location:update', { meetupId: m.id, ...POINT })).ok).toBe(true);
    const limited = await ack(s2, 'location:update', { meetupId: m.id, ...POINT });
    expect(limited).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterSec: expect.any(Number) });
    expect(limited.retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(limited.retryAfterSec).toBeLessThanOrEqual(2);
    await sleep(2100);
    expect((await ack(s2, 'location:update', { meetupId: m.id, ...POINT })).ok).toBe(true);
  });

  it('is open only from 30 minutes before the start to the end', async () => {
    const { host, m } = await setup({ startsAt: at(HOUR), endsAt: at(2 * HOUR) });
    const socket = await connect(a, host.accessToken);
    const limitKey = `${ctx.config.redisPrefix}meetup:loc-rl:${host.user.id}`;
    const tryAt = async (ms: number) => {
      clock.set(at(ms));
      await a.redis.del(limitKey); // the 2 s limit is not what this test is about
      return ack(socket, 'location:update', { meetupId: m.id, ...POINT });
    };
    expect(await tryAt(30 * MIN - 1000)).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect((await tryAt(30 * MIN)).ok).toBe(true);
    expect((await tryAt(2 * HOUR - 1000)).ok).toBe(true);
    expect(await tryAt(2 * HOUR)).toMatchObject({ ok: false, code: 'CONFLICT' });
  });

  it('defaults the window end to start + 3 h', async () => {
    const { host, m } = await setup({ startsAt: at(HOUR) });
    const socket = await connect(a, host.accessToken);
    const limitKey = `${ctx.config.redisPrefix}meetup:loc-rl:${host.user.id}`;
    clock.set(at(4 * HOUR - 1000));
    expect((await ack(socket, 'location:update', { meetupId: m.id, ...POINT })).ok).toBe(true);
    await a.redis.del(limitKey);
    clock.set(at(4 * HOUR));
    expect(await ack(socket, 'location:update', { meetupId: m.id, ...POINT })).toMatchObject({
      ok: false,
      code: 'CONFLICT',
    });
  });

  it('refuses non-participants, leavers, cancelled meetups and bad payloads', async () => {
    const { host, guest, m } = await setup();
    const stranger = await signup(a);
    const strangerSocket = await connect(b, stranger.accessToken);
    const hostSocket = await connect(a, host.accessToken);
    const guestSocket = await connect(b, guest.accessToken);
    clock.set(at(HOUR));
    const strangerSaw = record(strangerSocket, 'location:nearby');
    expect(await ack(strangerSocket, 'location:update', { meetupId: m.id, ...POINT })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
    // Refused updates count against the limit too (it shields MySQL from loops).
    expect(await ack(strangerSocket, 'location:update', { meetupId: 999999, ...POINT })).toMatchObject({
      ok: false,
      code: 'RATE_LIMITED',
    });
    await a.redis.del(`${ctx.config.redisPrefix}meetup:loc-rl:${stranger.user.id}`);
    expect(await ack(strangerSocket, 'location:update', { meetupId: 999999, ...POINT })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });

    const bad = await ack(guestSocket, 'location:update', { meetupId: m.id, lat: 91, lng: 0 });
    expect(bad).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
    expect(bad.errors.map((e: { path: string }) => e.path)).toEqual(['lat']);
    expect(await ack(guestSocket, 'location:update', { lat: 1, lng: 1 })).toMatchObject({
      ok: false,
      code: 'VALIDATION_FAILED',
    });

    // The guest shares, then leaves (before the start): the position is gone and further updates refused.
    clock.set(at(40 * MIN));
    expect((await ack(guestSocket, 'location:update', { meetupId: m.id, ...POINT })).ok).toBe(true);
    await b.http.delete(`/api/v1/meetups/${m.id}/participants/me`).set(bearer(guest.accessToken)).expect(204);
    const key = `${ctx.config.redisPrefix}meetup:${m.id}:loc`;
    expect(await a.redis.hexists(key, String(guest.user.id))).toBe(0);
    await sleep(2100);
    expect(await ack(guestSocket, 'location:update', { meetupId: m.id, ...POINT })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
    const hostRes = await ack(hostSocket, 'location:update', { meetupId: m.id, ...POINT });
    expect(hostRes.participants.map((p: { userId: number }) => p.userId)).toEqual([host.user.id]);

    // Cancelled: refused, and the positions are dropped.
    clock.set(T0);
    await a.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
    expect(await a.redis.exists(key)).toBe(0);
    clock.set(at(40 * MIN));
    await sleep(2100);
    expect(await ack(hostSocket, 'location:update', { meetupId: m.id, ...POINT })).toMatchObject({
      ok: false,
      code: 'CONFLICT',
    });
    expect(strangerSaw).toHaveLength(0);
  });
});
