import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { ManualClock, bearer, signup, startContext, LONG_TOKENS } from '../../../test/helpers/context';
import { makeMeetup, type MeetupOptions, type Session } from '../../../test/helpers/fixtures';
import { settleOutbox } from '../../../test/helpers/outbox';
import { apiOf, errorPaths as paths } from '../../../test/helpers/api';

const T0 = '2027-03-01T00:00:00.000Z';
const clock = new ManualClock(T0);
let ctx: TestContext;
let api: TestInstance;
let api2: TestInstance;
const service = () => api.pawmate.services.meetups;

const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

beforeAll(async () => {
  [ctx, api, api2] = await startContext({ clock, env: LONG_TOKENS }, 2);
});
afterAll(async () => {
  await ctx.close();
});
beforeEach(() => clock.set(T0));

const { post, patch, del, get, count } = apiOf(() => api);

const meetup = (host: Session, o: MeetupOptions = {}) => makeMeetup(api, host, { startsAt: at(DAY), ...o });

const settle = () => settleOutbox(api, clock);

async function notificationsOf(s: Session, type?: string) {
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; body: string; data: Record<string, unknown> }[]).filter(
    (n) => !type || n.type === type,
  );
}

async function roomIds(s: Session) {
  const res = await get(s, '/chat/rooms?limit=100').expect(200);
  return (res.body.items as { id: number }[]).map((r) => r.id);
}

describe('POST /meetups', () => {
  it('creates a meetup whose host is the first participant, with its meetup chat room', async () => {
    const host = await signup(api, { nickname: 'Host' });
    const res = await post(host, '/meetups', {
      title: '  Puppy playdate ',
      location: { lat: 37.5, lng: 127.01 },
      address: 'Seoul Forest',
      startsAt: at(DAY),
      capacity: 6,
      tags: ['Playdate', 'puppy', 'corgi'],
      petSizes: ['small'],
      isAdmin: true,
    }).expect(201);
    expect(res.body).toMatchObject({
      host: { id: host.user.id, nickname: 'Host', hostRating: { average: null, count: 0 } },
      title: 'Puppy playdate',
      description: '',
      location: { lat: 37.5, lng: 127.01 },
      address: 'Seoul Forest',
      startsAt: at(DAY),
      endsAt: at(DAY + 3 * HOUR),
      capacity: 6,
      participantCount: 1,
      tags: ['playdate', 'puppy', 'corgi'],
      petSizes: ['small'],
      status: 'scheduled',
      chatRoomId: expect.any(Number),
    });
    expect(res.body).not.toHaveProperty('isAdmin');
    expect(res.body.host).not.toHaveProperty('email');
    expect(res.body.participants.map((p: { id: number }) => p.id)).toEqual([host.user.id]);
    const room = (await get(host, '/chat/rooms').expect(200)).body.items.find(
      (r: { id: number }) => r.id === res.body.chatRoomId,
    );
    expect(room).toMatchObject({ type: 'meetup', meetupId: res.body.id });
    expect(room.members.map((m: { id: number }) => m.id)).toEqual([host.user.id]);
  });

  it.each([
    [{ title: '' }, 'body.title'],
    [{ title: 'x'.repeat(81) }, 'body.title'],
    [{ description: 'x'.repeat(2001) }, 'body.description'],
    [{ capacity: 1 }, 'body.capacity'],
    [{ capacity: 101 }, 'body.capacity'],
    [{ location: { lat: 85.1, lng: 0 } }, 'body.location.lat'],
    [{ location: { lat: 0, lng: 180.5 } }, 'body.location.lng'],
    [{ address: '' }, 'body.address'],
    [{ startsAt: 'tomorrow' }, 'body.startsAt'],
    [{ startsAt: at(-60_000) }, 'body.startsAt'],
    [{ startsAt: at(400 * DAY) }, 'body.startsAt'],
    [{ endsAt: at(DAY) }, 'body.endsAt'],
    [{ endsAt: at(DAY + 12 * HOUR + 1) }, 'body.endsAt'],
    [{ tags: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'body.tags'],
    [{ tags: ['x'.repeat(21)] }, 'body.tags.0'],
    [{ tags: ['no spaces'] }, 'body.tags.0'],
    [{ tags: ['walk', 'walk'] }, 'body.tags.1'],
    [{ petSizes: ['huge'] }, 'body.petSizes.0'],
    [{ petSizes: [] }, 'body.petSizes'],
  ])('refuses %j with 400 naming %s', async (override, path) => {
    const host = await signup(api);
    const body = {
      title: 'Walk',
      location: { lat: 37.5, lng: 127 },
      address: 'Park',
      startsAt: at(DAY),
      capacity: 5,
      ...override,
    };
    const res = await post(host, '/meetups', body).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(paths(res)).toContain(path);
  });

  it('accepts the whole vocabulary plus five free tags, and exactly 12 hours', async () => {
    const host = await signup(api);
    const tags = [
      'walk',
      'run',
      'playdate',
      'training',
      'puppy',
      'small-dogs',
      'large-dogs',
      'cats',
      'a',
      'b',
      'c',
      'd',
      '한강',
    ];
    const m = await meetup(host, { tags, endsAt: at(DAY + 12 * HOUR) });
    expect((await get(host, `/meetups/${m.id}`).expect(200)).body.tags).toEqual(tags);
  });

  it('limits a host to 20 meetups that have not ended (409), under concurrency too', async () => {
    const host = await signup(api);
    const body = (i: number) => ({
      title: `Walk ${i}`,
      location: { lat: 37.5, lng: 127 },
      address: 'Park',
      startsAt: at(DAY + i * 60_000),
      capacity: 5,
    });
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? api2 : api).http.post('/api/v1/meetups').set(bearer(host.accessToken)).send(body(i)),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(20);
    expect(results.filter((r) => r.status === 409)).toHaveLength(4);
    await del(host, `/meetups/${results.find((r) => r.status === 201)!.body.id}`).expect(204);
    await post(host, '/meetups', body(30)).expect(201);
    await post(host, '/meetups', body(31)).expect(409);
  });

  it('needs a login', async () => {
    await api.http.post('/api/v1/meetups').send({}).expect(401);
    await api.http.get('/api/v1/meetups/1').expect(401);
  });
});

