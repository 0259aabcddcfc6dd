import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { TestContext, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { pollUntil as eventually } from '../../../test/helpers/faults';
import { image, jpegWithExif, pngBomb, svg, type Format } from '../../../test/helpers/images';
import { S3rverPeer } from '../../../test/helpers/s3rver';
import { makePet, makeSitter } from '../../../test/helpers/fixtures';

const AVATAR = '/api/v1/users/me/avatar';

const upload = (api: TestInstance, token: string, bytes: Buffer, filename = 'me.jpg', contentType = 'image/jpeg') =>
  api.http.put(AVATAR).set(bearer(token)).attach('image', bytes, { filename, contentType });

describe('avatars on the local driver', () => {
  let ctx: TestContext;
  let api: TestInstance;
  const fileOf = (url: string) => path.join(ctx.uploadDir, url.replace('http://pawmate.test/uploads/', ''));
  const localPath = (url: string) => url.replace('http://pawmate.test', '');

  beforeAll(async () => {
    ctx = await new TestContext().setup();
    api = await ctx.instance();
  });
  afterAll(() => ctx.close());

  it.each<Format>(['jpeg', 'png', 'webp', 'gif', 'avif'])('turns a %s into a stored 160×160 WebP', async (format) => {
    const s = await signup(api);
    const res = await upload(
      api,
      s.accessToken,
      await image(format, 640, 480),
      `me.${format}`,
      `image/${format}`,
    ).expect(200);
    expect(res.body).toEqual({
      avatarUrl: expect.stringMatching(
        new RegExp(`^http://pawmate\\.test/uploads/avatars/${s.user.id}/[a-f0-9]{32}\\.webp$`),
      ),
    });
    const meta = await sharp(fs.readFileSync(fileOf(res.body.avatarUrl))).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 160, height: 160 });
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.avatarUrl).toBe(res.body.avatarUrl);
    const pub = await api.http.get(`/api/v1/users/${s.user.id}`).expect(200);
    expect(pub.body.avatarUrl).toBe(res.body.avatarUrl);
  });

  it('drops EXIF and GPS from the stored file', async () => {
    const s = await signup(api);
    const res = await upload(api, s.accessToken, await jpegWithExif()).expect(200);
    const stored = fs.readFileSync(fileOf(res.body.avatarUrl));
    expect((await sharp(stored).metadata()).exif).toBeUndefined();
    expect(stored.toString('latin1')).not.toMatch(/PawCam|Secret Model 9/);
  });

  it('serves the file at /uploads with immutable caching, usable from another origin', async () => {
    const s = await signup(api);
    const res = await upload(api, s.accessToken, await image('jpeg')).expect(200);
    const served = await api.http.get(localPath(res.body.avatarUrl)).buffer(true).expect(200);
    expect(served.headers['content-type']).toBe('image/webp');
    expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(served.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(Buffer.from(served.body).equals(fs.readFileSync(fileOf(res.body.avatarUrl)))).toBe(true);
  });

  it('answers a missing upload with a 404 problem and never serves outside the upload directory', async () => {
    const missing = await api.http.get('/uploads/avatars/1/00000000000000000000000000000000.webp').expect(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    fs.writeFileSync(path.join(ctx.uploadDir, '.secret'), 'hidden');
    const dot = await api.http.get('/uploads/.secret').expect(404);
    expect(dot.body.code).toBe('NOT_FOUND');
    const up = await api.http.get('/uploads/%2e%2e/%2e%2e/etc/passwd').expect(404);
    expect(up.text).not.toContain('root:');
  });

  it('deletes the previous avatar after the new one is committed', async () => {
    const s = await signup(api);
    const first = await upload(api, s.accessToken, await image('jpeg')).expect(200);
    const second = await upload(api, s.accessToken, await image('png'), 'b.png', 'image/png').expect(200);
    expect(second.body.avatarUrl).not.toBe(first.body.avatarUrl);
    expect(fs.existsSync(fileOf(second.body.avatarUrl))).toBe(true);
    await eventually(() => !fs.existsSync(fileOf(first.body.avatarUrl)));
    // Exactly one avatar object is left for this user.
    expect(fs.readdirSync(path.join(ctx.uploadDir, 'avatars', String(s.user.id)))).toEqual([
      path.basename(second.body.avatarUrl),
    ]);
  });

  it('deletes the avatar object when the account is deleted', async () => {
    const s = await signup(api);
    const res = await upload(api, s.accessToken, await image('jpeg')).expect(200);
    expect(fs.existsSync(fileOf(res.body.avatarUrl))).toBe(true);
    await api.http.delete('/api/v1/users/me').set(bearer(s.accessToken)).expect(204);
    await eventually(() => !fs.existsSync(fileOf(res.body.avatarUrl)));
  });

  it('keeps the right object under concurrent replacements (each deletes exactly the one it replaced)', async () => {
    const s = await signup(api);
    const jpeg = await image('jpeg', 300, 300);
    const results = await Promise.all(Array.from({ length: 4 }, () => upload(api, s.accessToken, jpeg)));
    for (const r of results) expect(r.status).toBe(200);
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    const dir = path.join(ctx.uploadDir, 'avatars', String(s.user.id));
    await eventually(() => fs.readdirSync(dir).length === 1);
    expect(fs.readdirSync(dir)).toEqual([path.basename(me.body.avatarUrl)]);
  });

  it.each([
    ['a text file named .png', Buffer.from('just text\n'.repeat(50)), 'me.png', 'image/png', 415],
    ['an SVG', svg, 'me.svg', 'image/svg+xml', 415],
    ['a pixel bomb', pngBomb(), 'bomb.png', 'image/png', 413],
  ])('refuses %s and keeps the current avatar', async (_name, bytes, filename, type, status) => {
    const s = await signup(api);
    const current = await upload(api, s.accessToken, await image('jpeg')).expect(200);
    const dir = path.join(ctx.uploadDir, 'avatars', String(s.user.id));
    const before = fs.readdirSync(dir);
    const res = await upload(api, s.accessToken, bytes as Buffer, filename as string, type as string).expect(
      status as number,
    );
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.status).toBe(status);
    expect(fs.readdirSync(dir)).toEqual(before);
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.avatarUrl).toBe(current.body.avatarUrl);
  });

  it('requires a login and a file', async () => {
    await api.http
      .put(AVATAR)
      .attach('image', await image('jpeg'), 'a.jpg')
      .expect(401);
    const s = await signup(api);
    const res = await api.http.put(AVATAR).set(bearer(s.accessToken)).field('x', 'y').expect(400);
    expect(res.body.errors).toEqual([{ path: 'body.image', message: expect.any(String) }]);
  });

  it('documents the upload in /openapi.json as multipart with a binary image', async () => {
    const doc = await api.http.get('/openapi.json').expect(200);
    const op = doc.body.paths['/api/v1/users/me/avatar'].put;
    expect(op.requestBody.content['multipart/form-data'].schema.properties.image).toMatchObject({
      type: 'string',
      format: 'binary',
    });
    expect(doc.body.paths['/api/v1/pets/{id}/photo'].put.requestBody.content).toHaveProperty('multipart/form-data');
  });
});

