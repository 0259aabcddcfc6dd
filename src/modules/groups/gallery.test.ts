import fs from 'node:fs';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { image, jpegWithExif } from '../../../test/helpers/images';
import { family as makeFamily } from '../../../test/helpers/groups';
import type { GroupPhotoAdded } from '../events';

let ctx: TestContext;
let api: TestInstance;
const added: GroupPhotoAdded[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  api.pawmate.events.on('group.photo.added', async (e) => {
    added.push(e);
  });
});
afterAll(() => ctx.close());

const auth = (s: Session) => bearer(s.accessToken);
const get = (s: Session, p: string) => api.http.get(`/api/v1${p}`).set(auth(s));
const post = (s: Session, p: string, body: object = {}) => api.http.post(`/api/v1${p}`).set(auth(s)).send(body);
const put = (s: Session, p: string) => api.http.put(`/api/v1${p}`).set(auth(s));
const del = (s: Session, p: string) => api.http.delete(`/api/v1${p}`).set(auth(s));
const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);
const groupDir = (groupId: number) => path.join(ctx.uploadDir, 'groups', String(groupId));
const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
/** Storage deletions run from the outbox after the commit: wait for them (up to 5 s). */
async function filesSettle(dir: string, expected: number) {
  for (let i = 0; i < 100 && filesIn(dir).length !== expected; i++) {
    await api.pawmate.outbox.drain();
    await new Promise((r) => setTimeout(r, 50));
  }
  return filesIn(dir);
}

const family = (size: number) => makeFamily(api, size);

const upload = (s: Session, groupId: number, bytes: Buffer, caption?: string) => {
  const req = api.http.post(`/api/v1/groups/${groupId}/photos`).set(auth(s));
  if (caption !== undefined) req.field('caption', caption);
  return req.attach('image', bytes, 'photo.jpg');
};

async function notificationsOf(s: Session, type: string) {
  await api.pawmate.outbox.drain();
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((n) => n.type === type);
}

