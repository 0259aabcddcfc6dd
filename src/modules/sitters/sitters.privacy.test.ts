import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeOwner, makeSitter } from '../../../test/helpers/fixtures';

/** A sitter's home is shown exactly only to the sitter and to owners with an accepted reservation. */
const clock = new ManualClock('2027-03-01T00:00:00Z');
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  // A fixed server secret: the public point's offset from the home (an HMAC of it) is then the same
  // every run, so the trilateration test below compares against a known, non-trivial offset.
  ctx = await new TestContext({ clock, env: { JWT_SECRET: 'b'.repeat(64) } }).setup();
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
    // A stranger's distance is measured to the point they are shown; the sitter's to the home.
    expect((await search()).distanceKm).toBeCloseTo(metres(shown, { lat: 37.55, lng: 126.92 }) / 1000, 3);
    expect((await search(sitterUser.accessToken)).distanceKm).toBeCloseTo(
      metres(HOME, { lat: 37.55, lng: 126.92 }) / 1000,
      3,
    );

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

  it('a stranger cannot trilaterate the home from distances at three chosen centres', async () => {
    const home = { lat: 37.5012, lng: 127.0391 };
    const { user: sitterUser, sitter } = await makeSitter(api, { location: home });
    const stranger = await signup(api);
    const centres = [
      { lat: home.lat + 0.01, lng: home.lng },
      { lat: home.lat, lng: home.lng + 0.012 },
      { lat: home.lat - 0.008, lng: home.lng - 0.009 },
    ];
    const observe = (token?: string) =>
      Promise.all(
        centres.map(async (c) => {
          const req = api.http.get('/api/v1/sitters/search').query({ ...c, radiusKm: 3 });
          const res = await (token ? req.set(bearer(token)) : req).expect(200);
          const item = res.body.items.find((i: { id: number }) => i.id === sitter.id);
          return { c, m: item.distanceKm * 1000, location: item.location as { lat: number; lng: number } };
        }),
      );

    // The method works: on what the sitter sees, it finds the home within a few metres.
    expect(metres(trilaterate(await observe(sitterUser.accessToken)), home)).toBeLessThan(3);
    for (const token of [undefined, stranger.accessToken]) {
      const seen = await observe(token);
      const shown = seen[0].location;
      expect(metres(shown, home)).toBeGreaterThan(30); // this secret's offset: the test can tell them apart
      // All a stranger recovers is the public point they were shown anyway: no closer than the grid.
      const guess = trilaterate(seen);
      expect(metres(guess, shown)).toBeLessThan(3);
      expect(Math.abs(metres(guess, home) - metres(shown, home))).toBeLessThan(3);
    }
  });
});

/** The point whose distances to three centres are the observed ones (circles intersected in a local plane). */
function trilaterate(seen: { c: { lat: number; lng: number }; m: number }[]): { lat: number; lng: number } {
  const o = seen[0].c;
  const k = (Math.PI / 180) * 6_372_797.560856; // Redis's Earth radius
  const xy = (p: { lat: number; lng: number }) => [
    (p.lng - o.lng) * k * Math.cos((o.lat * Math.PI) / 180),
    (p.lat - o.lat) * k,
  ];
  const [p0, p1, p2] = seen.map((s) => xy(s.c));
  const [d0, d1, d2] = seen.map((s) => s.m);
  const row = (p: number[], d: number) => [
    2 * (p[0] - p0[0]),
    2 * (p[1] - p0[1]),
    d0 ** 2 - d ** 2 + p[0] ** 2 - p0[0] ** 2 + p[1] ** 2 - p0[1] ** 2,
  ];
  const [a, b, e] = row(p1, d1);
  const [c, d, f] = row(p2, d2);
  const det = a * d - b * c;
  const x = (e * d - b * f) / det;
  const y = (a * f - e * c) / det;
  return { lat: o.lat + y / k, lng: o.lng + x / (k * Math.cos((o.lat * Math.PI) / 180)) };
}