describe('OpenAPI', () => {
  it('documents every meetups route', async () => {
    const doc = (await api.http.get('/openapi.json').expect(200)).body;
    for (const p of [
      '/api/v1/meetups',
      '/api/v1/meetups/nearby',
      '/api/v1/meetups/mine',
      '/api/v1/meetups/{id}',
      '/api/v1/meetups/{id}/participants',
      '/api/v1/meetups/{id}/participants/me',
      '/api/v1/meetups/{id}/attendance',
      '/api/v1/meetups/{id}/host-rating',
      '/api/v1/users/{id}/host-rating',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(Object.keys(doc.paths['/api/v1/meetups/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
  });
});

describe('GET /meetups/{id}', () => {
  it('shows any signed-in user the meetup with its participants; 404 for a missing one, 400 for a bad id', async () => {
    const host = await signup(api);
    const other = await signup(api);
    const m = await meetup(host);
    const res = await get(other, `/meetups/${m.id}`).expect(200);
    expect(res.body.participants).toEqual([
      expect.objectContaining({ id: host.user.id, joinedAt: at(0), attendedAt: null }),
    ]);
    await get(other, '/meetups/999999').expect(404);
    const bad = await get(other, '/meetups/abc').expect(400);
    expect(paths(bad)).toEqual(['params.id']);
  });
});

describe('PATCH /meetups/{id}', () => {
  it('lets the host edit; a guest gets 403, a stranger 404', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const stranger = await signup(api);
    const m = await meetup(host, { tags: ['walk'] });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    const res = await patch(host, `/meetups/${m.id}`, {
      title: 'Morning walk',
      tags: ['run', 'beagles'],
      capacity: 8,
      hostId: guest.user.id,
    }).expect(200);
    expect(res.body).toMatchObject({
      title: 'Morning walk',
      tags: ['run', 'beagles'],
      capacity: 8,
      host: { id: host.user.id },
    });
    expect((await patch(guest, `/meetups/${m.id}`, { title: 'Mine' }).expect(403)).body.code).toBe('FORBIDDEN');
    expect((await patch(stranger, `/meetups/${m.id}`, { title: 'Mine' }).expect(404)).body.code).toBe('NOT_FOUND');
    expect((await get(host, `/meetups/${m.id}`)).body.title).toBe('Morning walk');
    expect(paths(await patch(host, `/meetups/${m.id}`, {}).expect(400))).toEqual(['body']);
  });

  it('never sets the capacity below the participant count (409)', async () => {
    const host = await signup(api);
    const m = await meetup(host, { capacity: 3 });
    for (let i = 0; i < 2; i++) await post(await signup(api), `/meetups/${m.id}/participants`).expect(201);
    expect((await patch(host, `/meetups/${m.id}`, { capacity: 2 }).expect(409)).body.code).toBe('CONFLICT');
    await patch(host, `/meetups/${m.id}`, { capacity: 3 }).expect(200);
  });

  it('keeps the length when the start moves, validates times, and notifies the participants (not the host)', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const m = await meetup(host, { endsAt: at(DAY + 2 * HOUR) });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    const res = await patch(host, `/meetups/${m.id}`, { startsAt: at(2 * DAY) }).expect(200);
    expect(res.body).toMatchObject({ startsAt: at(2 * DAY), endsAt: at(2 * DAY + 2 * HOUR) });
    expect(paths(await patch(host, `/meetups/${m.id}`, { endsAt: at(2 * DAY - 1) }).expect(400))).toEqual([
      'body.endsAt',
    ]);
    expect(paths(await patch(host, `/meetups/${m.id}`, { startsAt: at(-1) }).expect(400))).toContain('body.startsAt');
    await settle();
    const notes = await notificationsOf(guest, 'meetup.reminder');
    expect(notes).toHaveLength(1);
    expect(notes[0].data).toMatchObject({ meetupId: m.id, reason: 'rescheduled', startsAt: at(2 * DAY) });
    // Text is for people: SERVICE_TZ (Asia/Seoul by default), not UTC.
    expect(notes[0].body).toMatch(/^Now 2027-03-03 09:00 UTC\+9 – 2027-03-03 11:00 UTC\+9, /);
    expect(await notificationsOf(host, 'meetup.reminder')).toHaveLength(0);
    // A title change alone tells nobody.
    await patch(host, `/meetups/${m.id}`, { title: 'Renamed' }).expect(200);
    await settle();
    expect(await notificationsOf(guest, 'meetup.reminder')).toHaveLength(1);
  });

  it('refuses edits once started or cancelled (409)', async () => {
    const host = await signup(api);
    const a = await meetup(host);
    const b = await meetup(host);
    await del(host, `/meetups/${b.id}`).expect(204);
    expect((await patch(host, `/meetups/${b.id}`, { title: 'x' }).expect(409)).body.code).toBe('CONFLICT');
    clock.set(at(DAY));
    await patch(host, `/meetups/${a.id}`, { title: 'x' }).expect(409);
  });
});

describe('DELETE /meetups/{id} (cancel)', () => {
  it('cancels for the host, notifies the participants, and is 403/404/409 otherwise', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const stranger = await signup(api);
    const m = await meetup(host);
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    await del(guest, `/meetups/${m.id}`).expect(403);
    await del(stranger, `/meetups/${m.id}`).expect(404);
    await del(host, `/meetups/${m.id}`).expect(204);
    await del(host, `/meetups/${m.id}`).expect(409);
    expect((await get(stranger, `/meetups/${m.id}`).expect(200)).body.status).toBe('cancelled');
    await settle();
    const notes = await notificationsOf(guest, 'meetup.cancelled');
    expect(notes).toHaveLength(1);
    expect(notes[0].data).toMatchObject({ meetupId: m.id });
    expect(await notificationsOf(host, 'meetup.cancelled')).toHaveLength(0);
    // Nobody joins a cancelled meetup.
    expect((await post(stranger, `/meetups/${m.id}/participants`).expect(409)).body.detail).toMatch(/cancelled/);
  });

  it('cannot cancel a started meetup', async () => {
    const host = await signup(api);
    const m = await meetup(host);
    clock.set(at(DAY + 1));
    await del(host, `/meetups/${m.id}`).expect(409);
  });
});

describe('join and leave', () => {
  it('joins (201), adds the chat room, notifies the host; leaving (204) removes both', async () => {
    const host = await signup(api);
    const guest = await signup(api, { nickname: 'Guest' });
    const m = await meetup(host);
    const res = await post(guest, `/meetups/${m.id}/participants`).expect(201);
    expect(res.body.participantCount).toBe(2);
    expect(res.body.participants.map((p: { id: number }) => p.id)).toEqual([host.user.id, guest.user.id]);
    expect(await roomIds(guest)).toContain(m.chatRoomId);
    await settle();
    const notes = await notificationsOf(host, 'meetup.joined');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      title: expect.stringContaining('Guest'),
      data: { meetupId: m.id, userId: guest.user.id },
    });

    await del(guest, `/meetups/${m.id}/participants/me`).expect(204);
    expect(await roomIds(guest)).not.toContain(m.chatRoomId);
    await get(guest, `/chat/rooms/${m.chatRoomId}/messages`).expect(404);
    expect((await get(host, `/meetups/${m.id}`)).body.participantCount).toBe(1);
    // Leaving twice: not a participant any more.
    await del(guest, `/meetups/${m.id}/participants/me`).expect(404);
    // And back again.
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    expect(await roomIds(guest)).toContain(m.chatRoomId);
  });

  it('answers 409 to a second join, a full meetup, a started one and to the host leaving; 404 for a missing one', async () => {
    const host = await signup(api);
    const m = await meetup(host, { capacity: 2 });
    const guest = await signup(api);
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    expect((await post(guest, `/meetups/${m.id}/participants`).expect(409)).body.detail).toMatch(/already/);
    expect((await post(host, `/meetups/${m.id}/participants`).expect(409)).body.detail).toMatch(/already/);
    expect((await post(await signup(api), `/meetups/${m.id}/participants`).expect(409)).body.detail).toMatch(/full/);
    expect((await del(host, `/meetups/${m.id}/participants/me`).expect(409)).body.detail).toMatch(/host/);
    await post(guest, '/meetups/999999/participants').expect(404);

    const later = await meetup(host);
    clock.set(at(DAY));
    expect((await post(guest, `/meetups/${later.id}/participants`).expect(409)).body.detail).toMatch(/started/);
    await del(guest, `/meetups/${m.id}/participants/me`).expect(409);
  });

  it('enforces capacity under 30 concurrent joins through two instances: exactly 4 succeed', async () => {
    const host = await signup(api);
    const m = await meetup(host, { capacity: 5 });
    const users = await Promise.all(Array.from({ length: 30 }, () => signup(api)));
    const results = await Promise.all(
      users.map((u, i) =>
        (i % 2 ? api2 : api).http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(u.accessToken)),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 409)).toHaveLength(26);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('CONFLICT');
    expect(await count('SELECT participantCount AS n FROM meetups WHERE id = ?', [m.id])).toBe(5);
    expect(await count('SELECT COUNT(*) AS n FROM meetup_participants WHERE meetupId = ?', [m.id])).toBe(5);
    // Chat membership follows participation exactly: the winners are members, the others are not.
    const chat = api.pawmate.services.chat;
    const membership = await Promise.all(users.map((u) => chat.isMember(m.chatRoomId, u.user.id)));
    expect(membership).toEqual(results.map((r) => r.status === 201));
    expect(await chat.isMember(m.chatRoomId, host.user.id)).toBe(true);
  });

  it('one user joining twice at once gets one place', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const m = await meetup(host, { capacity: 10 });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        (i % 2 ? api2 : api).http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(guest.accessToken)),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(await count('SELECT participantCount AS n FROM meetups WHERE id = ?', [m.id])).toBe(2);
  });
});

