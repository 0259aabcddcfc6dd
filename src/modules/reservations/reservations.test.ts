import { QueryTypes } from 'sequelize';
import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeOwner, makePet, makeSitter, type Session } from '../../../test/helpers/fixtures';
import { SmtpPeer } from '../../../test/helpers/smtp';

// 09:00 in Seoul on 2027-03-01: "today" is 2027-03-01 in SERVICE_TZ.
const clock = new ManualClock('2027-03-01T00:00:00Z');
const smtp = new SmtpPeer();
let ctx: TestContext;
let api: TestInstance;
const service = () => api.pawmate.services.reservations;

beforeAll(async () => {
  await smtp.start();
  // Tokens outlive the clock jumps of these tests (days, not minutes).
  ctx = await new TestContext({
    clock,
    smtpUrl: smtp.url,
    env: { ACCESS_TOKEN_TTL_SEC: String(90 * 24 * 3600) },
  }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});
beforeEach(() => clock.set('2027-03-01T00:00:00Z'));

const post = (s: Session, path: string, body: object = {}) =>
  api.http.post(`/api/v1${path}`).set(bearer(s.accessToken)).send(body);
const get = (s: Session, path: string) => api.http.get(`/api/v1${path}`).set(bearer(s.accessToken));

function request(
  owner: Session,
  sitterId: number,
  petIds: number[],
  o: Partial<{ startDate: string; endDate: string; service: string }> = {},
) {
  return post(owner, '/reservations', {
    sitterId,
    service: o.service ?? 'boarding',
    petIds,
    startDate: o.startDate ?? '2027-03-10',
    endDate: o.endDate ?? '2027-03-12',
    note: 'Feeds twice a day',
  });
}

/** A fresh sitter, owner and requested reservation. */
async function setup(o: { maxPets?: number } = {}) {
  const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: o.maxPets ?? 2 });
  const { owner, pet } = await makeOwner(api);
  const res = await request(owner, sitter.id, [pet.id]);
  expect(res.status).toBe(201);
  return { sitterUser, sitter, owner, pet, reservation: res.body };
}

