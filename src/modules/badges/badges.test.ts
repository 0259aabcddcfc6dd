import fs from 'node:fs';
import path from 'node:path';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { ManualClock, bearer, signup, startContext, LONG_TOKENS } from '../../../test/helpers/context';
import { makeMeetup, makeOwner, makeSitter } from '../../../test/helpers/fixtures';
import { inTransaction } from '../../infra/db';
import type { DomainEventMap } from '../events';
import { BADGE_RULES } from './badges.rules';
import { apiOf } from '../../../test/helpers/api';

const T0 = '2027-03-01T00:00:00.000Z';
const clock = new ManualClock(T0);
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(Date.parse(T0) + ms);

let ctx: TestContext;
let api: TestInstance;
let api2: TestInstance;

beforeAll(async () => {
  [ctx, api, api2] = await startContext({ clock, env: LONG_TOKENS }, 2);
});
afterAll(() => ctx.close());
beforeEach(() => clock.set(T0));

const { post, count } = apiOf(() => api);
const badgesOf = async (userId: number) =>
  (await api.http.get(`/api/v1/users/${userId}/badges`).expect(200)).body.items.map((b: { code: string }) => b.code);
const earnedCount = (userId: number, code: string) =>
  count('SELECT COUNT(*) AS n FROM user_badges WHERE userId = ? AND code = ?', [userId, code]);
const badgeNotices = (userId: number) =>
  count("SELECT COUNT(*) AS n FROM notifications WHERE recipientId = ? AND type = 'badge.earned'", [userId]);

/**
 * Emits a domain event in a transaction of its own, as the emitting module does (groups' missions
 * and gallery emit these in the transaction that stores the fact).
 */
function emit<E extends keyof DomainEventMap>(event: E, payload: DomainEventMap[E], inst = api) {
  return inTransaction(inst.sequelize, (t) => inst.pawmate.events.emit(t, event, payload));
}
const completed = (userId: number, missionId: number, when: Date, inst = api) =>
  emit('mission.completed', { groupId: 1, missionId, userId, completedAt: when, memberCount: 2 }, inst);

