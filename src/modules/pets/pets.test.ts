import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { TestContext, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { pollUntil as eventually } from '../../../test/helpers/faults';
import { image, jpegWithExif, pngBomb, rawUpload, svg } from '../../../test/helpers/images';
import { LocalStorage } from '../../infra/storage/local';

/** Local storage with a hook before each put, to interleave work between "stored" and "committed". */
class HookedStorage extends LocalStorage {
  beforePut: (() => Promise<void>) | null = null;
  async put(key: string, body: Buffer, contentType: string): Promise<string> {
    const hook = this.beforePut;
    this.beforePut = null;
    if (hook) await hook();
    return super.put(key, body, contentType);
  }
}

const uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-pets-'));
const storage = new HookedStorage(uploadDir, 'http://pawmate.test');
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ storage }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(uploadDir, { recursive: true, force: true });
});

const P = '/api/v1/pets';
const dog = {
  name: 'Bori',
  species: 'dog',
  size: 'medium',
  breed: 'Jindo',
  birthDate: '2021-04-05',
  notes: 'Shy with bikes',
};

function files(dir = uploadDir): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(uploadDir, path.join(d.parentPath, d.name)))
    .sort();
}
const fileOf = (url: string) => path.join(uploadDir, url.replace('http://pawmate.test/uploads/', ''));

async function createPet(token: string, body: object = dog) {
  const res = await api.http.post(P).set(bearer(token)).send(body);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; photoUrl: string | null; [k: string]: unknown };
}

const putPhoto = (token: string, id: number, bytes: Buffer, filename = 'photo.jpg', contentType = 'image/jpeg') =>
  api.http.put(`${P}/${id}/photo`).set(bearer(token)).attach('image', bytes, { filename, contentType });