describe('POST /reservations', () => {
  it('creates a requested reservation with a fixed total price, a chat room and a notification for the sitter', async () => {
    const { sitter, sitterUser, owner, pet, reservation } = await setup();
    expect(reservation).toMatchObject({
      status: 'requested',
      service: 'boarding',
      startDate: '2027-03-10',
      endDate: '2027-03-12',
      totalPrice: 10_000 * 3 * 1,
      note: 'Feeds twice a day',
      cancelledBy: null,
      cancelReason: null,
      owner: { id: owner.user.id, nickname: 'Owner' },
      sitter: { id: sitter.id, userId: sitterUser.user.id, nickname: 'Sitter' },
      pets: [{ id: pet.id, name: 'Bori', size: 'small' }],
    });
    expect(reservation.owner).not.toHaveProperty('email');
    expect(reservation.chatRoomId).toEqual(expect.any(Number));
    const rooms = await get(sitterUser, '/chat/rooms').expect(200);
    expect(rooms.body.items.map((r: { id: number }) => r.id)).toContain(reservation.chatRoomId);
    const notes = await get(sitterUser, '/notifications').expect(200);
    expect(notes.body.items[0]).toMatchObject({
      type: 'reservation.requested',
      data: { reservationId: reservation.id },
    });
    // The owner is not notified of their own request.
    const mine = await get(owner, '/notifications').expect(200);
    expect(mine.body.items).toHaveLength(0);
  });

  it('prices several pets and days', async () => {
    const { sitter } = await makeSitter(api, { services: ['daycare'], prices: { daycare: 25_000 }, maxPets: 3 });
    const owner = await signup(api);
    const pets = [await makePet(api, owner), await makePet(api, owner, { name: 'Kong', size: 'medium' })];
    const res = await request(
      owner,
      sitter.id,
      pets.map((p) => p.id),
      { service: 'daycare', startDate: '2027-03-01', endDate: '2027-03-04' },
    );
    expect(res.status).toBe(201);
    expect(res.body.totalPrice).toBe(25_000 * 4 * 2);
  });

  it.each([
    [{ startDate: '2027-02-28', endDate: '2027-03-02' }, 'body.startDate'],
    [{ startDate: '2027-03-05', endDate: '2027-03-04' }, 'body.endDate'],
    [{ startDate: '2027-03-01', endDate: '2027-03-31' }, 'body.endDate'],
    [{ startDate: '2027-02-30', endDate: '2027-03-04' }, 'body.startDate'],
  ])('refuses dates %j with 400 naming %s', async (dates, path) => {
    const { sitter } = await makeSitter(api);
    const { owner, pet } = await makeOwner(api);
    const res = await request(owner, sitter.id, [pet.id], dates).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('accepts exactly 30 days', async () => {
    const { sitter } = await makeSitter(api);
    const { owner, pet } = await makeOwner(api);
    await request(owner, sitter.id, [pet.id], { startDate: '2027-03-01', endDate: '2027-03-30' }).expect(201);
  });

  it.each([
    [{}, 'body.sitterId'],
    [{ sitterId: 1, service: 'grooming' }, 'body.service'],
    [{ sitterId: 1, petIds: [] }, 'body.petIds'],
    [{ sitterId: 1, petIds: [1, 1] }, 'body.petIds.1'],
  ])('validates the body %j (%s)', async (body, path) => {
    const owner = await signup(api);
    const res = await post(owner, '/reservations', {
      service: 'boarding',
      petIds: [1],
      startDate: '2027-03-10',
      endDate: '2027-03-11',
      ...body,
    }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('answers 404 for another owner’s pet and for a missing sitter, and writes nothing', async () => {
    const { sitter } = await makeSitter(api);
    const { pet: strangersPet } = await makeOwner(api);
    const { owner } = await makeOwner(api);
    await request(owner, sitter.id, [strangersPet.id]).expect(404);
    const mine = await makePet(api, owner);
    await request(owner, 4_000_000, [mine.id]).expect(404);
    const list = await get(owner, '/reservations').expect(200);
    expect(list.body.items).toHaveLength(0);
  });

  it.each([
    ['the sitter is inactive', 'inactive'],
    ['the service is not offered', 'service'],
    ['a pet size is not taken', 'size'],
    ['there are more pets than maxPets', 'maxPets'],
    ['a day is unavailable', 'unavailable'],
    ['the owner books themself', 'self'],
  ])('answers 409 when %s', async (_label, kind) => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 1 });
    let owner = (await makeOwner(api)).owner;
    if (kind === 'self') owner = sitterUser;
    const pet = await makePet(api, owner, { size: kind === 'size' ? 'large' : 'small' });
    const petIds = [pet.id];
    if (kind === 'maxPets') petIds.push((await makePet(api, owner, { name: 'Second' })).id);
    if (kind === 'inactive')
      await api.http.delete('/api/v1/sitters/me').set(bearer(sitterUser.accessToken)).expect(204);
    if (kind === 'unavailable') {
      await api.http
        .put('/api/v1/sitters/me/unavailable-dates')
        .set(bearer(sitterUser.accessToken))
        .send({ dates: ['2027-03-11'] })
        .expect(200);
    }
    const res = await request(owner, sitter.id, petIds, {
      service: kind === 'service' ? 'daycare' : 'boarding',
    }).expect(409);
    expect(res.body).toMatchObject({ code: 'CONFLICT', detail: expect.any(String) });
    if (kind === 'unavailable') expect(res.body.detail).toContain('2027-03-11');
  });

  it('takes a second open request by the same owner with the same sitter on the same days (another pet, another service)', async () => {
    const { sitter, owner, pet, reservation } = await setup();
    const cat = await makePet(api, owner, { name: 'Nabi' });
    const again = await request(owner, sitter.id, [cat.id], { startDate: '2027-03-10', endDate: '2027-03-12' }).expect(
      201,
    );
    const walking = await request(owner, sitter.id, [pet.id], { service: 'walking' }).expect(201);
    expect(new Set([reservation.id, again.body.id, walking.body.id]).size).toBe(3);
    const mine = await get(owner, '/reservations?role=owner').expect(200);
    expect(mine.body.items.map((r: { id: number }) => r.id)).toEqual(
      expect.arrayContaining([reservation.id, again.body.id, walking.body.id]),
    );
  });

  it('answers 409 when the days are already full', async () => {
    const { sitter, sitterUser, reservation } = await setup({ maxPets: 1 });
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    const { owner, pet } = await makeOwner(api);
    const res = await request(owner, sitter.id, [pet.id], { startDate: '2027-03-12', endDate: '2027-03-13' }).expect(
      409,
    );
    expect(res.body.detail).toContain('2027-03-12');
  });
});

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body, refuses another body, and creates once under concurrency', async () => {
    const { sitter } = await makeSitter(api, { maxPets: 3 });
    const { owner, pet } = await makeOwner(api);
    const body = {
      sitterId: sitter.id,
      service: 'boarding',
      petIds: [pet.id],
      startDate: '2027-03-10',
      endDate: '2027-03-11',
    };
    const send = (b: object, key: string) =>
      api.http.post('/api/v1/reservations').set(bearer(owner.accessToken)).set('Idempotency-Key', key).send(b);

    const [a, b] = await Promise.all([send(body, 'key-1'), send(body, 'key-1')]);
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(201);
    const c = await send(body, 'key-1').expect(201);
    expect(c.body.id).toBe(a.status === 201 ? a.body.id : b.body.id);
    await send({ ...body, endDate: '2027-03-12' }, 'key-1').expect(409);
    const list = await get(owner, '/reservations').expect(200);
    expect(list.body.items).toHaveLength(1);

    // After 24 h the key is forgotten: the same body is a new request, a second reservation.
    clock.advance(25 * 3600 * 1000);
    const later = await send(body, 'key-1').expect(201);
    expect(later.body.id).not.toBe(c.body.id);
  });

  it('refuses a malformed key', async () => {
    const owner = await signup(api);
    const res = await api.http
      .post('/api/v1/reservations')
      .set(bearer(owner.accessToken))
      .set('Idempotency-Key', 'x'.repeat(201))
      .send({})
      .expect(400);
    expect(res.body.errors[0].path).toMatch(/^headers\.idempotency-key/);
  });
});