describe('gallery', () => {
  it('group.photo.added counts the author’s photos in the gallery now: a deleted one no longer counts', async () => {
    const { g, people } = await family(2);
    const author = people[1];
    const first = (await upload(author, g.id, await image('jpeg', 200, 200)).expect(201)).body;
    await del(author, `/groups/${g.id}/photos/${first.id}`).expect(204);
    const again = (await upload(author, g.id, await image('jpeg', 200, 200)).expect(201)).body;
    await upload(people[0], g.id, await image('jpeg', 200, 200)).expect(201);
    expect(added.find((e) => e.photoId === first.id)?.authorPhotos).toBe(1);
    expect(added.find((e) => e.photoId === again.id)?.authorPhotos).toBe(1); // it was 2 adds
  });

  it('stores a 1600 px WebP and a 320 px thumbnail without EXIF/GPS; the caption; group.photo.added', async () => {
    const { g, people } = await family(2);
    const res = await upload(people[1], g.id, await image('jpeg', 2400, 1200), 'Coco at the beach').expect(201);
    expect(res.body).toMatchObject({
      caption: 'Coco at the beach',
      author: { id: people[1].user.id, nickname: 'P1' },
      likeCount: 0,
      likedByMe: false,
      commentCount: 0,
    });
    expect(res.body.url).toMatch(/^http:\/\/pawmate\.test\/uploads\/groups\/\d+\/[a-f0-9]{32}-photo\.webp$/);
    expect(added).toContainEqual({
      groupId: g.id,
      photoId: res.body.id,
      authorId: people[1].user.id,
      createdAt: expect.any(Date),
      authorPhotos: 1,
    });
    const sharp = (await import('sharp')).default;
    const files = filesIn(groupDir(g.id));
    const meta = await sharp(
      path.join(
        groupDir(g.id),
        files.find((f) => f.endsWith('-photo.webp'))!,
      ),
    ).metadata();
    expect([meta.format, meta.width]).toEqual(['webp', 1600]);
    const thumb = await sharp(
      path.join(
        groupDir(g.id),
        files.find((f) => f.endsWith('-thumb.webp'))!,
      ),
    ).metadata();
    expect(thumb.width).toBe(320);

    const exif = await upload(people[0], g.id, await jpegWithExif()).expect(201);
    const stored = path.join(groupDir(g.id), path.basename(exif.body.url));
    expect((await sharp(stored).metadata()).exif).toBeUndefined();
    expect(exif.body.caption).toBe('');
  });

  it('refuses non-members (404, before the upload), non-images (415) and long captions (400 body.caption)', async () => {
    const { g, people } = await family(1);
    const outsider = await signup(api);
    const png = await image('png', 50, 50);
    await upload(outsider, g.id, png).expect(404);
    await get(outsider, `/groups/${g.id}/photos`).expect(404);
    const text = await api.http
      .post(`/api/v1/groups/${g.id}/photos`)
      .set(auth(people[0]))
      .attach('image', Buffer.from('not an image at all'), 'a.jpg')
      .expect(415);
    expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const long = await upload(people[0], g.id, png, 'x'.repeat(301)).expect(400);
    expect(long.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.caption']);
    expect(await count('SELECT COUNT(*) AS n FROM group_photos WHERE groupId = ?', [g.id])).toBe(0);
    expect(filesIn(groupDir(g.id))).toEqual([]);
  });

  it('likes are idempotent and counted; comments notify the photo’s author, never oneself; the page has the counts', async () => {
    const { g, people } = await family(3);
    const [a, b, c] = people;
    const photo = (await upload(a, g.id, await image('png', 60, 60)).expect(201)).body.id as number;
    const p = `/groups/${g.id}/photos/${photo}`;
    expect((await put(b, `${p}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    expect((await put(b, `${p}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    expect((await put(c, `${p}/like`).expect(200)).body).toEqual({ likeCount: 2, likedByMe: true });
    expect((await del(c, `${p}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: false });
    expect((await del(c, `${p}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: false });
    await Promise.all(people.map((s) => put(s, `${p}/like`).expect(200)));
    const c1 = await post(b, `${p}/comments`, { body: ' So cute ' }).expect(201);
    expect(c1.body).toMatchObject({ photoId: photo, body: 'So cute', author: { id: b.user.id } });
    await post(a, `${p}/comments`, { body: 'Thanks!' }).expect(201);
    expect((await post(a, `${p}/comments`, { body: '' }).expect(400)).body.errors[0].path).toBe('body.body');
    const n = await notificationsOf(a, 'group.photo_comment');
    expect(n).toEqual([expect.objectContaining({ data: expect.objectContaining({ groupId: g.id, photoId: photo }) })]);
    expect(await notificationsOf(b, 'group.photo_comment')).toEqual([]);

    const page = await get(b, `/groups/${g.id}/photos`).expect(200);
    expect(page.body.items).toEqual([
      expect.objectContaining({ id: photo, likeCount: 3, likedByMe: true, commentCount: 2 }),
    ]);
    const comments = await get(c, `${p}/comments`).expect(200);
    expect(comments.body.items.map((x: { body: string }) => x.body)).toEqual(['So cute', 'Thanks!']);

    // c (a plain member, not the author of either) cannot delete b's comment; a (the photo's author) can.
    await del(c, `${p}/comments/${c1.body.id}`).expect(403);
    await del(a, `${p}/comments/${c1.body.id}`).expect(204);
    expect((await get(c, `/groups/${g.id}/photos`).expect(200)).body.items[0].commentCount).toBe(1);
  });

  it('deleting a photo (author or admin) and deleting the group remove the files after the commit', async () => {
    const { g, people } = await family(3);
    const [owner, a, b] = people;
    const png = await image('png', 60, 60);
    const pa = (await upload(a, g.id, png).expect(201)).body.id;
    await upload(a, g.id, png).expect(201);
    await upload(b, g.id, png).expect(201);
    expect(filesIn(groupDir(g.id))).toHaveLength(6);
    await del(b, `/groups/${g.id}/photos/${pa}`).expect(403);
    await del(owner, `/groups/${g.id}/photos/${pa}`).expect(204);
    expect(await filesSettle(groupDir(g.id), 4)).toHaveLength(4);
    await del(owner, `/groups/${g.id}`).expect(204);
    expect(await filesSettle(groupDir(g.id), 0)).toHaveLength(0);
    expect(await count('SELECT COUNT(*) AS n FROM group_photos WHERE groupId = ?', [g.id])).toBe(0);
  });

  it('photos are reportable by members (report type photo); outsiders get 404', async () => {
    const { g, people } = await family(2);
    const outsider = await signup(api);
    const photo = (await upload(people[0], g.id, await image('png', 40, 40)).expect(201)).body.id;
    await post(people[1], '/reports', { targetType: 'photo', targetId: photo, reason: 'abuse' }).expect(202);
    await post(outsider, '/reports', { targetType: 'photo', targetId: photo, reason: 'abuse' }).expect(404);
  });
});
