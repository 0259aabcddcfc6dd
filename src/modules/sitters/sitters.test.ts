import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { QueryTypes } from 'sequelize';
import { TestContext, ManualClock, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { inTransaction } from '../../infra/db';
import type { SittersService } from './sitters.service';

// 16:00 UTC is already the next day in Seoul: "today" below is 2026-12-02, not the UTC 2026-12-01.
const clock = new ManualClock('2026-12-01T16:00:00.000Z');
let ctx: TestContext;
let api: TestInstance;
let sitters: SittersService;

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
  sitters = api.pawmate.services.sitters;
});
afterAll(async () => {
  await ctx.close();
});

const sitterBody = (overrides: Record<string, unknown> = {}) => ({
  headline: 'Big yard, two walks a day',
  bio: 'Ten years with dogs.',
  services: ['boarding', 'walking'],
  prices: { boarding: 45000, walking: 15000 },
  acceptedSizes: ['small', 'medium'],
  maxPets: 2,
  location: { lat: 37.5665, lng: 126.978 },
  address: 'Jung-gu, Seoul',
  ...overrides,
});

async function newSitter(overrides: Record<string, unknown> = {}) {
  const s = await signup(api, { nickname: 'Sitter' });
  const res = await api.http
    .put('/api/v1/sitters/me')
    .set(bearer(s.accessToken))
    .send(sitterBody(overrides))
    .expect(200);
  return { ...s, sitter: res.body };
}

const geo = () => sitters.geo;