describe('one upload policy for every image route', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await new TestContext().setup();
  });
  afterAll(() => ctx.close());

  it('counts sitter photos, pet photos and avatars against one per-user limit', async () => {
    const api = await ctx.instance({ uploadsPerHour: 2 });
    const { user, sitter } = await makeSitter(api);
    const pet = await makePet(api, user);
    const jpeg = await image('jpeg', 200, 200);
    await upload(api, user.accessToken, jpeg).expect(200);
    await api.http
      .put(`/api/v1/pets/${pet.id}/photo`)
      .set(bearer(user.accessToken))
      .attach('image', jpeg, 'p.jpg')
      .expect(200);
    const third = await api.http
      .post('/api/v1/sitters/me/photos')
      .set(bearer(user.accessToken))
      .attach('image', jpeg, 's.jpg');
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('RATE_LIMITED');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect((await api.http.get(`/api/v1/sitters/${sitter.id}`)).body.photos).toEqual([]);
  });

  it('buffers sitter photos within the same per-instance budget as the other image routes', async () => {
    const api = await ctx.instance({ uploadsInFlight: 1 });
    const { user: sitter } = await makeSitter(api);
    const other = await signup(api);
    // A sitter photo whose body never finishes arriving holds the only buffering slot.
    const stalled = http.request(`${api.url}/api/v1/sitters/me/photos`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${sitter.accessToken}`,
        'Content-Type': 'multipart/form-data; boundary=x',
        'Content-Length': '100000',
      },
    });
    stalled.on('error', () => undefined);
    stalled.write('--x\r\n');
    const buffering = async () => {
      const metrics = (await api.http.get('/metrics').expect(200)).text;
      return Number(/^pawmate_uploads_buffering (\d+)/m.exec(metrics)?.[1] ?? -1);
    };
    await eventually(async () => (await buffering()) === 1);
    const refused = await upload(api, other.accessToken, await image('jpeg'));
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('UNAVAILABLE');
    // Hanging up gives the slot back.
    stalled.destroy();
    await eventually(async () => (await buffering()) === 0);
    await upload(api, other.accessToken, await image('jpeg')).expect(200);
  });
});

describe('avatars on the s3 driver (real s3rver)', () => {
  const s3 = new S3rverPeer();
  let ctx: TestContext;
  let api: TestInstance;

  beforeAll(async () => {
    await s3.start();
    ctx = await new TestContext({
      storage: s3.storage(),
      env: { STORAGE_DRIVER: 's3', S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint },
    }).setup();
    api = await ctx.instance();
  });
  afterAll(async () => {
    await ctx.close();
    await s3.stop();
  });

  it('uploads the WebP to the bucket, serves nothing locally, and deletes the old object after replace', async () => {
    const s = await signup(api);
    const first = await upload(api, s.accessToken, await image('jpeg', 500, 500)).expect(200);
    expect(first.body.avatarUrl).toMatch(
      new RegExp(`^${s3.endpoint}/${s3.bucket}/avatars/${s.user.id}/[a-f0-9]{32}\\.webp$`),
    );
    const got = await fetch(first.body.avatarUrl);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/webp');
    expect(await sharp(Buffer.from(await got.arrayBuffer())).metadata()).toMatchObject({
      format: 'webp',
      width: 160,
      height: 160,
    });
    // The app has no /uploads route with the s3 driver.
    await api.http.get(`/uploads/${first.body.avatarUrl.split(`/${s3.bucket}/`)[1]}`).expect(404);

    const second = await upload(api, s.accessToken, await image('gif', 200, 100), 'a.gif', 'image/gif').expect(200);
    expect((await fetch(second.body.avatarUrl)).status).toBe(200);
    await eventually(async () => (await fetch(first.body.avatarUrl)).status === 404);
  });

  it('leaves no object behind for a refused upload', async () => {
    const s = await signup(api);
    const keys = async () => {
      const list = await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=avatars/${s.user.id}/`);
      expect(list.status).toBe(200);
      return [...(await list.text()).matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
    };
    const ok = await upload(api, s.accessToken, await image('webp')).expect(200);
    expect(await keys()).toEqual([ok.body.avatarUrl.split(`/${s3.bucket}/`)[1]]);
    const res = await upload(api, s.accessToken, svg, 'a.svg', 'image/svg+xml').expect(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await keys()).toEqual([ok.body.avatarUrl.split(`/${s3.bucket}/`)[1]]);
  });
});