describe('lifecycle', () => {
  type State = 'requested' | 'accepted' | 'rejected' | 'cancelled' | 'completed';
  const ACTIONS = ['accept', 'reject', 'cancel', 'complete'] as const;

  async function reservationIn(state: State, started: boolean) {
    const { user: sitterUser, sitter } = await makeSitter(api);
    const { owner, pet } = await makeOwner(api);
    const start = started ? '2027-03-02' : '2027-03-10';
    const res = await request(owner, sitter.id, [pet.id], { startDate: start, endDate: '2027-03-12' }).expect(201);
    const id = res.body.id;
    if (state === 'accepted' || state === 'completed') await post(sitterUser, `/reservations/${id}/accept`).expect(200);
    if (state === 'rejected') await post(sitterUser, `/reservations/${id}/reject`).expect(200);
    if (state === 'cancelled') await post(owner, `/reservations/${id}/cancel`).expect(200);
    if (started) clock.set('2027-03-02T00:00:00Z');
    if (state === 'completed') await post(sitterUser, `/reservations/${id}/complete`).expect(200);
    return { id, owner, sitterUser };
  }

  // expected[state][action] for the rightful party (before the start unless noted).
  const expected: Record<State, Record<(typeof ACTIONS)[number], number>> = {
    requested: { accept: 200, reject: 200, cancel: 200, complete: 409 },
    accepted: { accept: 409, reject: 409, cancel: 200, complete: 409 },
    rejected: { accept: 409, reject: 409, cancel: 409, complete: 409 },
    cancelled: { accept: 409, reject: 409, cancel: 409, complete: 409 },
    completed: { accept: 409, reject: 409, cancel: 409, complete: 409 },
  };

  const cases = (Object.keys(expected) as State[]).flatMap((state) =>
    ACTIONS.map((action) => [state, action] as const),
  );

  it.each(cases)(
    '%s → %s: right party gets the table’s answer, the other party 403 (sitter moves), a stranger 404',
    async (state, action) => {
      const { id, owner, sitterUser } = await reservationIn(state, state === 'completed');
      const stranger = await signup(api);
      await post(stranger, `/reservations/${id}/${action}`).expect(404);
      if (action !== 'cancel') await post(owner, `/reservations/${id}/${action}`).expect(403);
      const actor = action === 'cancel' ? owner : sitterUser;
      const res = await post(actor, `/reservations/${id}/${action}`);
      expect(res.status).toBe(expected[state][action]);
      if (res.status === 200) {
        const to = { accept: 'accepted', reject: 'rejected', cancel: 'cancelled', complete: 'completed' }[action];
        expect(res.body).toMatchObject({ id, status: to });
      } else {
        const after = await get(owner, `/reservations/${id}`).expect(200);
        expect(after.body.status).toBe(state);
      }
    },
  );

  it('lets the sitter cancel too, with a reason, and tells the owner', async () => {
    const { reservation, sitterUser, owner } = await setup();
    const res = await post(sitterUser, `/reservations/${reservation.id}/cancel`, { reason: 'Family emergency' }).expect(
      200,
    );
    expect(res.body).toMatchObject({ status: 'cancelled', cancelledBy: 'sitter', cancelReason: 'Family emergency' });
    const notes = await get(owner, '/notifications').expect(200);
    expect(notes.body.items[0]).toMatchObject({ type: 'reservation.cancelled' });
  });

  it('refuses cancel once started and allows complete from the start day on', async () => {
    const { reservation, sitterUser, owner } = await setup();
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    await post(sitterUser, `/reservations/${reservation.id}/complete`).expect(409);
    clock.set('2027-03-10T00:00:00Z');
    await post(owner, `/reservations/${reservation.id}/cancel`).expect(409);
    await post(sitterUser, `/reservations/${reservation.id}/complete`).expect(200);
  });

  it('mails the owner when the sitter accepts (through the queue, to a real SMTP peer)', async () => {
    const { reservation, sitterUser, owner } = await setup();
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    const mail = await smtp.waitFor(owner.email, /accepted/i);
    expect(mail.raw).toContain('2027-03-10');
  });

  it('frees the days when an accepted reservation is cancelled', async () => {
    const { sitter, sitterUser, owner, reservation } = await setup({ maxPets: 1 });
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    await post(owner, `/reservations/${reservation.id}/cancel`).expect(200);
    const other = await makeOwner(api);
    const again = await request(other.owner, sitter.id, [other.pet.id]).expect(201);
    await post(sitterUser, `/reservations/${again.body.id}/accept`).expect(200);
  });
});

