import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { ManualClock, signup, startContext, LONG_TOKENS } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { family as makeFamily } from '../../../test/helpers/groups';
import { apiOf, errorPaths as paths } from '../../../test/helpers/api';

// 12:00 in Seoul (SERVICE_TZ in tests is the default, Asia/Seoul).
const T0 = '2027-03-01T03:00:00.000Z';
const clock = new ManualClock(T0);
let ctx: TestContext;
let one: TestInstance;
let two: TestInstance;

beforeAll(async () => {
  [ctx, one, two] = await startContext({ clock, env: LONG_TOKENS }, 2);
});
afterAll(() => ctx.close());
afterEach(() => clock.set(T0));

const { get, post, patch, del } = apiOf(() => one);

const family = (size: number) => makeFamily(one, size);

async function reminders(s: Session) {
  await one.pawmate.outbox.drain();
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: { eventId: number } }[]).filter(
    (n) => n.type === 'group.event_reminder',
  );
}

/** Sweeps on both instances at once, several times. */
const sweepEverywhere = () => Promise.all([one, two, one, two].map((i) => i.pawmate.services.groups.calendar.sweep()));

describe('calendar', () => {
  it('timed events: create, read, list by overlap; creator/admins edit, others 403; outsiders 404', async () => {
    const { g, people } = await family(3);
    const [owner, a, b] = people;
    const outsider = await signup(one);
    const e = await post(a, `/groups/${g.id}/events`, {
      title: 'Vet',
      startsAt: '2027-03-02T01:00:00.000Z',
      endsAt: '2027-03-02T02:00:00.000Z',
      location: 'Mapo clinic',
    }).expect(201);
    expect(e.body).toMatchObject({
      title: 'Vet',
      description: '',
      allDay: false,
      startDate: null,
      endDate: null,
      startsAt: '2027-03-02T01:00:00.000Z',
      endsAt: '2027-03-02T02:00:00.000Z',
      location: 'Mapo clinic',
      createdBy: a.user.id,
    });
    const list = (from: string, to: string) => get(b, `/groups/${g.id}/events?from=${from}&to=${to}`);
    expect((await list('2027-03-02T00:00:00Z', '2027-03-02T01:00:00Z').expect(200)).body.items).toEqual([]);
    expect((await list('2027-03-02T01:59:00Z', '2027-03-03T00:00:00Z').expect(200)).body.items).toHaveLength(1);
    expect((await list('2027-03-02T02:00:00Z', '2027-03-03T00:00:00Z').expect(200)).body.items).toEqual([]);
    expect(paths(await list('2027-03-01T00:00:00Z', '2027-06-02T00:00:00Z').expect(400))).toEqual(['query.to']);
    expect(paths(await list('2027-03-02T00:00:00Z', '2027-03-01T00:00:00Z').expect(400))).toEqual(['query.to']);
    await get(outsider, `/groups/${g.id}/events?from=2027-03-01T00:00:00Z&to=2027-03-05T00:00:00Z`).expect(404);
    await get(outsider, `/groups/${g.id}/events/${e.body.id}`).expect(404);

    await patch(b, `/groups/${g.id}/events/${e.body.id}`, { title: 'Mine' }).expect(403);
    await del(b, `/groups/${g.id}/events/${e.body.id}`).expect(403);
    const moved = await patch(owner, `/groups/${g.id}/events/${e.body.id}`, { endsAt: '2027-03-02T03:00:00Z' }).expect(
      200,
    );
    expect(moved.body).toMatchObject({ title: 'Vet', endsAt: '2027-03-02T03:00:00.000Z' });
    const bad = await patch(a, `/groups/${g.id}/events/${e.body.id}`, { endsAt: '2027-03-01T00:00:00Z' }).expect(400);
    expect(paths(bad)).toEqual(['body.endsAt']);
    expect(
      paths(await patch(a, `/groups/${g.id}/events/${e.body.id}`, { startDate: '2027-03-02' }).expect(400)),
    ).toEqual(['body.startDate']);
    await del(a, `/groups/${g.id}/events/${e.body.id}`).expect(204);
    await get(a, `/groups/${g.id}/events/${e.body.id}`).expect(404);
  });

  it('all-day events are SERVICE_TZ calendar days; bad input names the field', async () => {
    const { g, people } = await family(1);
    const [owner] = people;
    const e = await post(owner, `/groups/${g.id}/events`, {
      title: 'Grooming weekend',
      allDay: true,
      startDate: '2027-03-05',
      endDate: '2027-03-06',
    }).expect(201);
    expect(e.body).toMatchObject({
      allDay: true,
      startDate: '2027-03-05',
      endDate: '2027-03-06',
      // Seoul is UTC+9: its 5 March starts at 15:00 UTC on the 4th; the 6th ends at 14:59:59.999 UTC.
      startsAt: '2027-03-04T15:00:00.000Z',
      endsAt: '2027-03-06T14:59:59.999Z',
    });
    const list = (from: string, to: string) => get(owner, `/groups/${g.id}/events?from=${from}&to=${to}`);
    expect((await list('2027-03-06T14:00:00Z', '2027-03-08T00:00:00Z').expect(200)).body.items).toHaveLength(1);
    expect((await list('2027-03-06T15:00:00Z', '2027-03-08T00:00:00Z').expect(200)).body.items).toEqual([]);
    expect((await list('2027-03-01T00:00:00Z', '2027-03-04T15:00:00Z').expect(200)).body.items).toEqual([]);

    const cases: [object, string[]][] = [
      [{ title: 'x', allDay: true, startDate: '2027-03-05' }, ['body.endDate']],
      [{ title: 'x', allDay: true, startDate: '2027-03-05', endDate: '2027-03-04' }, ['body.endDate']],
      [{ title: 'x', allDay: true, startDate: '2027-02-30', endDate: '2027-03-04' }, ['body.startDate']],
      [{ title: 'x', allDay: true, startDate: '2027-03-05', endDate: '2027-03-05', startsAt: T0 }, ['body.startsAt']],
      [{ title: 'x', startsAt: T0 }, ['body.endsAt']],
      [{ title: '', startsAt: T0, endsAt: T0 }, ['body.title']],
      [{ title: 'x', startsAt: 'tomorrow', endsAt: T0 }, ['body.startsAt']],
    ];
    for (const [body, expected] of cases) {
      const res = await post(owner, `/groups/${g.id}/events`, body).expect(400);
      expect(paths(res)).toEqual(expected);
    }
  });

  it('reminders go to every member once, across instances and concurrent sweeps; moving an event re-arms it', async () => {
    const { g, people } = await family(3);
    const timed = await post(people[0], `/groups/${g.id}/events`, {
      title: 'Walk',
      startsAt: '2027-03-01T06:00:00.000Z',
      endsAt: '2027-03-01T07:00:00.000Z',
    }).expect(201);
    const allDay = await post(people[1], `/groups/${g.id}/events`, {
      title: 'Trip',
      allDay: true,
      startDate: '2027-03-03',
      endDate: '2027-03-03',
    }).expect(201);

    clock.set('2027-03-01T04:59:00.000Z');
    await sweepEverywhere();
    for (const s of people) expect(await reminders(s)).toEqual([]);
    clock.set('2027-03-01T05:00:00.000Z');
    await sweepEverywhere();
    await sweepEverywhere();
    for (const s of people) expect((await reminders(s)).map((n) => n.data.eventId)).toEqual([timed.body.id]);

    // The all-day event on 3 March: 09:00 Seoul on the 2nd is 00:00 UTC on the 2nd.
    clock.set('2027-03-01T23:59:00.000Z');
    await sweepEverywhere();
    for (const s of people) expect(await reminders(s)).toHaveLength(1);
    clock.set('2027-03-02T00:00:00.000Z');
    await sweepEverywhere();
    for (const s of people)
      expect((await reminders(s)).map((n) => n.data.eventId).sort()).toEqual([timed.body.id, allDay.body.id].sort());

    // Moved to the next day: a new reminder is due an hour before the new start.
    await patch(people[0], `/groups/${g.id}/events/${timed.body.id}`, {
      startsAt: '2027-03-02T06:00:00.000Z',
      endsAt: '2027-03-02T07:00:00.000Z',
    }).expect(200);
    clock.set('2027-03-02T05:00:00.000Z');
    await sweepEverywhere();
    for (const s of people) expect(await reminders(s)).toHaveLength(3);
  });
});