describe('badges', () => {
  it('documents every rule of the table in the README', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    for (const rule of BADGE_RULES) expect(readme).toContain(`\`${rule.code}\``);
    expect(new Set(BADGE_RULES.map((r) => r.code)).size).toBe(BADGE_RULES.length);
  });

  it('awards the first and the tenth mission once each, exactly, under 20 concurrent completions', async () => {
    const a = await signup(api);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => completed(a.user.id, 1000 + i, at(i * 1000), i % 2 ? api2 : api)),
    );
    expect(
      await count("SELECT count AS n FROM badge_tallies WHERE userId = ? AND metric = 'missions'", [a.user.id]),
    ).toBe(20);
    expect(await earnedCount(a.user.id, 'first-mission')).toBe(1);
    expect(await earnedCount(a.user.id, 'ten-missions')).toBe(1);
    expect(await badgeNotices(a.user.id)).toBe(2);
    const res = await api.http.get(`/api/v1/users/${a.user.id}/badges`).expect(200); // public: no token
    expect(res.body).toEqual({
      items: [
        { code: 'first-mission', name: 'First mission', description: expect.any(String), earnedAt: T0 },
        { code: 'ten-missions', name: 'Mission regular', description: expect.any(String), earnedAt: T0 },
      ],
    });
  });

  it('earns nothing from an event whose transaction rolls back', async () => {
    const a = await signup(api);
    await expect(
      inTransaction(api.sequelize, async (t) => {
        await api.pawmate.events.emit(t, 'mission.completed', {
          groupId: 1,
          missionId: 1,
          userId: a.user.id,
          completedAt: at(0),
          memberCount: 2,
        });
        throw new Error('the completion failed after its event');
      }),
    ).rejects.toThrow('the completion failed');
    expect(await badgesOf(a.user.id)).toEqual([]);
    expect(await badgeNotices(a.user.id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM badge_tallies WHERE userId = ?', [a.user.id])).toBe(0);
  });

  it('notifies badge.earned to the earner', async () => {
    const a = await signup(api);
    await completed(a.user.id, 1, at(0));
    const list = await api.http.get('/api/v1/notifications').set(bearer(a.accessToken)).expect(200);
    const notice = list.body.items.find((n: { type: string }) => n.type === 'badge.earned');
    expect(notice).toMatchObject({ title: 'New badge: First mission', data: { code: 'first-mission' } });
  });

  it('counts a streak in SERVICE_TZ days: seven in a row earn it once, a gap does not', async () => {
    const a = await signup(api);
    // 23:00 and 00:30 in Seoul (UTC+9) are two days although they are one UTC day apart by 90 minutes.
    const seoulDay = (d: number, hour: number) => at(d * DAY + (hour - 9) * HOUR);
    await completed(a.user.id, 1, seoulDay(0, 23));
    await completed(a.user.id, 2, seoulDay(1, 0.5));
    for (const d of [2, 4, 5, 6]) await completed(a.user.id, 10 + d, seoulDay(d, 12));
    expect(await earnedCount(a.user.id, 'mission-streak-7')).toBe(0); // day 3 is missing: runs of 3 and 3
    await completed(a.user.id, 20, seoulDay(6, 18)); // a second completion on a day adds no day
    expect(await earnedCount(a.user.id, 'mission-streak-7')).toBe(0);
    await completed(a.user.id, 13, seoulDay(3, 12)); // fills the gap: days 0–6
    expect(await earnedCount(a.user.id, 'mission-streak-7')).toBe(1);

    // Seven days of completions at once, from two instances: exactly one badge.
    const b = await signup(api);
    await Promise.all(
      Array.from({ length: 7 }, (_, d) => completed(b.user.id, 100 + d, seoulDay(d, 12), d % 2 ? api2 : api)),
    );
    expect(await earnedCount(b.user.id, 'mission-streak-7')).toBe(1);
  });

  it('awards 100 gallery photos in one group once; deleted ones and other groups do not count', async () => {
    const a = await signup(api);
    // authorPhotos is what groups counts in the gallery at the add (gallery.test.ts checks that).
    const photo = (groupId: number, authorPhotos: number, inst = api) =>
      emit(
        'group.photo.added',
        { groupId, photoId: groupId * 1000 + authorPhotos, authorId: a.user.id, createdAt: at(0), authorPhotos },
        inst,
      );
    await Promise.all(Array.from({ length: 99 }, (_, i) => photo(1, i + 1, i % 2 ? api2 : api)));
    await photo(2, 1);
    // One deleted and one added again: still 99 in the gallery, however many adds.
    for (let i = 0; i < 5; i++) await photo(1, 99);
    expect(await earnedCount(a.user.id, 'gallery-100')).toBe(0);
    await Promise.all([100, 101, 102].map((n, i) => photo(1, n, i % 2 ? api2 : api)));
    expect(await earnedCount(a.user.id, 'gallery-100')).toBe(1);
    expect(await badgeNotices(a.user.id)).toBe(1);
  });

  it('awards the first hosted meetup when the host marks a guest as come', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const m = await makeMeetup(api, host, { startsAt: at(HOUR).toISOString() });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    clock.set(at(2 * HOUR));
    await post(host, `/meetups/${m.id}/attendance`, { userIds: [host.user.id] }).expect(200);
    expect(await badgesOf(host.user.id)).toEqual([]); // only the host came: not hosted yet
    await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(200);
    expect(await badgesOf(host.user.id)).toEqual(['first-meetup-hosted']);
    expect(await badgesOf(guest.user.id)).toEqual([]);

    clock.set(T0);
    const m2 = await makeMeetup(api, host, { startsAt: at(HOUR).toISOString() });
    await post(guest, `/meetups/${m2.id}/participants`).expect(201);
    clock.set(at(2 * HOUR));
    await post(host, `/meetups/${m2.id}/attendance`, { userIds: [guest.user.id] }).expect(200);
    expect(await earnedCount(host.user.id, 'first-meetup-hosted')).toBe(1);
    expect(await badgeNotices(host.user.id)).toBe(1);
  });

  it('awards the first 5-star stay to the sitter, not for 4 stars', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 2 });
    const stay = async (rating: number, startDate: string, endDate: string) => {
      clock.set(T0);
      const { owner, pet } = await makeOwner(api);
      const r = await post(owner, '/reservations', {
        sitterId: sitter.id,
        service: 'boarding',
        petIds: [pet.id],
        startDate,
        endDate,
      }).expect(201);
      await post(sitterUser, `/reservations/${r.body.id}/accept`).expect(200);
      clock.set(`${startDate}T00:00:00Z`);
      await post(sitterUser, `/reservations/${r.body.id}/complete`).expect(200);
      await post(owner, `/reservations/${r.body.id}/review`, { rating }).expect(201);
      return owner;
    };
    const owner = await stay(4, '2027-03-10', '2027-03-11');
    expect(await badgesOf(sitterUser.user.id)).toEqual([]);
    await stay(5, '2027-03-12', '2027-03-13');
    expect(await badgesOf(sitterUser.user.id)).toEqual(['first-five-star-stay']);
    await stay(5, '2027-03-14', '2027-03-15');
    expect(await earnedCount(sitterUser.user.id, 'first-five-star-stay')).toBe(1);
    expect(await badgesOf(owner.user.id)).toEqual([]);
  });

  it('earns mission badges through the groups routes: 10 missions completed at once, each badge once', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const g = (await post(a, '/groups', { name: 'Kim family' }).expect(201)).body;
    await inTransaction(api.sequelize, (t) => api.pawmate.services.groups.groups.joinInTx(t, g.id, b.user.id));
    const missions: Array<{ id: number }> = [];
    for (let i = 0; i < 10; i++)
      missions.push((await post(a, `/groups/${g.id}/missions`, { title: `Walk ${i}` })).body);
    const answers = await Promise.all(
      missions.map((m, i) =>
        (i % 2 ? api2 : api).http
          .post(`/api/v1/groups/${g.id}/missions/${m.id}/complete`)
          .set(bearer(a.accessToken))
          .send({}),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await badgesOf(a.user.id)).toEqual(['first-mission', 'ten-missions']);
    expect(await badgeNotices(a.user.id)).toBe(2);
    expect(await badgesOf(b.user.id)).toEqual([]);
    // A completion refused (twice) counts for nothing.
    await post(a, `/groups/${g.id}/missions/${missions[0].id}/complete`).expect(409);
    expect(
      await count("SELECT count AS n FROM badge_tallies WHERE userId = ? AND metric = 'missions'", [a.user.id]),
    ).toBe(10);
  });

  it('earns no mission badge in a group of one: missions need company', async () => {
    const a = await signup(api);
    const g = (await post(a, '/groups', { name: 'Just me' }).expect(201)).body;
    for (let i = 0; i < 10; i++) {
      const m = (await post(a, `/groups/${g.id}/missions`, { title: `Solo ${i}` }).expect(201)).body;
      await post(a, `/groups/${g.id}/missions/${m.id}/complete`).expect(200);
    }
    expect(await badgesOf(a.user.id)).toEqual([]);
    expect(await count('SELECT COUNT(*) AS n FROM badge_tallies WHERE userId = ?', [a.user.id])).toBe(0);
    // Once someone joins, the next completion counts (the first one, not the eleventh).
    const b = await signup(api);
    await inTransaction(api.sequelize, (t) => api.pawmate.services.groups.groups.joinInTx(t, g.id, b.user.id));
    const m = (await post(a, `/groups/${g.id}/missions`, { title: 'Together' }).expect(201)).body;
    await post(a, `/groups/${g.id}/missions/${m.id}/complete`).expect(200);
    expect(await badgesOf(a.user.id)).toEqual(['first-mission']);
  });

  it('answers 404 for an unknown or deleted account, and forgets a deleted account’s badges', async () => {
    await api.http.get('/api/v1/users/999999999/badges').expect(404);
    const a = await signup(api);
    await completed(a.user.id, 1, at(0));
    await api.http.delete('/api/v1/users/me').set(bearer(a.accessToken)).send({ password: a.password });
    await api.http.get(`/api/v1/users/${a.user.id}/badges`).expect(404);
    expect(await count('SELECT COUNT(*) AS n FROM user_badges WHERE userId = ?', [a.user.id])).toBe(0);
  });
});