describe('capacity under concurrency', () => {
  it('20 concurrent accepts on a sitter with maxPets 1 → exactly one succeeds, the rest 409 and unchanged', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 1 });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { owner, pet } = await makeOwner(api);
      ids.push(
        (await request(owner, sitter.id, [pet.id], { startDate: '2027-03-20', endDate: '2027-03-21' }).expect(201)).body
          .id,
      );
    }
    const results = await Promise.all(ids.map((id) => post(sitterUser, `/reservations/${id}/accept`)));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
    const [row] = await api.sequelize.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM reservations WHERE sitterId = ? AND status = 'accepted'",
      { replacements: [sitter.id], type: QueryTypes.SELECT },
    );
    expect(Number(row.n)).toBe(1);
    const days = await api.sequelize.query<{ pets: number }>('SELECT pets FROM sitter_booked_days WHERE sitterId = ?', {
      replacements: [sitter.id],
      type: QueryTypes.SELECT,
    });
    expect(days.map((d) => Number(d.pets))).toEqual([1, 1]);
  });

  it('leaves a sitter whose days are full out of a search over those days', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, {
      maxPets: 1,
      location: { lat: 35.1796, lng: 129.0756 },
    });
    const { owner, pet } = await makeOwner(api);
    const r = await request(owner, sitter.id, [pet.id], { startDate: '2027-04-01', endDate: '2027-04-02' }).expect(201);
    await api.pawmate.outbox.drain();
    const search = (q: string) =>
      api.http.get(`/api/v1/sitters/search?lat=35.1796&lng=129.0756&radiusKm=1${q}`).expect(200);
    expect((await search('&from=2027-04-02&to=2027-04-03')).body.items.map((s: { id: number }) => s.id)).toContain(
      sitter.id,
    );
    await post(sitterUser, `/reservations/${r.body.id}/accept`).expect(200);
    expect((await search('&from=2027-04-02&to=2027-04-03')).body.items.map((s: { id: number }) => s.id)).not.toContain(
      sitter.id,
    );
    expect((await search('&from=2027-04-03&to=2027-04-05')).body.items.map((s: { id: number }) => s.id)).toContain(
      sitter.id,
    );
    expect((await search('')).body.items.map((s: { id: number }) => s.id)).toContain(sitter.id);
  });
});

