import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeOwner, makeSitter } from '../../../test/helpers/fixtures';

/** A sitter's home is shown exactly only to the sitter and to owners with an accepted reservation. */
const clock = new ManualClock('2027-03-01T00:00:00Z');
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

const HOME = { lat: 37.5563, lng: 126.9236 };

/** Metres between two points (equirectangular: fine at these distances). */
function metres(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const k = (Math.PI / 180) * 6_371_000;
  const dy = (a.lat - b.lat) * k;
  const dx = (a.lng - b.lng) * k * Math.cos((((a.lat + b.lat) / 2) * Math.PI) / 180);
  return Math.hypot(dx, dy);
}

describe('sitter home location', () => {
  it('strangers see a stable rounded point; the sitter and an accepted client see the exact one', async () => {
    const { user: sitterUser, sitter } = await makeSitter(api, { location: HOME });
    const stranger = await signup(api);
    const { owner, pet } = await makeOwner(api);

    const search = async (token?: string) => {
      const req = api.http.get('/api/v1/sitters/search').query({ lat: 37.55, lng: 126.92, radiusKm: 3 });
      const res = await (token ? req.set(bearer(token)) : req).expect(200);
      const item = res.body.items.find((i: { id: number }) => i.id === sitter.id);
      expect(item).toBeDefined();
      return item as { location: { lat: number; lng: number }; distanceKm: number };
    };
    const profile = async (token?: string) => {
      const req = api.http.get(`/api/v1/sitters/${sitter.id}`);
      return (await (token ? req.set(bearer(token)) : req).expect(200)).body.location as { lat: number; lng: number };
    };

    // Anonymous and signed-in strangers: near the home but not on it, and the same every time.
    const shown = (await search()).location;
    expect(shown).not.toEqual(HOME);
    expect(metres(shown, HOME)).toBeGreaterThan(1);
    expect(metres(shown, HOME)).toBeLessThan(300);
    for (let i = 0; i < 3; i++) expect((await search()).location).toEqual(shown);
    expect((await search(stranger.accessToken)).location).toEqual(shown);
    expect(await profile()).toEqual(shown);
    expect(await profile(stranger.accessToken)).toEqual(shown);
    // Distance is still measured from the home itself.
    expect((await search()).distanceKm).toBeCloseTo(metres(HOME, { lat: 37.55, lng: 126.92 }) / 1000, 1);

    // The sitter sees their own exact home.
    expect((await search(sitterUser.accessToken)).location).toEqual(HOME);
    expect(await profile(sitterUser.accessToken)).toEqual(HOME);

    // A requested reservation is not enough; an accepted one is.
    const res = await api.http
      .post('/api/v1/reservations')
      .set(bearer(owner.accessToken))
      .send({
        sitterId: sitter.id,
        service: 'boarding',
        petIds: [pet.id],
        startDate: '2027-03-10',
        endDate: '2027-03-12',
      })
      .expect(201);
    expect((await search(owner.accessToken)).location).toEqual(shown);
    await api.http.post(`/api/v1/reservations/${res.body.id}/accept`).set(bearer(sitterUser.accessToken)).expect(200);
    expect((await search(owner.accessToken)).location).toEqual(HOME);
    expect(await profile(owner.accessToken)).toEqual(HOME);
    // Others still see the rounded point.
    expect((await search(stranger.accessToken)).location).toEqual(shown);
  });
});