describe('pets CRUD', () => {
  it('creates a pet and answers it with every field', async () => {
    const s = await signup(api);
    const res = await api.http.post(P).set(bearer(s.accessToken)).send(dog).expect(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      ownerId: s.user.id,
      ...dog,
      photoUrl: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    const got = await api.http.get(`${P}/${res.body.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body).toEqual(res.body);
  });

  it('fills optional fields with null and ignores fields a client may not set', async () => {
    const s = await signup(api);
    const other = await signup(api);
    const res = await api.http
      .post(P)
      .set(bearer(s.accessToken))
      .send({
        name: '  Nabi ',
        species: 'cat',
        size: 'small',
        ownerId: other.user.id,
        id: 1,
        photoUrl: 'http://evil.test/x.png',
        deletedAt: '2020-01-01',
      })
      .expect(201);
    expect(res.body).toMatchObject({
      name: 'Nabi',
      ownerId: s.user.id,
      breed: null,
      birthDate: null,
      notes: null,
      photoUrl: null,
    });
    await api.http.get(`${P}/${res.body.id}`).set(bearer(s.accessToken)).expect(200);
  });

  it.each([
    ['body.name', { species: 'dog', size: 'small' }],
    ['body.name', { ...dog, name: '' }],
    ['body.name', { ...dog, name: '   ' }],
    ['body.name', { ...dog, name: 'x'.repeat(41) }],
    ['body.name', { ...dog, name: 'bad\u0007name' }],
    ['body.name', { ...dog, name: 42 }],
    ['body.species', { ...dog, species: 'bird' }],
    ['body.species', { name: 'A', size: 'small' }],
    ['body.size', { ...dog, size: 'huge' }],
    ['body.size', { name: 'A', species: 'dog' }],
    ['body.breed', { ...dog, breed: 'b'.repeat(61) }],
    ['body.birthDate', { ...dog, birthDate: '2020-02-30' }],
    ['body.birthDate', { ...dog, birthDate: '2020/01/01' }],
    ['body.birthDate', { ...dog, birthDate: '2020-01-01T00:00:00Z' }],
    ['body.birthDate', { ...dog, birthDate: '1899-12-31' }],
    ['body.birthDate', { ...dog, birthDate: '2999-01-01' }],
    ['body.notes', { ...dog, notes: 'n'.repeat(1001) }],
  ])('refuses a bad %s (case %#)', async (field, body) => {
    const s = await signup(api);
    const res = await api.http.post(P).set(bearer(s.accessToken)).send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    const list = await api.http.get(P).set(bearer(s.accessToken)).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('accepts a birth date of today in the service time zone but not tomorrow', async () => {
    const s = await signup(api);
    const day = (offsetDays: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: ctx.config.serviceTz }).format(
        new Date(Date.now() + offsetDays * 86_400_000),
      );
    await api.http
      .post(P)
      .set(bearer(s.accessToken))
      .send({ ...dog, birthDate: day(0) })
      .expect(201);
    const res = await api.http
      .post(P)
      .set(bearer(s.accessToken))
      .send({ ...dog, birthDate: day(1) })
      .expect(400);
    expect(res.body.errors).toEqual([{ path: 'body.birthDate', message: expect.stringMatching(/future/) }]);
  });

  it('requires a login', async () => {
    await api.http.get(P).expect(401);
    await api.http.post(P).send(dog).expect(401);
  });

  it('updates only the given fields; null or "" clears the optional ones', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await api.http
      .patch(`${P}/${pet.id}`)
      .set(bearer(s.accessToken))
      .send({ name: 'Bori II', breed: null, notes: '', ownerId: 999, photoUrl: 'http://evil.test/a.png' })
      .expect(200);
    expect(res.body).toMatchObject({
      ...dog,
      name: 'Bori II',
      breed: null,
      notes: null,
      ownerId: s.user.id,
      photoUrl: null,
    });
    expect(res.body.updatedAt >= (pet.updatedAt as string)).toBe(true);
    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body).toEqual(res.body);
    // An empty patch changes nothing.
    const same = await api.http.patch(`${P}/${pet.id}`).set(bearer(s.accessToken)).send({}).expect(200);
    expect(same.body).toEqual(res.body);
  });

  it.each([
    ['body.name', { name: null }],
    ['body.species', { species: 'fish' }],
    ['body.size', { size: null }],
    ['body.birthDate', { birthDate: '2999-12-31' }],
    ['body.notes', { notes: 'n'.repeat(1001) }],
  ])('refuses a patch with a bad %s and changes nothing', async (field, body) => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await api.http.patch(`${P}/${pet.id}`).set(bearer(s.accessToken)).send(body).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body).toEqual(pet);
  });

  it('soft-deletes: the pet is gone from every route afterwards', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const keep = await createPet(s.accessToken, { ...dog, name: 'Keep' });
    await api.http.delete(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(204);
    await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(404);
    await api.http.patch(`${P}/${pet.id}`).set(bearer(s.accessToken)).send({ name: 'Back' }).expect(404);
    await api.http.delete(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(404);
    await putPhoto(s.accessToken, pet.id, await image('jpeg')).expect(404);
    const list = await api.http.get(P).set(bearer(s.accessToken)).expect(200);
    expect(list.body.items.map((p: { id: number }) => p.id)).toEqual([keep.id]);
    // The row stays for reservation history.
    const [rows] = await api.sequelize.query('SELECT deletedAt FROM pets WHERE id = ?', { replacements: [pet.id] });
    expect((rows as Array<{ deletedAt: Date | null }>)[0].deletedAt).not.toBeNull();
  });

  it('answers 400 naming params.id for a malformed id', async () => {
    const s = await signup(api);
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999']) {
      const res = await api.http.get(`${P}/${bad}`).set(bearer(s.accessToken)).expect(400);
      expect(res.body.errors[0].path).toBe('params.id');
    }
  });
});

describe('listing my pets', () => {
  it('pages through my pets in creation order with an opaque cursor, without gaps or duplicates', async () => {
    const s = await signup(api);
    const other = await signup(api);
    await createPet(other.accessToken, { ...dog, name: 'Not mine' });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createPet(s.accessToken, { ...dog, name: `Pet ${i}` })).id);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: Array<{ id: number; ownerId: number }>; nextCursor: string | null } } = await api.http
        .get(P)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(bearer(s.accessToken))
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      for (const p of res.body.items) expect(p.ownerId).toBe(s.user.id);
      seen.push(...res.body.items.map((p) => p.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);

    const all = await api.http.get(P).set(bearer(s.accessToken)).expect(200);
    expect(all.body.items).toHaveLength(5);
    expect(all.body.nextCursor).toBeNull();
  });

  it.each([
    ['query.limit', { limit: 0 }],
    ['query.limit', { limit: 101 }],
    ['query.limit', { limit: 'many' }],
    ['query.cursor', { cursor: 'not-a-cursor' }],
    ['query.cursor', { cursor: Buffer.from('{"id":-3}').toString('base64url') }],
    ['query.cursor', { cursor: 'x'.repeat(201) }],
  ])('refuses a bad %s (case %#)', async (field, query) => {
    const s = await signup(api);
    const res = await api.http.get(P).query(query).set(bearer(s.accessToken)).expect(400);
    expect(res.body.errors[0].path).toBe(field);
  });
});

describe('limits', () => {
  it('allows 20 pets per account, also under concurrent creates, and frees a place on delete', async () => {
    const s = await signup(api);
    for (let i = 0; i < 17; i++) await createPet(s.accessToken, { ...dog, name: `P${i}` });
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.http
          .post(P)
          .set(bearer(s.accessToken))
          .send({ ...dog, name: `Burst ${i}` }),
      ),
    );
    expect(burst.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = burst.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.body).toMatchObject({ status: 409, code: 'CONFLICT' });
    const list = await api.http.get(P).query({ limit: 100 }).set(bearer(s.accessToken)).expect(200);
    expect(list.body.items).toHaveLength(20);

    await api.http.delete(`${P}/${list.body.items[0].id}`).set(bearer(s.accessToken)).expect(204);
    await createPet(s.accessToken, { ...dog, name: 'Twentieth again' });
  });
});

describe("someone else's pet is indistinguishable from a missing one", () => {
  it('answers GET, PATCH, DELETE and PUT photo with the same 404 and changes nothing', async () => {
    const owner = await signup(api);
    const intruder = await signup(api);
    const pet = await createPet(owner.accessToken);
    const missing = await api.http.get(`${P}/4000000000`).set(bearer(intruder.accessToken)).expect(404);
    const before = files();

    const attempts = [
      await api.http.get(`${P}/${pet.id}`).set(bearer(intruder.accessToken)),
      await api.http.patch(`${P}/${pet.id}`).set(bearer(intruder.accessToken)).send({ name: 'Stolen' }),
      await api.http.delete(`${P}/${pet.id}`).set(bearer(intruder.accessToken)),
      await putPhoto(intruder.accessToken, pet.id, await image('jpeg')),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ ...missing.body, requestId: expect.any(String) });
    }
    expect(files()).toEqual(before);
    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(owner.accessToken)).expect(200);
    expect(got.body).toEqual(pet);
    const list = await api.http.get(P).set(bearer(intruder.accessToken)).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('is not leaked through findOwnedPets either', async () => {
    const owner = await signup(api);
    const intruder = await signup(api);
    const a = await createPet(owner.accessToken);
    const b = await createPet(owner.accessToken, { ...dog, name: 'B' });
    const pets = api.pawmate.services.pets;
    const found = await pets.findOwnedPets(owner.user.id, [b.id, a.id, a.id]);
    expect(found.map((p) => p.id)).toEqual([a.id, b.id]);
    await expect(pets.findOwnedPets(intruder.user.id, [a.id])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(pets.findOwnedPets(owner.user.id, [a.id, 4000000000])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('pet photos', () => {
  it('stores a 120×120 WebP without EXIF, serves it with a year of caching, and deletes the old one on replace', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const first = await putPhoto(s.accessToken, pet.id, await jpegWithExif()).expect(200);
    expect(first.body).toEqual({
      photoUrl: expect.stringMatching(
        new RegExp(`^http://pawmate\\.test/uploads/pets/${s.user.id}/[a-f0-9]{32}\\.webp$`),
      ),
    });
    const stored = fs.readFileSync(fileOf(first.body.photoUrl));
    const meta = await sharp(stored).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 120, height: 120 });
    expect(meta.exif).toBeUndefined();
    expect(stored.toString('latin1')).not.toContain('Secret Model 9');

    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body.photoUrl).toBe(first.body.photoUrl);

    const served = await api.http.get(first.body.photoUrl.replace('http://pawmate.test', '')).buffer(true).expect(200);
    expect(served.headers['content-type']).toBe('image/webp');
    expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(served.body).equals(stored)).toBe(true);

    const second = await putPhoto(s.accessToken, pet.id, await image('png', 300, 500), 'x.png', 'image/png').expect(
      200,
    );
    expect(second.body.photoUrl).not.toBe(first.body.photoUrl);
    expect(fs.existsSync(fileOf(second.body.photoUrl))).toBe(true);
    await eventually(() => !fs.existsSync(fileOf(first.body.photoUrl)));
    await api.http.get(first.body.photoUrl.replace('http://pawmate.test', '')).expect(404);
  });

  it.each([
    [
      'a text file named .png',
      Buffer.from('hello, I am text pretending to be a PNG\n'.repeat(10)),
      'cute.png',
      'image/png',
    ],
    ['an SVG', svg, 'cute.svg', 'image/svg+xml'],
    ['an SVG disguised as JPEG', svg, 'cute.jpg', 'image/jpeg'],
  ])('refuses %s with 415 and leaves the pet and storage as they were', async (_name, bytes, filename, type) => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const before = files();
    const res = await putPhoto(s.accessToken, pet.id, bytes, filename, type).expect(415);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(files()).toEqual(before);
    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body.photoUrl).toBeNull();
  });

  it('refuses TIFF with 415 (decodable, not on the allow-list)', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await putPhoto(s.accessToken, pet.id, await image('tiff', 64, 64), 'a.tiff', 'image/tiff').expect(415);
    expect(res.body.detail).toMatch(/TIFF/);
  });

  it('refuses a pixel bomb with a 413 problem, not a 500 or a hang', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const before = files();
    const res = await putPhoto(s.accessToken, pet.id, pngBomb(20000, 20000), 'bomb.png', 'image/png');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: expect.stringMatching(/megapixels/) });
    expect(files()).toEqual(before);
  });

  it('answers an 11 MB upload with a 413 problem the client can read (declared length)', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await rawUpload(`${api.url}${P}/${pet.id}/photo`, {
      token: s.accessToken,
      body: Buffer.alloc(11 * 1024 * 1024, 7),
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers an 11 MB chunked upload (no length) with a 413 problem too, from the multipart limit', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const before = files();
    const res = await rawUpload(`${api.url}${P}/${pet.id}/photo`, {
      token: s.accessToken,
      body: Buffer.alloc(11 * 1024 * 1024, 7),
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(files()).toEqual(before);
    // The server still answers afterwards.
    await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
  });

  it('accepts an upload just under 10 MB as far as size goes (then judges the bytes)', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await rawUpload(`${api.url}${P}/${pet.id}/photo`, {
      token: s.accessToken,
      body: Buffer.alloc(10 * 1024 * 1024 - 1024, 7),
      chunked: true,
    });
    expect(res.status).toBe(415);
  });

  it('names body.image when the file is missing, misnamed, doubled or not multipart', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const url = `${P}/${pet.id}/photo`;
    const jpeg = await image('jpeg', 50, 50);

    const none = await api.http.put(url).set(bearer(s.accessToken)).field('caption', 'no file').expect(400);
    expect(none.body.errors).toEqual([{ path: 'body.image', message: expect.any(String) }]);

    const json = await api.http.put(url).set(bearer(s.accessToken)).send({ image: 'base64…' }).expect(400);
    expect(json.body.errors[0].path).toBe('body.image');

    const wrongField = await api.http.put(url).set(bearer(s.accessToken)).attach('photo', jpeg, 'a.jpg').expect(400);
    expect(wrongField.body.errors[0].path).toBe('body.photo');

    const two = await api.http
      .put(url)
      .set(bearer(s.accessToken))
      .attach('image', jpeg, 'a.jpg')
      .attach('image', jpeg, 'b.jpg')
      .expect(400);
    expect(two.body.code).toBe('VALIDATION_FAILED');

    const got = await api.http.get(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(200);
    expect(got.body.photoUrl).toBeNull();
  });

  it('answers 400 for a malformed multipart body', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const res = await api.http
      .put(`${P}/${pet.id}/photo`)
      .set(bearer(s.accessToken))
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send('--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nunterminated')
      .expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('removes the new object when the database write fails (the pet was deleted meanwhile)', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const before = files();
    storage.beforePut = async () => {
      await api.http.delete(`${P}/${pet.id}`).set(bearer(s.accessToken)).expect(204);
    };
    const res = await putPhoto(s.accessToken, pet.id, await image('jpeg')).expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect(files()).toEqual(before);
    const [rows] = await api.sequelize.query('SELECT photoUrl FROM pets WHERE id = ?', { replacements: [pet.id] });
    expect((rows as Array<{ photoUrl: string | null }>)[0].photoUrl).toBeNull();
  });

  it('answers 503 and leaves nothing behind when storage fails', async () => {
    const s = await signup(api);
    const pet = await createPet(s.accessToken);
    const before = files();
    storage.beforePut = async () => {
      throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    };
    const res = await putPhoto(s.accessToken, pet.id, await image('jpeg')).expect(503);
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(files()).toEqual(before);
  });
});