describe('lists', () => {
  it('lists by role and status with cursor pagination, newest first', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 5 });
    const { owner, pet } = await makeOwner(api);
    const made: number[] = [];
    for (const start of ['2027-05-01', '2027-05-03', '2027-05-05']) {
      made.push((await request(owner, sitter.id, [pet.id], { startDate: start, endDate: start }).expect(201)).body.id);
    }
    await post(sitterUser, `/reservations/${made[0]}/reject`).expect(200);
    const page1 = await get(owner, '/reservations?role=owner&limit=2').expect(200);
    expect(page1.body.items.map((r: { id: number }) => r.id)).toEqual([made[2], made[1]]);
    const page2 = await get(owner, `/reservations?role=owner&limit=2&cursor=${page1.body.nextCursor}`).expect(200);
    expect(page2.body).toEqual({ items: [expect.objectContaining({ id: made[0] })], nextCursor: null });
    const asSitter = await get(sitterUser, '/reservations?role=sitter&status=requested').expect(200);
    expect(asSitter.body.items.map((r: { id: number }) => r.id)).toEqual([made[2], made[1]]);
    expect((await get(owner, '/reservations?role=sitter').expect(200)).body.items).toHaveLength(0);
    await get(owner, '/reservations?status=lost').expect(400);
    await get(owner, '/reservations?cursor=abc').expect(400);
  });

  it('shows a reservation to its two parties only', async () => {
    const { reservation, owner, sitterUser } = await setup();
    await get(owner, `/reservations/${reservation.id}`).expect(200);
    await get(sitterUser, `/reservations/${reservation.id}`).expect(200);
    await get(await signup(api), `/reservations/${reservation.id}`).expect(404);
  });
});