describe('GET /meetups/mine', () => {
  it('lists by role and time, pages with a cursor', async () => {
    const me = await signup(api);
    const other = await signup(api);
    const hosted1 = await meetup(me, { startsAt: at(2 * DAY) });
    const hosted2 = await meetup(me, { startsAt: at(DAY) });
    const joined = await meetup(other, { startsAt: at(3 * DAY) });
    await meetup(other, { startsAt: at(DAY) }); // not mine
    await post(me, `/meetups/${joined.id}/participants`).expect(201);

    const ids = (res: { body: { items: { id: number }[] } }) => res.body.items.map((i) => i.id);
    expect(ids(await get(me, '/meetups/mine').expect(200))).toEqual([hosted2.id, hosted1.id, joined.id]);
    expect(ids(await get(me, '/meetups/mine?role=host').expect(200))).toEqual([hosted2.id, hosted1.id]);
    expect(ids(await get(me, '/meetups/mine?role=participant').expect(200))).toEqual([joined.id]);

    const page1 = await get(me, '/meetups/mine?limit=2').expect(200);
    expect(ids(page1)).toEqual([hosted2.id, hosted1.id]);
    const page2 = await get(me, `/meetups/mine?limit=2&cursor=${page1.body.nextCursor}`).expect(200);
    expect(ids(page2)).toEqual([joined.id]);
    expect(page2.body.nextCursor).toBeNull();
    expect(paths(await get(me, '/meetups/mine?cursor=nope').expect(400))).toEqual(['query.cursor']);
    expect(paths(await get(me, '/meetups/mine?role=admin').expect(400))).toEqual(['query.role']);

    // Two days later the first hosted one has ended (it lasted 3 h).
    clock.set(at(2 * DAY + 4 * HOUR));
    expect(ids(await get(me, '/meetups/mine?when=past').expect(200))).toEqual([hosted1.id, hosted2.id]);
    expect(ids(await get(me, '/meetups/mine?when=upcoming').expect(200))).toEqual([joined.id]);
  });
});

