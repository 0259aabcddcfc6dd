import { TestContext, bearer, signup, type TestInstance } from './helpers/context';
import fs from 'node:fs';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { makeMeetup, makeOwner, makePet, makeSitter, type Session } from './helpers/fixtures';
import { image } from './helpers/images';
import { eventually } from './helpers/faults';
import { sittersGeoIndex } from '../src/modules/sitters/sitters.module';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

describe('account.deleted listeners', () => {
  it('roll the whole deletion back when one fails: the account, its logins and its sitter profile stay', async () => {
    const { user, sitter } = await makeSitter(api, { location: { lat: 37.4563, lng: 126.7052 } });
    const seen: number[] = [];
    api.pawmate.events.on('account.deleted', async ({ userId }) => {
      seen.push(userId);
      if (userId === user.user.id) throw new Error('listener refuses');
    });

    await api.http.delete('/api/v1/users/me').set(bearer(user.accessToken)).expect(500);

    expect(seen).toEqual([user.user.id]);
    const me = await api.http.get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    expect(me.body).toMatchObject({ id: user.user.id, nickname: user.user.nickname });
    await api.http.get(`/api/v1/sitters/${sitter.id}`).expect(200);
  });
});

describe('deleting an account that is a sitter', () => {
  it('takes the sitter out of search, the public profile and the geo index', async () => {
    const location = { lat: 33.4996, lng: 126.5312 };
    const { user, sitter } = await makeSitter(api, { location });
    const geo = sittersGeoIndex({ redis: api.redis, config: ctx.config });
    await eventually(() => geo.has(sitter.id), 5000, 'sitter indexed');
    const search = () =>
      api.http.get(`/api/v1/sitters/search?lat=${location.lat}&lng=${location.lng}&radiusKm=1`).expect(200);
    expect((await search()).body.items.map((s: { id: number }) => s.id)).toContain(sitter.id);

    await api.http.delete('/api/v1/users/me').set(bearer(user.accessToken)).expect(204);

    await eventually(async () => !(await geo.has(sitter.id)), 5000, 'sitter removed from the index');
    expect((await search()).body.items.map((s: { id: number }) => s.id)).not.toContain(sitter.id);
    await api.http.get(`/api/v1/sitters/${sitter.id}`).expect(404);
  });
});

describe('deleting an account that hosts meetups', () => {
  it('cancels the upcoming ones, tells their participants and takes them out of nearby search', async () => {
    const host = await signup(api, { nickname: 'Host' });
    const guest = await signup(api, { nickname: 'Guest' });
    const location = { lat: 35.8714, lng: 128.6014 };
    const meetup = await makeMeetup(api, host, { location });
    await api.http.post(`/api/v1/meetups/${meetup.id}/participants`).set(bearer(guest.accessToken)).expect(201);
    const nearby = () =>
      api.http
        .get(`/api/v1/meetups/nearby?lat=${location.lat}&lng=${location.lng}&radiusKm=1`)
        .set(bearer(guest.accessToken))
        .expect(200);
    await eventually(
      async () => (await nearby()).body.items.some((m: { id: number }) => m.id === meetup.id),
      5000,
      'meetup indexed',
    );

    await api.http.delete('/api/v1/users/me').set(bearer(host.accessToken)).expect(204);

    const after = await api.http.get(`/api/v1/meetups/${meetup.id}`).set(bearer(guest.accessToken)).expect(200);
    expect(after.body.status).toBe('cancelled');
    await eventually(
      async () => !(await nearby()).body.items.some((m: { id: number }) => m.id === meetup.id),
      5000,
      'meetup out of search',
    );
    const notes = await api.http.get('/api/v1/notifications').set(bearer(guest.accessToken)).expect(200);
    expect(notes.body.items.map((n: { type: string }) => n.type)).toContain('meetup.cancelled');
  });
});

describe('deleting an account that joined meetups', () => {
  it('gives its places back: a full meetup has room again and its count is right', async () => {
    const host = await signup(api);
    const guest = await signup(api);
    const late = await signup(api);
    const m = await makeMeetup(api, host, { capacity: 2 });
    await api.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(guest.accessToken)).expect(201);
    await api.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(late.accessToken)).expect(409);

    await api.http.delete('/api/v1/users/me').set(bearer(guest.accessToken)).expect(204);

    const after = await api.http.get(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(200);
    expect(after.body.participantCount).toBe(1);
    await api.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(late.accessToken)).expect(201);
  });
});