describe('reviews', () => {
  async function completed() {
    const s = await setup();
    await post(s.sitterUser, `/reservations/${s.reservation.id}/accept`).expect(200);
    clock.set('2027-03-10T00:00:00Z');
    await post(s.sitterUser, `/reservations/${s.reservation.id}/complete`).expect(200);
    return s;
  }

  it('takes one review per completed reservation, from its owner only', async () => {
    const s = await setup();
    await post(s.owner, `/reservations/${s.reservation.id}/review`, { rating: 5 }).expect(409);
    await post(s.sitterUser, `/reservations/${s.reservation.id}/accept`).expect(200);
    clock.set('2027-03-10T00:00:00Z');
    await post(s.sitterUser, `/reservations/${s.reservation.id}/complete`).expect(200);
    await post(s.sitterUser, `/reservations/${s.reservation.id}/review`, { rating: 5 }).expect(403);
    await post(await signup(api), `/reservations/${s.reservation.id}/review`, { rating: 5 }).expect(404);
    const bad = await post(s.owner, `/reservations/${s.reservation.id}/review`, { rating: 6 }).expect(400);
    expect(bad.body.errors[0].path).toBe('body.rating');
    const ok = await post(s.owner, `/reservations/${s.reservation.id}/review`, {
      rating: 4,
      comment: 'Great with Bori',
    }).expect(201);
    expect(ok.body).toMatchObject({ rating: 4, comment: 'Great with Bori', author: { id: s.owner.user.id } });
    await post(s.owner, `/reservations/${s.reservation.id}/review`, { rating: 1 }).expect(409);
    const reviews = await api.http.get(`/api/v1/sitters/${s.sitter.id}/reviews`).expect(200);
    expect(reviews.body.items).toEqual([
      expect.objectContaining({ id: ok.body.id, rating: 4, comment: 'Great with Bori' }),
    ]);
    const notes = await get(s.sitterUser, '/notifications').expect(200);
    expect(notes.body.items.map((n: { type: string }) => n.type)).toContain('review.new');
  });

  it('answers the createdAt it stored', async () => {
    const s = await completed();
    // Let time run as it does in production: every reading of the clock is a millisecond later.
    const now = clock.now.bind(clock);
    clock.now = () => {
      clock.advance(1);
      return now();
    };
    try {
      const ok = await post(s.owner, `/reservations/${s.reservation.id}/review`, { rating: 5 }).expect(201);
      const reviews = await api.http.get(`/api/v1/sitters/${s.sitter.id}/reviews`).expect(200);
      expect(reviews.body.items[0]).toMatchObject({ id: ok.body.id, createdAt: ok.body.createdAt });
    } finally {
      clock.now = now;
    }
  });

  it('gives one 201 and one 409 for concurrent double submits', async () => {
    const s = await completed();
    const results = await Promise.all(
      [1, 2].map(() => post(s.owner, `/reservations/${s.reservation.id}/review`, { rating: 3 })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('keeps the sitter’s rating and count equal to what the reviews say', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 10 });
    const ratings = [5, 4, 4, 2];
    for (const [i, rating] of ratings.entries()) {
      clock.set('2027-03-01T00:00:00Z');
      const { owner, pet } = await makeOwner(api);
      const day = `2027-03-1${i}`;
      const r = await request(owner, sitter.id, [pet.id], { startDate: day, endDate: day }).expect(201);
      await post(sitterUser, `/reservations/${r.body.id}/accept`).expect(200);
      clock.set(`${day}T00:00:00Z`);
      await post(sitterUser, `/reservations/${r.body.id}/complete`).expect(200);
      await post(owner, `/reservations/${r.body.id}/review`, { rating }).expect(201);
    }
    const profile = await api.http.get(`/api/v1/sitters/${sitter.id}`).expect(200);
    const [truth] = await api.sequelize.query<{ avg: string; n: number }>(
      'SELECT AVG(rating) AS avg, COUNT(*) AS n FROM reviews WHERE sitterId = ?',
      {
        replacements: [sitter.id],
        type: QueryTypes.SELECT,
      },
    );
    expect(profile.body.reviewCount).toBe(Number(truth.n));
    expect(profile.body.rating).toBeCloseTo(Number(truth.avg), 2);
    expect(profile.body.rating).toBeCloseTo(3.75, 2);
    expect(profile.body.ratingSummary).toMatchObject({
      count: 4,
      distribution: { '1': 0, '2': 1, '3': 0, '4': 2, '5': 1 },
    });
  });
});

describe('scheduled sweeps (controllable clock)', () => {
  it('expires a request not answered within 48 h, once, and tells both parties', async () => {
    const { reservation, owner, sitterUser } = await setup();
    clock.advance(47 * 3600 * 1000);
    await service().sweep();
    expect((await get(owner, `/reservations/${reservation.id}`)).body.status).toBe('requested');
    clock.advance(2 * 3600 * 1000);
    await Promise.all([service().sweep(), service().sweep()]);
    const r = await get(owner, `/reservations/${reservation.id}`).expect(200);
    expect(r.body).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'system',
      cancelReason: expect.stringMatching(/did not answer/),
    });
    for (const who of [owner, sitterUser]) {
      const notes = await get(who, '/notifications').expect(200);
      expect(
        notes.body.items.filter(
          (n: { type: string; data: { reservationId: number } }) =>
            n.type === 'reservation.cancelled' && n.data.reservationId === reservation.id,
        ),
      ).toHaveLength(1);
    }
  });

  it('expires a request whose start day has passed', async () => {
    const { sitter } = await makeSitter(api);
    const { owner, pet } = await makeOwner(api);
    const r = await request(owner, sitter.id, [pet.id], { startDate: '2027-03-01', endDate: '2027-03-01' }).expect(201);
    clock.set('2027-03-01T14:00:00Z'); // 23:00 in Seoul: still the start day
    await service().sweep();
    expect((await get(owner, `/reservations/${r.body.id}`)).body.status).toBe('requested');
    clock.set('2027-03-01T15:30:00Z'); // 00:30 on 2 March in Seoul
    await service().sweep();
    expect((await get(owner, `/reservations/${r.body.id}`)).body.status).toBe('cancelled');
  });

  it('mails both parties a reminder on the day before the start, exactly once across concurrent sweeps', async () => {
    const { reservation, sitterUser, owner } = await setup();
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    const reminders = (email: string) =>
      smtp.mails.filter((m) => m.to.includes(email) && /Reminder/.test(m.subject)).length;
    clock.set('2027-03-08T03:00:00Z');
    await service().sweep();
    await api.pawmate.outbox.drain();
    await new Promise((r) => setTimeout(r, 300));
    expect(reminders(owner.email)).toBe(0);
    clock.set('2027-03-09T03:00:00Z'); // 9 March in Seoul, the day before
    await Promise.all([service().sweep(), service().sweep(), service().sweep()]);
    await smtp.waitFor(owner.email, /Reminder/);
    await smtp.waitFor(sitterUser.email, /Reminder/);
    await service().sweep();
    await api.pawmate.outbox.drain();
    await new Promise((r) => setTimeout(r, 300));
    expect(reminders(owner.email)).toBe(1);
    expect(reminders(sitterUser.email)).toBe(1);
  });

  it('auto-completes an accepted reservation 7 days after its end day', async () => {
    const { reservation, sitterUser, owner } = await setup();
    await post(sitterUser, `/reservations/${reservation.id}/accept`).expect(200);
    clock.set('2027-03-18T03:00:00Z');
    await service().sweep();
    expect((await get(owner, `/reservations/${reservation.id}`)).body.status).toBe('accepted');
    clock.set('2027-03-19T03:00:00Z');
    await service().sweep();
    const done = await get(owner, `/reservations/${reservation.id}`).expect(200);
    expect(done.body.status).toBe('completed');
    await post(owner, `/reservations/${reservation.id}/review`, { rating: 5 }).expect(201);
  });
});