describe('reminders', () => {
  it('notify every participant once, one hour before the start, however many sweeps run', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const m = await meetup(host, { startsAt: at(3 * HOUR) });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    await service().sweep();
    await settle();
    expect(await notificationsOf(guest, 'meetup.reminder')).toHaveLength(0);

    clock.set(at(2 * HOUR + 60_000));
    const s1 = api.pawmate.services.meetups;
    const s2 = api2.pawmate.services.meetups;
    const results = await Promise.all([s1.sweep(), s2.sweep(), s1.sweep(), s2.sweep()]);
    expect(results.reduce((n, r) => n + r.reminded, 0)).toBeGreaterThanOrEqual(1);
    await s1.sweep();
    await settle();
    for (const who of [host, guest]) {
      const notes = (await notificationsOf(who, 'meetup.reminder')).filter((n) => n.data.meetupId === m.id);
      expect(notes).toHaveLength(1);
      expect(notes[0].data).toMatchObject({ reason: 'starting-soon' });
    }
    expect(await count('SELECT COUNT(*) AS n FROM meetups WHERE id = ? AND reminderSentAt IS NOT NULL', [m.id])).toBe(
      1,
    );

    // Someone joining after the reminder went out gets theirs at once, and only once (leave + rejoin).
    const late = await signup(api);
    await post(late, `/meetups/${m.id}/participants`).expect(201);
    await del(late, `/meetups/${m.id}/participants/me`).expect(204);
    await post(late, `/meetups/${m.id}/participants`).expect(201);
    await s1.sweep();
    await settle();
    expect((await notificationsOf(late, 'meetup.reminder')).filter((n) => n.data.meetupId === m.id)).toHaveLength(1);

    // Moving the start re-arms it.
    await patch(host, `/meetups/${m.id}`, { startsAt: at(2 * HOUR + 30 * 60_000) }).expect(200);
    await service().sweep();
    await settle();
    const guestNotes = (await notificationsOf(guest, 'meetup.reminder')).filter((n) => n.data.meetupId === m.id);
    expect(guestNotes.map((n) => n.data.reason).sort()).toEqual(['rescheduled', 'starting-soon', 'starting-soon']);
  });

  it('never reminds about a cancelled meetup', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const m = await meetup(host, { startsAt: at(30 * 60_000) });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    await del(host, `/meetups/${m.id}`).expect(204);
    await service().sweep();
    await settle();
    expect((await notificationsOf(guest, 'meetup.reminder')).filter((n) => n.data.meetupId === m.id)).toHaveLength(0);
  });
});