/** A calendar day `n` days after today (UTC; far enough ahead to be in the future in SERVICE_TZ too). */
const dayAhead = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

const book = (owner: Session, sitterId: number, petId: number) =>
  api.http
    .post('/api/v1/reservations')
    .set(bearer(owner.accessToken))
    .send({ sitterId, service: 'boarding', petIds: [petId], startDate: dayAhead(10), endDate: dayAhead(12) });

const notificationTypes = async (s: Session) =>
  (await api.http.get('/api/v1/notifications').set(bearer(s.accessToken)).expect(200)).body.items.map(
    (n: { type: string }) => n.type,
  );

describe('deleting an account with open reservations', () => {
  it('as owner: cancels them, tells the sitter and gives the accepted days back to the sitter', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 1 });
    const { owner, pet } = await makeOwner(api);
    const { owner: other, pet: otherPet } = await makeOwner(api);
    const accepted = (await book(owner, sitter.id, pet.id).expect(201)).body;
    await api.http.post(`/api/v1/reservations/${accepted.id}/accept`).set(bearer(sitterUser.accessToken)).expect(200);
    await book(other, sitter.id, otherPet.id).expect(409);

    await api.http.delete('/api/v1/users/me').set(bearer(owner.accessToken)).expect(204);

    const seen = await api.http
      .get(`/api/v1/reservations/${accepted.id}`)
      .set(bearer(sitterUser.accessToken))
      .expect(200);
    expect(seen.body).toMatchObject({ status: 'cancelled', cancelledBy: 'owner' });
    expect(await notificationTypes(sitterUser)).toContain('reservation.cancelled');
    const again = (await book(other, sitter.id, otherPet.id).expect(201)).body;
    await api.http.post(`/api/v1/reservations/${again.id}/accept`).set(bearer(sitterUser.accessToken)).expect(200);
  });

  it('as sitter: cancels the requested and accepted ones and tells each owner', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 2 });
    const a = await makeOwner(api);
    const b = await makeOwner(api);
    const requested = (await book(a.owner, sitter.id, a.pet.id).expect(201)).body;
    const accepted = (await book(b.owner, sitter.id, b.pet.id).expect(201)).body;
    await api.http.post(`/api/v1/reservations/${accepted.id}/accept`).set(bearer(sitterUser.accessToken)).expect(200);

    await api.http.delete('/api/v1/users/me').set(bearer(sitterUser.accessToken)).expect(204);

    for (const [s, r] of [
      [a.owner, requested],
      [b.owner, accepted],
    ] as const) {
      const seen = await api.http.get(`/api/v1/reservations/${r.id}`).set(bearer(s.accessToken)).expect(200);
      expect(seen.body).toMatchObject({ status: 'cancelled', cancelledBy: 'sitter' });
      expect(await notificationTypes(s)).toContain('reservation.cancelled');
    }
  });
});

describe('deleting an account with pets', () => {
  it('deletes the pets and removes their photo files, which stop being served', async () => {
    const owner = await signup(api);
    const pet = await makePet(api, owner);
    const photo = await api.http
      .put(`/api/v1/pets/${pet.id}/photo`)
      .set(bearer(owner.accessToken))
      .attach('image', await image('png', 200, 200), { filename: 'p.png', contentType: 'image/png' })
      .expect(200);
    const photoPath = new URL(photo.body.photoUrl).pathname;
    const file = path.join(ctx.uploadDir, ctx.storage.keyFromUrl(photo.body.photoUrl)!);
    expect(fs.existsSync(file)).toBe(true);
    await api.http.get(photoPath).expect(200);

    await api.http.delete('/api/v1/users/me').set(bearer(owner.accessToken)).expect(204);

    await eventually(async () => !fs.existsSync(file), 5000, 'photo file removed');
    await api.http.get(photoPath).expect(404);
    const [row] = await api.sequelize.query<{ deletedAt: Date | null; photoUrl: string | null }>(
      'SELECT deletedAt, photoUrl FROM pets WHERE id = ?',
      { replacements: [pet.id], type: QueryTypes.SELECT },
    );
    expect(row.deletedAt).not.toBeNull();
    expect(row.photoUrl).toBeNull();
  });
});