describe('PUT/GET/DELETE /sitters/me', () => {
  it('creates a profile, makes the caller a sitter and indexes the location', async () => {
    const s = await signup(api, { nickname: 'Mina' });
    await api.http.get('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(404);
    const res = await api.http
      .put('/api/v1/sitters/me')
      .set(bearer(s.accessToken))
      .send({ ...sitterBody(), id: 999, userId: 1, rating: 5, reviewCount: 100, active: false })
      .expect(200);
    expect(res.body).toEqual({
      id: expect.any(Number),
      userId: s.user.id,
      nickname: 'Mina',
      avatarUrl: null,
      headline: 'Big yard, two walks a day',
      bio: 'Ten years with dogs.',
      services: ['boarding', 'walking'],
      prices: { boarding: 45000, walking: 15000 },
      acceptedSizes: ['small', 'medium'],
      maxPets: 2,
      location: { lat: 37.5665, lng: 126.978 },
      address: 'Jung-gu, Seoul',
      rating: null,
      reviewCount: 0,
      photos: [],
      ratingSummary: { average: null, count: 0, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 } },
      active: true,
      createdAt: '2026-12-01T16:00:00.000Z',
      updatedAt: '2026-12-01T16:00:00.000Z',
    });
    expect(res.body.id).not.toBe(999);
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.isSitter).toBe(true);
    const got = await api.http.get('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(200);
    expect(got.body).toEqual(res.body);

    const pos = await geo().position(res.body.id);
    expect(pos!.lat).toBeCloseTo(37.5665, 4);
    expect(pos!.lng).toBeCloseTo(126.978, 4);
  });

  it('replaces the whole profile (services dropped lose their price) and moves the index entry', async () => {
    const s = await newSitter();
    const res = await api.http
      .put('/api/v1/sitters/me')
      .set(bearer(s.accessToken))
      .send(
        sitterBody({
          services: ['drop_in'],
          prices: { drop_in: 20000 },
          acceptedSizes: ['large'],
          location: { lat: 35.1796, lng: 129.0756 },
          bio: undefined,
        }),
      )
      .expect(200);
    expect(res.body).toMatchObject({
      id: s.sitter.id,
      services: ['drop_in'],
      prices: { drop_in: 20000 },
      acceptedSizes: ['large'],
      bio: '',
      location: { lat: 35.1796, lng: 129.0756 },
    });
    const pos = await geo().position(s.sitter.id);
    expect(pos!.lat).toBeCloseTo(35.1796, 4);
  });

  it('DELETE deactivates: out of the index and public view, isSitter false, history kept; PUT brings it back', async () => {
    const s = await newSitter();
    expect(await geo().has(s.sitter.id)).toBe(true);
    await api.http.delete('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(204);
    expect(await geo().has(s.sitter.id)).toBe(false);
    await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(404);
    await api.http.get(`/api/v1/sitters/${s.sitter.id}/reviews`).expect(404);
    const mine = await api.http.get('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(200);
    expect(mine.body).toMatchObject({ id: s.sitter.id, active: false });
    expect((await api.http.get('/api/v1/users/me').set(bearer(s.accessToken))).body.isSitter).toBe(false);
    // Deleting again is harmless.
    await api.http.delete('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(204);

    const back = await api.http.put('/api/v1/sitters/me').set(bearer(s.accessToken)).send(sitterBody()).expect(200);
    expect(back.body).toMatchObject({ id: s.sitter.id, active: true });
    expect(await geo().has(s.sitter.id)).toBe(true);
    expect((await api.http.get('/api/v1/users/me').set(bearer(s.accessToken))).body.isSitter).toBe(true);
  });

  it('DELETE without a profile is 404; every /sitters/me route needs a token', async () => {
    const s = await signup(api);
    await api.http.delete('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(404);
    for (const [method, path] of [
      ['get', '/sitters/me'],
      ['put', '/sitters/me'],
      ['delete', '/sitters/me'],
      ['get', '/sitters/me/unavailable-dates'],
      ['put', '/sitters/me/unavailable-dates'],
      ['post', '/sitters/me/photos'],
      ['delete', '/sitters/me/photos/1'],
    ] as const) {
      const res = await api.http[method](`/api/v1${path}`).expect(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    }
  });

  it('two concurrent first PUTs by one user leave one profile', async () => {
    const s = await signup(api);
    const results = await Promise.all(
      [0, 1, 2].map(() => api.http.put('/api/v1/sitters/me').set(bearer(s.accessToken)).send(sitterBody())),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(3);
    expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
    const [row] = await api.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM sitters WHERE userId = ?', {
      replacements: [s.user.id],
      type: QueryTypes.SELECT,
    });
    expect(Number(row.n)).toBe(1);
  });

  const p = (o: Record<string, unknown>) => sitterBody(o);
  it.each([
    ['body.headline', p({ headline: undefined })],
    ['body.headline', p({ headline: 'x'.repeat(81) })],
    ['body.headline', p({ headline: 'bad\u0001' })],
    ['body.bio', p({ bio: 'x'.repeat(2001) })],
    ['body.services', p({ services: [] })],
    ['body.services.1', p({ services: ['boarding', 'boarding'], prices: { boarding: 1 } })],
    ['body.services.0', p({ services: ['grooming'] })],
    ['body.services', p({ services: 'walking' })],
    ['body.prices', p({ prices: undefined })],
    ['body.prices.walking', p({ prices: { boarding: 45000 } })],
    ['body.prices.daycare', p({ prices: { boarding: 45000, walking: 15000, daycare: 30000 } })],
    ['body.prices.boarding', p({ prices: { boarding: 0, walking: 15000 } })],
    ['body.prices.boarding', p({ prices: { boarding: 10_000_001, walking: 15000 } })],
    ['body.prices.boarding', p({ prices: { boarding: 450.5, walking: 15000 } })],
    ['body.acceptedSizes', p({ acceptedSizes: [] })],
    ['body.acceptedSizes.1', p({ acceptedSizes: ['small', 'small'] })],
    ['body.acceptedSizes.0', p({ acceptedSizes: ['huge'] })],
    ['body.maxPets', p({ maxPets: 0 })],
    ['body.maxPets', p({ maxPets: 11 })],
    ['body.maxPets', p({ maxPets: 1.5 })],
    ['body.location', p({ location: undefined })],
    ['body.location.lat', p({ location: { lat: 85.06, lng: 0 } })],
    ['body.location.lat', p({ location: { lat: -85.06, lng: 0 } })],
    ['body.location.lng', p({ location: { lat: 0, lng: 180.01 } })],
    ['body.location.lat', p({ location: { lat: 'north', lng: 0 } })],
    ['body.location.lat', p({ location: { lng: 0 } })],
    ['body.address', p({ address: '' })],
    ['body.address', p({ address: 'x'.repeat(201) })],
  ])('refuses a body with a bad %s, changing nothing', async (path, body) => {
    const s = await signup(api);
    const res = await api.http.put('/api/v1/sitters/me').set(bearer(s.accessToken)).send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    await api.http.get('/api/v1/sitters/me').set(bearer(s.accessToken)).expect(404);
  });

  it('accepts the edges: ±85.05 / ±180, one service, 10 pets, the top price', async () => {
    const s = await signup(api);
    for (const location of [
      { lat: 85.05, lng: 180 },
      { lat: -85.05, lng: -180 },
    ]) {
      const res = await api.http
        .put('/api/v1/sitters/me')
        .set(bearer(s.accessToken))
        .send(
          sitterBody({
            location,
            services: ['daycare'],
            prices: { daycare: 10_000_000 },
            maxPets: 10,
            acceptedSizes: ['small', 'medium', 'large'],
          }),
        )
        .expect(200);
      expect(res.body.location).toEqual(location);
      const pos = await geo().position(res.body.id);
      expect(pos!.lat).toBeCloseTo(location.lat, 4);
    }
  });
});

describe('unavailable dates', () => {
  it('replaces the set, sorted; GET shows it; days are checked in SERVICE_TZ', async () => {
    const s = await newSitter();
    const auth = bearer(s.accessToken);
    await api.http.get('/api/v1/sitters/me/unavailable-dates').set(auth).expect(200, { dates: [] });
    // 2026-12-02 is today in Seoul (the clock says 2026-12-01 16:00 UTC).
    const put = await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(auth)
      .send({ dates: ['2026-12-24', '2026-12-02', '2027-01-01'] })
      .expect(200);
    expect(put.body).toEqual({ dates: ['2026-12-02', '2026-12-24', '2027-01-01'] });
    await api.http
      .get('/api/v1/sitters/me/unavailable-dates')
      .set(auth)
      .expect(200, { dates: ['2026-12-02', '2026-12-24', '2027-01-01'] });
    const past = await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(auth)
      .send({ dates: ['2026-12-05', '2026-12-01'] })
      .expect(400);
    expect(past.body.errors).toEqual([{ path: 'body.dates.1', message: expect.stringContaining('past') }]);
    await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(auth)
      .send({ dates: ['2026-12-25'] })
      .expect(200);
    await api.http
      .get('/api/v1/sitters/me/unavailable-dates')
      .set(auth)
      .expect(200, { dates: ['2026-12-25'] });
    await api.http.put('/api/v1/sitters/me/unavailable-dates').set(auth).send({ dates: [] }).expect(200, { dates: [] });
  });

  it.each([
    ['missing', {}, 'body.dates'],
    ['not an array', { dates: '2026-12-24' }, 'body.dates'],
    ['a duplicate', { dates: ['2026-12-24', '2026-12-24'] }, 'body.dates.1'],
    ['no such day', { dates: ['2026-02-30'] }, 'body.dates.0'],
    ['another format', { dates: ['24/12/2026'] }, 'body.dates.0'],
    [
      '367 days',
      { dates: Array.from({ length: 367 }, (_, i) => new Date(Date.UTC(2027, 0, 1 + i)).toISOString().slice(0, 10)) },
      'body.dates',
    ],
  ])('refuses dates: %s', async (_label, body, path) => {
    const s = await newSitter();
    const res = await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(bearer(s.accessToken))
      .send(body)
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('takes 366 days; is 404 without a profile', async () => {
    const s = await newSitter();
    const dates = Array.from({ length: 366 }, (_, i) => new Date(Date.UTC(2027, 0, 1 + i)).toISOString().slice(0, 10));
    const res = await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(bearer(s.accessToken))
      .send({ dates })
      .expect(200);
    expect(res.body.dates).toHaveLength(366);
    const other = await signup(api);
    await api.http
      .put('/api/v1/sitters/me/unavailable-dates')
      .set(bearer(other.accessToken))
      .send({ dates: [] })
      .expect(404);
    await api.http.get('/api/v1/sitters/me/unavailable-dates').set(bearer(other.accessToken)).expect(404);
  });
});

describe('public profile and reviews', () => {
  it('GET /sitters/{id} shows the profile without `active`; unknown ids are 404; bad ids 400', async () => {
    const s = await newSitter();
    const res = await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(200);
    const { active: _a, location: home, ...expected } = s.sitter;
    // A stranger sees a rounded public point, not the home (sitters.privacy.test.ts).
    expect(res.body).toEqual({ ...expected, location: { lat: expect.any(Number), lng: expect.any(Number) } });
    expect(res.body.location).not.toEqual(home);
    await api.http.get('/api/v1/sitters/4294967295').expect(404);
    const bad = await api.http.get('/api/v1/sitters/abc').expect(400);
    expect(bad.body.errors[0].path).toBe('params.id');
  });

  it('a deleted account takes its sitter out of public view and search', async () => {
    const s = await newSitter({ location: { lat: 10, lng: 10 } });
    await api.http.delete('/api/v1/users/me').set(bearer(s.accessToken)).expect(204);
    await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(404);
    const found = await api.http.get('/api/v1/sitters/search').query({ lat: 10, lng: 10, radiusKm: 1 }).expect(200);
    expect(found.body.items).toEqual([]);
  });

  it('reviews: newest first, cursor pages, author as public user, rating summary from one GROUP BY', async () => {
    const s = await newSitter({ location: { lat: 20, lng: 20 } });
    const authors = await Promise.all([signup(api, { nickname: 'Owner A' }), signup(api, { nickname: 'Owner B' })]);
    const ratings = [5, 4, 5, 3, 1];
    for (const [i, rating] of ratings.entries()) {
      await api.sequelize.transaction((t) =>
        sitters.addReview(
          {
            reservationId: 100_000 + s.sitter.id * 10 + i,
            sitterId: s.sitter.id,
            authorId: authors[i % 2].user.id,
            rating,
            comment: i === 0 ? null : `review ${i}`,
          },
          t,
        ),
      );
    }
    // A second review of one reservation is refused by UNIQUE(reservationId).
    await expect(
      api.sequelize.transaction((t) =>
        sitters.addReview(
          {
            reservationId: 100_000 + s.sitter.id * 10,
            sitterId: s.sitter.id,
            authorId: authors[0].user.id,
            rating: 1,
            comment: null,
          },
          t,
        ),
      ),
    ).rejects.toThrow();
    await api.http.delete('/api/v1/users/me').set(bearer(authors[1].accessToken)).expect(204);

    const profile = await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(200);
    expect(profile.body).toMatchObject({
      rating: 3.6,
      reviewCount: 5,
      ratingSummary: { average: 3.6, count: 5, distribution: { 1: 1, 2: 0, 3: 1, 4: 1, 5: 2 } },
    });

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        body: {
          items: {
            id: number;
            rating: number;
            comment: string | null;
            author: { nickname: string };
            createdAt: string;
          }[];
          nextCursor: string | null;
        };
      } = await api.http
        .get(`/api/v1/sitters/${s.sitter.id}/reviews`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      for (const r of page.body.items) seen.push(r.id);
      if (!cursor) {
        expect(page.body.items[0]).toEqual({
          id: expect.any(Number),
          rating: 1,
          comment: 'review 4',
          author: { id: authors[0].user.id, nickname: 'Owner A', bio: '', avatarUrl: null, isSitter: false },
          createdAt: '2026-12-01T16:00:00.000Z',
        });
        expect(page.body.items[1].author).toMatchObject({ id: authors[1].user.id, nickname: 'Deleted user' });
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);

    const bad = await api.http
      .get(`/api/v1/sitters/${s.sitter.id}/reviews`)
      .query({ cursor: 'not-a-cursor' })
      .expect(400);
    expect(bad.body.errors[0].path).toBe('query.cursor');
    const big = await api.http.get(`/api/v1/sitters/${s.sitter.id}/reviews`).query({ limit: 101 }).expect(400);
    expect(big.body.errors[0].path).toBe('query.limit');
  });

  it('concurrent reviews all count; the table refuses a rating outside 1..5', async () => {
    const s = await newSitter({ location: { lat: 21, lng: 21 } });
    const author = await signup(api);
    await Promise.all(
      [5, 4, 3, 5, 1, 2].map((rating, i) =>
        inTransaction(api.sequelize, (t) =>
          sitters.addReview(
            {
              reservationId: 200_000 + s.sitter.id * 10 + i,
              sitterId: s.sitter.id,
              authorId: author.user.id,
              rating,
              comment: null,
            },
            t,
          ),
        ),
      ),
    );
    const profile = await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(200);
    expect(profile.body).toMatchObject({
      rating: 3.33,
      reviewCount: 6,
      ratingSummary: { count: 6, distribution: { 1: 1, 2: 1, 3: 1, 4: 1, 5: 2 } },
    });
    await expect(
      api.sequelize.query(
        'INSERT INTO reviews (reservationId, sitterId, authorId, rating, createdAt, updatedAt) VALUES (?, ?, ?, 6, NOW(), NOW())',
        { replacements: [999_999_999, s.sitter.id, author.user.id] },
      ),
    ).rejects.toThrow();
  });

  it('an unreviewed sitter has an empty review list', async () => {
    const s = await newSitter();
    await api.http.get(`/api/v1/sitters/${s.sitter.id}/reviews`).expect(200, { items: [], nextCursor: null });
  });
});

describe('photos under concurrency', () => {
  it('concurrent uploads never pass 10 photos, and the refused ones leave no object', async () => {
    const s = await newSitter();
    const auth = bearer(s.accessToken);
    const small = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#123' } })
      .jpeg()
      .toBuffer();
    for (let i = 0; i < 8; i++)
      await api.http.post('/api/v1/sitters/me/photos').set(auth).attach('image', small, 'a.jpg').expect(201);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.http.post('/api/v1/sitters/me/photos').set(auth).attach('image', small, 'a.jpg'),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409]);
    expect((await api.http.get(`/api/v1/sitters/${s.sitter.id}`)).body.photos).toHaveLength(10);
    expect(fs.readdirSync(path.join(ctx.uploadDir, 'sitters', String(s.sitter.id)))).toHaveLength(20);
  });
});

describe('OpenAPI', () => {
  it('documents every sitters route from the same schemas', async () => {
    const doc = (await api.http.get('/openapi.json').expect(200)).body;
    for (const [path, methods] of Object.entries({
      '/api/v1/sitters/search': ['get'],
      '/api/v1/sitters/me': ['put', 'get', 'delete'],
      '/api/v1/sitters/me/unavailable-dates': ['put', 'get'],
      '/api/v1/sitters/me/photos': ['post'],
      '/api/v1/sitters/me/photos/{id}': ['delete'],
      '/api/v1/sitters/{id}': ['get'],
      '/api/v1/sitters/{id}/reviews': ['get'],
    })) {
      for (const m of methods) expect(doc.paths[path]?.[m]).toBeDefined();
    }
    const params = doc.paths['/api/v1/sitters/search'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(
      expect.arrayContaining([
        'lat',
        'lng',
        'radiusKm',
        'service',
        'petSize',
        'minPrice',
        'maxPrice',
        'minRating',
        'from',
        'to',
        'sort',
        'limit',
        'cursor',
      ]),
    );
  });
});

describe('photos', () => {
  const png = () =>
    sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();

  it('adds a 1280 px photo with a 320 px thumbnail, shows it on the profile, deletes it (and its files)', async () => {
    const s = await newSitter();
    const res = await api.http
      .post('/api/v1/sitters/me/photos')
      .set(bearer(s.accessToken))
      .attach('image', await png(), 'yard.png')
      .expect(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      url: expect.stringMatching(/\.webp$/),
      thumbnailUrl: expect.stringMatching(/\.webp$/),
    });
    const keyOf = (url: string) => ctx.storage.keyFromUrl(url)!;
    for (const [url, width] of [
      [res.body.url, 1280],
      [res.body.thumbnailUrl, 320],
    ] as const) {
      const file = await api.http.get(new URL(url).pathname).expect(200);
      const meta = await sharp(file.body as Buffer).metadata();
      expect(meta).toMatchObject({ format: 'webp', width });
      expect(keyOf(url)).toMatch(new RegExp(`^sitters/${s.sitter.id}/`));
    }
    const profile = await api.http.get(`/api/v1/sitters/${s.sitter.id}`).expect(200);
    expect(profile.body.photos).toEqual([res.body]);

    // Someone else's photo id is 404 and stays.
    const other = await newSitter();
    await api.http.delete(`/api/v1/sitters/me/photos/${res.body.id}`).set(bearer(other.accessToken)).expect(404);
    await api.http.delete(`/api/v1/sitters/me/photos/${res.body.id}`).set(bearer(s.accessToken)).expect(204);
    await api.http.delete(`/api/v1/sitters/me/photos/${res.body.id}`).set(bearer(s.accessToken)).expect(404);
    expect((await api.http.get(`/api/v1/sitters/${s.sitter.id}`)).body.photos).toEqual([]);
    await api.pawmate.outbox.drain();
    await api.http.get(new URL(res.body.url).pathname).expect(404);
  });

  it('refuses a non-image (415), no profile (404), a missing file (400), the 11th photo (409)', async () => {
    const s = await newSitter();
    const auth = bearer(s.accessToken);
    const text = await api.http
      .post('/api/v1/sitters/me/photos')
      .set(auth)
      .attach('image', Buffer.from('hello, not a picture'), 'x.png')
      .expect(415);
    expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const none = await api.http.post('/api/v1/sitters/me/photos').set(auth).field('x', 'y').expect(400);
    expect(none.body.errors[0].path).toBe('body.image');
    const nobody = await signup(api);
    await api.http
      .post('/api/v1/sitters/me/photos')
      .set(bearer(nobody.accessToken))
      .attach('image', await png(), 'a.png')
      .expect(404);
    const small = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    for (let i = 0; i < 10; i++)
      await api.http.post('/api/v1/sitters/me/photos').set(auth).attach('image', small, 'a.jpg').expect(201);
    const full = await api.http.post('/api/v1/sitters/me/photos').set(auth).attach('image', small, 'a.jpg').expect(409);
    expect(full.body.code).toBe('CONFLICT');
    expect((await api.http.get(`/api/v1/sitters/${s.sitter.id}`)).body.photos).toHaveLength(10);
    const files = fs.readdirSync(path.join(ctx.uploadDir, 'sitters', String(s.sitter.id)));
    expect(files).toHaveLength(20); // the refused 11th left no object behind
    const bad = await api.http.delete('/api/v1/sitters/me/photos/zero').set(auth).expect(400);
    expect(bad.body.errors[0].path).toBe('params.id');
  });
});