describe('attendance and host rating', () => {
  async function started() {
    const host = await signup(api);
    const guest = await signup(api);
    const absent = await signup(api);
    const stranger = await signup(api);
    const m = await meetup(host, { startsAt: at(HOUR) });
    await post(guest, `/meetups/${m.id}/participants`).expect(201);
    await post(absent, `/meetups/${m.id}/participants`).expect(201);
    return { host, guest, absent, stranger, m };
  }

  it('lets the host mark participants after the start, once each', async () => {
    const { host, guest, absent, stranger, m } = await started();
    expect(
      (await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(409)).body.detail,
    ).toMatch(/started/);
    clock.set(at(HOUR + 60_000));
    await post(guest, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(403);
    await post(stranger, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(404);
    const bad = await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id, stranger.user.id] }).expect(
      400,
    );
    expect(paths(bad)).toEqual(['body.userIds.1']);
    expect(paths(await post(host, `/meetups/${m.id}/attendance`, { userIds: [] }).expect(400))).toContain(
      'body.userIds',
    );
    expect(paths(await post(host, `/meetups/${m.id}/attendance`, { userIds: [1, 1] }).expect(400))).toEqual([
      'body.userIds.1',
    ]);

    const first = await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id, host.user.id] }).expect(
      200,
    );
    expect(first.body).toEqual({
      marked: [host.user.id, guest.user.id].sort((a, b) => a - b),
      attended: [host.user.id, guest.user.id].sort((a, b) => a - b),
    });
    clock.advance(60_000);
    const again = await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(200);
    expect(again.body.marked).toEqual([]);
    const view = await get(host, `/meetups/${m.id}`).expect(200);
    const byId = new Map(
      view.body.participants.map((p: { id: number; attendedAt: string | null }) => [p.id, p.attendedAt]),
    );
    expect(byId.get(guest.user.id)).toBe(at(HOUR + 60_000));
    expect(byId.get(absent.user.id)).toBeNull();

    clock.set(at(HOUR + 7 * DAY + 1));
    await post(host, `/meetups/${m.id}/attendance`, { userIds: [absent.user.id] }).expect(409);
  });

  it('lets attendees rate the host once within 7 days; the summary shows on the meetup and the user', async () => {
    const { host, guest, absent, stranger, m } = await started();
    clock.set(at(HOUR + 60_000));
    await post(guest, `/meetups/${m.id}/host-rating`, { rating: 5 }).expect(403); // not marked yet
    await post(host, `/meetups/${m.id}/attendance`, { userIds: [guest.user.id] }).expect(200);
    expect(paths(await post(guest, `/meetups/${m.id}/host-rating`, { rating: 6 }).expect(400))).toEqual([
      'body.rating',
    ]);
    expect(paths(await post(guest, `/meetups/${m.id}/host-rating`, {}).expect(400))).toEqual(['body.rating']);

    const res = await post(guest, `/meetups/${m.id}/host-rating`, { rating: 4 }).expect(201);
    expect(res.body).toMatchObject({ meetupId: m.id, rating: 4, hostRating: { average: 4, count: 1 } });
    expect((await post(guest, `/meetups/${m.id}/host-rating`, { rating: 5 }).expect(409)).body.code).toBe('CONFLICT');
    await post(absent, `/meetups/${m.id}/host-rating`, { rating: 1 }).expect(403);
    await post(stranger, `/meetups/${m.id}/host-rating`, { rating: 1 }).expect(403);
    await post(host, `/meetups/${m.id}/host-rating`, { rating: 5 }).expect(403);
    await post(guest, '/meetups/999999/host-rating', { rating: 5 }).expect(404);

    expect((await get(stranger, `/users/${host.user.id}/host-rating`).expect(200)).body).toEqual({
      average: 4,
      count: 1,
    });
    // Public, like the profile it belongs to.
    expect((await api.http.get(`/api/v1/users/${host.user.id}/host-rating`).expect(200)).body).toEqual({
      average: 4,
      count: 1,
    });
    expect((await get(stranger, `/meetups/${m.id}`).expect(200)).body.host.hostRating).toEqual({
      average: 4,
      count: 1,
    });
    expect((await get(stranger, `/users/${stranger.user.id}/host-rating`).expect(200)).body).toEqual({
      average: null,
      count: 0,
    });
    await get(stranger, '/users/999999/host-rating').expect(404);

    // A second meetup of the same host: the summary averages both; after 7 days no more ratings.
    clock.set(T0);
    const m2 = await meetup(host, { startsAt: at(HOUR) });
    await post(absent, `/meetups/${m2.id}/participants`).expect(201);
    clock.set(at(2 * HOUR));
    await post(host, `/meetups/${m2.id}/attendance`, { userIds: [absent.user.id] }).expect(200);
    const second = await post(absent, `/meetups/${m2.id}/host-rating`, { rating: 1 }).expect(201);
    expect(second.body.hostRating).toEqual({ average: 2.5, count: 2 });
    clock.set(at(HOUR + 7 * DAY + 1));
    expect((await post(guest, `/meetups/${m2.id}/host-rating`, { rating: 3 }).expect(409)).body.code).toBe('CONFLICT');
  });

  it('counts concurrent ratings of one host exactly', async () => {
    const host = await signup(api);
    const guests = await Promise.all(Array.from({ length: 6 }, () => signup(api)));
    const m = await meetup(host, { startsAt: at(HOUR), capacity: 10 });
    for (const g of guests) await post(g, `/meetups/${m.id}/participants`).expect(201);
    clock.set(at(2 * HOUR));
    await post(host, `/meetups/${m.id}/attendance`, { userIds: guests.map((g) => g.user.id) }).expect(200);
    const results = await Promise.all(
      guests.map((g, i) =>
        (i % 2 ? api2 : api).http
          .post(`/api/v1/meetups/${m.id}/host-rating`)
          .set(bearer(g.accessToken))
          .send({ rating: (i % 5) + 1 }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    const expected = guests.reduce((n, _, i) => n + (i % 5) + 1, 0) / 6;
    const summary = (await get(host, `/users/${host.user.id}/host-rating`).expect(200)).body;
    expect(summary.count).toBe(6);
    expect(summary.average).toBeCloseTo(Math.round(expected * 100) / 100, 2);
  });
});
