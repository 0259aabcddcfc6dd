import fs from 'node:fs';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import jwt from 'jsonwebtoken';
import { ManualClock, bearer, deleteKeys, signup, startContext, LONG_TOKENS } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { image } from '../../../test/helpers/images';
import { bulkUsers } from '../../../scripts/bench/bulk-users';
import { settleOutbox } from '../../../test/helpers/outbox';
import { apiOf, errorPaths as paths } from '../../../test/helpers/api';

const T0 = '2027-03-01T03:00:00.000Z';
const clock = new ManualClock(T0);
const DAY = 24 * 3600 * 1000;
let ctx: TestContext;
let api: TestInstance;
let api2: TestInstance;

beforeAll(async () => {
  [ctx, api, api2] = await startContext({ clock, env: LONG_TOKENS }, 2);
});
afterAll(() => ctx.close());

const { auth, get, post, put, patch, del, count } = apiOf(() => api);
const community = () => api.pawmate.services.community;

async function makePost(s: Session, o: Record<string, unknown> = {}) {
  const res = await post(s, '/posts', { kind: 'general', title: 'Hello', body: 'First walk', ...o });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; chatRoomId: number | null; likeCount: number; commentCount: number };
}

const settle = () => settleOutbox(api, clock);

async function notificationsOf(s: Session, type: string) {
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((n) => n.type === type);
}

describe('posts', () => {
  it('creates, reads, edits and deletes a post; the deleted post is 404 and leaves the feed', async () => {
    const a = await signup(api, { nickname: 'Author' });
    const b = await signup(api);
    const created = await post(a, '/posts', {
      kind: 'walk_route',
      title: '  Han river loop  ',
      body: '<b>5 km</b> along the river',
      tags: ['Walk', 'river'],
      location: { lat: 37.55, lng: 126.92 },
      address: 'Mangwon',
      authorId: 999, // mass assignment: ignored
      likeCount: 50,
    }).expect(201);
    expect(created.body).toMatchObject({
      author: { id: a.user.id, nickname: 'Author', avatarUrl: null },
      kind: 'walk_route',
      title: 'Han river loop',
      body: '<b>5 km</b> along the river',
      tags: ['walk', 'river'],
      photos: [],
      location: { lat: 37.55, lng: 126.92 },
      address: 'Mangwon',
      likeCount: 0,
      commentCount: 0,
      likedByMe: false,
      chatRoomId: null,
      createdAt: T0,
      editedAt: null,
    });
    const id = created.body.id;
    expect((await get(b, `/posts/${id}`).expect(200)).body.title).toBe('Han river loop');

    await patch(b, `/posts/${id}`, { title: 'Mine now' }).expect(403);
    clock.advance(60_000);
    const edited = await patch(a, `/posts/${id}`, { title: 'Han river loop (long)', tags: [] }).expect(200);
    expect(edited.body).toMatchObject({
      title: 'Han river loop (long)',
      tags: [],
      editedAt: clock.now().toISOString(),
    });

    await del(b, `/posts/${id}`).expect(403);
    await del(a, `/posts/${id}`).expect(204);
    await get(a, `/posts/${id}`).expect(404);
    await patch(a, `/posts/${id}`, { title: 'x' }).expect(404);
    await del(a, `/posts/${id}`).expect(404);
    const feed = await get(b, `/posts?authorId=${a.user.id}`).expect(200);
    expect(feed.body).toEqual({ items: [], nextCursor: null });
  });

  it('refuses bad input with 400 naming each field, and writes nothing', async () => {
    const a = await signup(api);
    const before = await count('SELECT COUNT(*) AS n FROM posts');
    const res = await post(a, '/posts', {
      kind: 'poll',
      title: '',
      body: 'x'.repeat(10_001),
      tags: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'],
      location: { lat: 91, lng: 0 },
    }).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(paths(res)).toEqual(
      expect.arrayContaining(['body.kind', 'body.title', 'body.body', 'body.tags', 'body.location.lat']),
    );
    const ctl = await post(a, '/posts', { kind: 'general', title: 'bell\u0007', body: 'ok' }).expect(400);
    expect(paths(ctl)).toEqual(['body.title']);
    const longTag = await post(a, '/posts', { kind: 'general', title: 't', body: 'b', tags: ['x'.repeat(21)] });
    expect(paths(longTag)).toEqual(['body.tags.0']);
    expect(await count('SELECT COUNT(*) AS n FROM posts')).toBe(before);
    expect(paths(await get(a, '/posts?sort=hot&limit=101'))).toEqual(['query.sort', 'query.limit']);
    expect(paths(await get(a, '/posts?cursor=bm9wZQ'))).toEqual(['query.cursor']);
    // Well formed, but an id no row can have (ids are INT UNSIGNED).
    const farId = Buffer.from(JSON.stringify({ k: 'r', t: new Date().toISOString(), i: 2 ** 40 })).toString(
      'base64url',
    );
    expect(paths(await get(a, `/posts?cursor=${farId}`))).toEqual(['query.cursor']);
    expect(paths(await get(a, '/posts?q=%21%21%21'))).toEqual(['query.q']);
    expect(paths(await get(a, '/posts/nearby?lat=37&lng=127&radiusKm=21'))).toEqual(['query.radiusKm']);
  });

  it('takes up to 10 photos (1600 px + 320 px WebP) and deletes their files after the post is deleted', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const { id } = await makePost(a);
    const big = await image('jpeg', 2400, 1200);
    const res = await api.http
      .post(`/api/v1/posts/${id}/photos`)
      .set(auth(a))
      .attach('image', big, 'a.jpg')
      .expect(201);
    expect(res.body.url).toMatch(/^http:\/\/pawmate\.test\/uploads\/posts\/\d+\/[a-f0-9]{32}-photo\.webp$/);
    const dir = path.join(ctx.uploadDir, 'posts', String(id));
    const sharp = (await import('sharp')).default;
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(2);
    const meta = await sharp(
      path.join(
        dir,
        files.find((f) => f.endsWith('-photo.webp'))!,
      ),
    ).metadata();
    expect([meta.format, meta.width]).toEqual(['webp', 1600]);
    const thumb = await sharp(
      path.join(
        dir,
        files.find((f) => f.endsWith('-thumb.webp'))!,
      ),
    ).metadata();
    expect(thumb.width).toBe(320);

    await api.http.post(`/api/v1/posts/${id}/photos`).set(auth(b)).attach('image', big, 'a.jpg').expect(403);
    const small = await image('png', 40, 30);
    for (let i = 0; i < 9; i++)
      await api.http.post(`/api/v1/posts/${id}/photos`).set(auth(a)).attach('image', small, 'a.png').expect(201);
    await api.http.post(`/api/v1/posts/${id}/photos`).set(auth(a)).attach('image', small, 'a.png').expect(409);
    const shown = await get(a, `/posts/${id}`).expect(200);
    expect(shown.body.photos).toHaveLength(10);
    // The feed reads the photos and my like in the page's own statement: the same as the post's view.
    await put(b, `/posts/${id}/like`).expect(200);
    const feed = (await get(b, `/posts?authorId=${a.user.id}`).expect(200)).body.items;
    const listed = feed.find((x: { id: number }) => x.id === id);
    // The page is written from its rows as text (feedPageJson): the item says what the post's view says.
    expect(listed).toEqual((await get(b, `/posts/${id}`).expect(200)).body);
    expect([listed.photos.map((p: { id: number }) => p.id), listed.likedByMe]).toEqual([
      shown.body.photos.map((p: { id: number }) => p.id).sort((x: number, y: number) => x - y),
      true,
    ]);
    expect(feed.filter((x: { id: number }) => x.id !== id).map((x: { photos: unknown[] }) => x.photos)).toEqual(
      feed.filter((x: { id: number }) => x.id !== id).map(() => []),
    );
    await del(a, `/posts/${id}/photos/${shown.body.photos[0].id}`).expect(204);
    await settle();
    expect(fs.readdirSync(dir)).toHaveLength(18);

    await del(a, `/posts/${id}`).expect(204);
    await settle();
    expect(fs.readdirSync(dir)).toHaveLength(0);
    expect(await count('SELECT COUNT(*) AS n FROM post_photos WHERE postId = ?', [id])).toBe(0);
  });
});

describe('comments and replies', () => {
  it('counts a comment out once when its author and a moderator remove it at the same time', async () => {
    const author = await signup(api);
    const c1 = await signup(api);
    const p = await makePost(author);
    await post(c1, `/posts/${p.id}/comments`, { body: 'stays' }).expect(201);
    const doomed = (await post(c1, `/posts/${p.id}/comments`, { body: 'goes' }).expect(201)).body;
    // Statements waiting for the post's row lock (MariaDB shows them in the process list).
    const lockWaits = async () =>
      Number(
        (
          await api.sequelize.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE '%FROM posts p WHERE p.id = % FOR UPDATE'",
            { type: QueryTypes.SELECT },
          )
        )[0].n,
      );
    const waiting = async (n: number) => {
      for (let i = 0; (await lockWaits()) < n; i++) {
        if (i > 200) throw new Error(`${n} lock waits not reached`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // The post's row is held, so both removals read the comment live and queue for the post: the
    // author's first, then the moderator's (a report resolved with "remove").
    const holder = await api.sequelize.transaction();
    await api.sequelize.query('SELECT id FROM posts WHERE id = ? FOR UPDATE', {
      replacements: [p.id],
      transaction: holder,
    });
    const byAuthor = del(c1, `/comments/${doomed.id}`).then((r) => r.status);
    await waiting(1);
    const byModerator = api.sequelize.transaction((t) => community().comments.removeInTx(doomed.id, t));
    await waiting(2);
    await holder.commit();
    expect(await byAuthor).toBe(204);
    await byModerator;
    expect((await get(author, `/posts/${p.id}`).expect(200)).body.commentCount).toBe(1);
  });

  it('threads one level deep, keeps tombstones and exact counts, and notifies the right people once', async () => {
    const author = await signup(api, { nickname: 'PostAuthor' });
    const c1 = await signup(api, { nickname: 'Commenter' });
    const c2 = await signup(api, { nickname: 'Replier' });
    const p = await makePost(author, { title: 'Which harness?' });

    const top = (await post(c1, `/posts/${p.id}/comments`, { body: 'A soft one' }).expect(201)).body;
    expect(top).toMatchObject({
      postId: p.id,
      parentId: null,
      author: { id: c1.user.id, nickname: 'Commenter' },
      body: 'A soft one',
      likeCount: 0,
      likedByMe: false,
      replyCount: 0,
      deleted: false,
      editedAt: null,
    });
    const reply = (await post(c2, `/posts/${p.id}/comments`, { body: 'Agreed', parentId: top.id }).expect(201)).body;
    const own = (await post(author, `/posts/${p.id}/comments`, { body: 'Thanks', parentId: top.id }).expect(201)).body;
    const deeper = await post(c1, `/posts/${p.id}/comments`, { body: 'x', parentId: reply.id }).expect(400);
    expect(paths(deeper)).toEqual(['body.parentId']);
    const other = await makePost(author);
    await post(c1, `/posts/${other.id}/comments`, { body: 'x', parentId: top.id }).expect(404);
    expect(paths(await post(c1, `/posts/${p.id}/comments`, { body: '' }))).toEqual(['body.body']);
    expect(paths(await post(c1, `/posts/${p.id}/comments`, { body: 'y'.repeat(2001) }))).toEqual(['body.body']);

    expect((await get(c1, `/posts/${p.id}`)).body.commentCount).toBe(3);
    const replies = await get(c1, `/comments/${top.id}/replies`).expect(200);
    expect(replies.body.items.map((c: { id: number }) => c.id)).toEqual([reply.id, own.id]);

    await settle();
    // The post author: comment.new for c1's comment and c2's reply; nothing for their own reply.
    expect((await notificationsOf(author, 'comment.new')).map((n) => n.data.commentId).sort()).toEqual(
      [top.id, reply.id].sort(),
    );
    // c1 wrote the parent: comment.reply for c2's and the author's replies.
    expect((await notificationsOf(c1, 'comment.reply')).map((n) => n.data.commentId).sort()).toEqual(
      [reply.id, own.id].sort(),
    );
    expect(await notificationsOf(c2, 'comment.reply')).toEqual([]);

    // A post author who wrote the parent comment gets comment.reply only.
    const mine = (await post(author, `/posts/${p.id}/comments`, { body: 'Mine' }).expect(201)).body;
    const r2 = (await post(c2, `/posts/${p.id}/comments`, { body: 'Re', parentId: mine.id }).expect(201)).body;
    await settle();
    expect((await notificationsOf(author, 'comment.reply')).map((n) => n.data.commentId)).toEqual([r2.id]);
    expect((await notificationsOf(author, 'comment.new')).map((n) => n.data.commentId)).not.toContain(r2.id);

    // Edits and deletes: the author of the comment, or of the post.
    await patch(c2, `/comments/${top.id}`, { body: 'nope' }).expect(403);
    clock.advance(1000);
    expect((await patch(c1, `/comments/${top.id}`, { body: 'A soft one, padded' }).expect(200)).body.editedAt).toBe(
      clock.now().toISOString(),
    );
    await del(c2, `/comments/${top.id}`).expect(403);
    await del(c1, `/comments/${top.id}`).expect(204);
    const list = await get(c2, `/posts/${p.id}/comments`).expect(200);
    expect(list.body.items[0]).toMatchObject({ id: top.id, deleted: true, body: '', author: null, replyCount: 2 });
    await post(c2, `/posts/${p.id}/comments`, { body: 'late', parentId: top.id }).expect(409);
    await del(author, `/comments/${reply.id}`).expect(204);
    await del(author, `/comments/${own.id}`).expect(204);
    // No live replies left: the tombstone goes too.
    const after = await get(c2, `/posts/${p.id}/comments`).expect(200);
    expect(after.body.items.map((c: { id: number }) => c.id)).toEqual([mine.id]);
    const live = await count('SELECT COUNT(*) AS n FROM post_comments WHERE postId = ? AND deletedAt IS NULL', [p.id]);
    expect((await get(c1, `/posts/${p.id}`)).body.commentCount).toBe(live);
    expect(live).toBe(2);
  });

  it('the post’s author deletes a comment of someone they blocked; a bystander still sees it as 404', async () => {
    const author = await signup(api);
    const troll = await signup(api);
    const p = await makePost(author);
    const c = (await post(troll, `/posts/${p.id}/comments`, { body: 'rude' }).expect(201)).body;
    await put(author, `/users/${troll.user.id}/block`).expect(204);
    // The block hides the comment everywhere else, but the post's author still moderates the post.
    expect((await patch(author, `/comments/${c.id}`, { body: 'x' })).status).toBe(404);
    await del(author, `/comments/${c.id}`).expect(204);
    expect(await count('SELECT COUNT(*) AS n FROM post_comments WHERE id = ? AND deletedAt IS NOT NULL', [c.id])).toBe(
      1,
    );
    expect((await get(author, `/posts/${p.id}`).expect(200)).body.commentCount).toBe(0);
    // Someone else who blocked the commenter is not the post's author: the comment stays hidden (404).
    const bystander = await signup(api);
    const other = await makePost(await signup(api));
    const c2 = (await post(troll, `/posts/${other.id}/comments`, { body: 'again' }).expect(201)).body;
    await put(bystander, `/users/${troll.user.id}/block`).expect(204);
    await del(bystander, `/comments/${c2.id}`).expect(404);
  });

  it('pages comments oldest first without gaps', async () => {
    const a = await signup(api);
    const p = await makePost(a);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await post(a, `/posts/${p.id}/comments`, { body: `c${i}` })).body.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: any } = await get(
        a,
        `/posts/${p.id}/comments?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      ).expect(200);
      seen.push(...res.body.items.map((c: { id: number }) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('concurrent comments and a delete of the post: no comment lands after the delete, counts stay exact', async () => {
    const a = await signup(api);
    const users = await Promise.all([0, 1, 2, 3, 4, 5].map(() => signup(api)));
    const p = await makePost(a);
    const insts = [api, api2];
    const results = await Promise.all([
      ...users.flatMap((u, i) =>
        [0, 1, 2].map((j) =>
          insts[(i + j) % 2].http
            .post(`/api/v1/posts/${p.id}/comments`)
            .set(auth(u))
            .send({ body: `c${i}.${j}` }),
        ),
      ),
      api2.http.delete(`/api/v1/posts/${p.id}`).set(auth(a)),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses[statuses.length - 1]).toBe(204);
    for (const s of statuses.slice(0, -1)) expect([201, 404]).toContain(s);
    const [row] = await api.sequelize.query<{ commentCount: number; deletedAt: Date }>(
      'SELECT commentCount, deletedAt FROM posts WHERE id = ?',
      { replacements: [p.id], type: QueryTypes.SELECT },
    );
    const created = statuses.filter((s) => s === 201).length;
    expect(Number(row.commentCount)).toBe(created);
    expect(await count('SELECT COUNT(*) AS n FROM post_comments WHERE postId = ?', [p.id])).toBe(created);
    expect(
      await count('SELECT COUNT(*) AS n FROM post_comments WHERE postId = ? AND createdAt > ?', [p.id, row.deletedAt]),
    ).toBe(0);
  });
});

describe('likes', () => {
  it('PUT and DELETE are idempotent and answer the count and my like', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const p = await makePost(a);
    expect((await put(b, `/posts/${p.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    expect((await put(b, `/posts/${p.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    expect((await put(a, `/posts/${p.id}/like`).expect(200)).body).toEqual({ likeCount: 2, likedByMe: true });
    expect((await get(b, `/posts/${p.id}`)).body).toMatchObject({ likeCount: 2, likedByMe: true });
    expect((await del(b, `/posts/${p.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: false });
    expect((await del(b, `/posts/${p.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: false });
    await put(b, '/posts/4000000/like').expect(404);

    const c = (await post(a, `/posts/${p.id}/comments`, { body: 'hi' })).body;
    expect((await put(b, `/comments/${c.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    expect((await put(b, `/comments/${c.id}/like`).expect(200)).body).toEqual({ likeCount: 1, likedByMe: true });
    const listed = await get(b, `/posts/${p.id}/comments`).expect(200);
    expect(listed.body.items[0]).toMatchObject({ likeCount: 1, likedByMe: true });
    expect((await del(b, `/comments/${c.id}/like`).expect(200)).body).toEqual({ likeCount: 0, likedByMe: false });
  });

  it('1000 distinct users liking and unliking one post at once over two instances: count == rows', async () => {
    const a = await signup(api);
    const p = await makePost(a);
    const users = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 1000, 'likes', 90 * 24 * 3600);
    const send = (i: number, like: boolean) => {
      const inst = i % 2 ? api2 : api;
      const req = like ? inst.http.put(`/api/v1/posts/${p.id}/like`) : inst.http.delete(`/api/v1/posts/${p.id}/like`);
      return req.set('authorization', `Bearer ${users[i].token}`);
    };
    // Users 0..499 like first; then, all 1000 at once, 0..249 unlike, 250..499 like again, 500..999
    // like. Every request is answered 200: one post's likers are committed in batches, so a burst never
    // waits past the pool's acquire timeout (503), even on a busy machine.
    const first = await Promise.all(users.slice(0, 500).map((_, i) => send(i, true)));
    expect(first.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const second = await Promise.all(users.map((_, i) => send(i, i >= 250)));
    expect(second.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    second.forEach((r, i) => expect(r.body.likedByMe).toBe(i >= 250));
    const liked = new Set(users.slice(250).map((u) => u.id));
    const rows = await api.sequelize.query<{ userId: number }>(
      'SELECT userId FROM post_likes WHERE postId = ? ORDER BY userId',
      { replacements: [p.id], type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => Number(r.userId))).toEqual([...liked].sort((x, y) => x - y));
    expect((await get(a, `/posts/${p.id}`)).body.likeCount).toBe(rows.length);
    expect(rows.length).toBe(750);
  }, 120_000);
});

describe('feed, popular and search', () => {
  it('lists newest first with kind, tag and author filters, in pages without gaps', async () => {
    const a = await signup(api);
    const tagName = `t${Date.now().toString(36)}`;
    const made: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      made.push((await makePost(a, { kind: i % 2 ? 'question' : 'general', tags: [tagName] })).id);
    }
    const walk = async (q: string) => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: any } = await get(a, `/posts?${q}&limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        seen.push(...res.body.items.map((x: { id: number }) => x.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await walk(`authorId=${a.user.id}`)).toEqual([...made].reverse());
    expect(await walk(`tag=${tagName}`)).toEqual([...made].reverse());
    expect(await walk(`tag=${tagName}&kind=question`)).toEqual([made[3], made[1]]);
  });

  it('checks the login in the page’s statement: a revoked one is refused at once, on full and empty pages', async () => {
    const a = await signup(api);
    await makePost(a);
    const other = await signup(api);
    const pages = [
      `/posts?authorId=${a.user.id}`,
      '/posts?sort=popular',
      '/posts?q=hello',
      `/posts?authorId=${other.user.id}`, // empty: the end of a list must not pass for an open login
      '/posts?q=zzqxnothing',
    ];
    for (const p of pages) await get(a, p).expect(200);
    // A token of someone else's login (signed with the right key) is refused like a revoked one.
    const forged = jwt.sign(
      {
        sub: String(a.user.id),
        sid: (jwt.decode(other.accessToken) as { sid: number }).sid,
        jti: 'forged',
        iat: Math.floor(clock.now().getTime() / 1000),
      },
      ctx.config.jwtSecret,
      { algorithm: 'HS256', expiresIn: 600 },
    );
    await api.http.get('/api/v1/posts').set(bearer(forged)).expect(401);
    await api2.http.post('/api/v1/auth/logout').set(auth(a)).send({}).expect(204);
    // As if the deny-list write had not landed: the feed reads the login from MySQL, not Redis.
    await deleteKeys(api.redis, `${ctx.config.redisPrefix}revoked:`);
    for (const p of pages) {
      const res = await get(a, p).expect(401);
      expect([p, res.body.detail, res.headers['www-authenticate']]).toEqual([
        p,
        'The access token has been revoked',
        expect.stringContaining('error="invalid_token"'),
      ]);
    }
    await get(other, `/posts?authorId=${a.user.id}`).expect(200);
  });

  it('popular ranks by likes and comments of the last 7 days, then newest; old activity expires', async () => {
    const a = await signup(api);
    const [u1, u2, u3] = await Promise.all([signup(api), signup(api), signup(api)]);
    const tagName = `p${Date.now().toString(36)}`;
    const old = await makePost(a, { tags: [tagName], title: 'old' });
    clock.advance(1000);
    const mid = await makePost(a, { tags: [tagName], title: 'mid' });
    clock.advance(1000);
    const fresh = await makePost(a, { tags: [tagName], title: 'fresh' });
    for (const u of [u1, u2, u3]) await put(u, `/posts/${old.id}/like`).expect(200);
    clock.advance(8 * DAY);
    await put(u1, `/posts/${mid.id}/like`).expect(200);
    await post(u2, `/posts/${mid.id}/comments`, { body: 'nice' }).expect(201);
    await community().expireActivity();
    const ids = (await get(a, `/posts?tag=${tagName}&sort=popular`).expect(200)).body.items.map(
      (x: { id: number }) => x.id,
    );
    // old's likes are 8 days old: it ranks by recency among the zero-score posts.
    expect(ids).toEqual([mid.id, fresh.id, old.id]);
    await del(u1, `/posts/${mid.id}/like`).expect(200);
    const [row] = await api.sequelize.query<{ recentScore: number }>('SELECT recentScore FROM posts WHERE id = ?', {
      replacements: [mid.id],
      type: QueryTypes.SELECT,
    });
    expect(Number(row.recentScore)).toBe(1);
    clock.set(T0);
  });

  it('q finds Korean words by their start (particles) and English words case-insensitively', async () => {
    const a = await signup(api);
    const mk = async (title: string, body: string) => (await makePost(a, { title, body })).id;
    const p1 = await mk('강아지가 산책로에서 뛰어요', '오늘 한강 산책로');
    const p2 = await mk('우리 강아지랑 놀아요', 'Playing FETCH with the dog');
    const p3 = await mk('고양이 사료 추천', 'Which cat food? 개 간식도');
    const p4 = await mk('The walking guide', 'A walk is good for dogs');
    const find = async (q: string) =>
      (await get(a, `/posts?authorId=${a.user.id}&q=${encodeURIComponent(q)}`).expect(200)).body.items
        .map((x: { id: number }) => x.id)
        .sort((x: number, y: number) => x - y);
    expect(await find('강아지')).toEqual([p1, p2]);
    expect(await find('산책')).toEqual([p1]);
    expect(await find('개')).toEqual([p3]);
    expect(await find('강아지 산책')).toEqual([p1]);
    expect(await find('fetch')).toEqual([p2]);
    expect(await find('WALK')).toEqual([p4]);
    expect(await find('the')).toEqual([p2, p4]);
    expect(await find('dog')).toEqual([p2, p4]);
    expect(await find('책')).toEqual([]);
    expect(await find('"+강아지*')).toEqual([p1, p2]);
    await patch(a, `/posts/${p3}`, { body: '사료만' }).expect(200);
    expect(await find('개')).toEqual([]);
    await del(a, `/posts/${p1}`).expect(204);
    expect(await find('산책')).toEqual([]);
  });

  it('q pages newest first through the prefix table, and its capped walk falls back to FULLTEXT exactly', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const made: Record<string, number> = {};
    // Many candidates share the prefix "wa" but only some are "walk…"; one is by a user a blocks.
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      const walker = i % 3 === 0;
      const author = i === 6 ? b : a;
      made[i] = (
        await makePost(author, { title: `post ${i}`, body: walker ? `Walking 산책로 ${i}` : `wait 산책 ${i}` })
      ).id;
    }
    await put(a, `/users/${b.user.id}/block`).expect(204);
    const walkers = [9, 3, 0].map((i) => made[i]);
    const walkAll = async (q: string) => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: any } = await get(
          a,
          `/posts?q=${encodeURIComponent(q)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        ).expect(200);
        seen.push(...res.body.items.map((x: { id: number }) => x.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen.filter((id) => Object.values(made).includes(id));
    };
    const expected = {
      walk: walkers,
      'walk 산책': walkers,
      '산책로 walking': walkers,
      wai: [11, 10, 8, 7, 5, 4, 2, 1].map((i) => made[i]),
    };
    const feed = community().feed;
    const limits = feed.walkLimits;
    try {
      for (const bounds of [limits, { candidates: 1, examineAtMost: 3 }]) {
        feed.walkLimits = bounds;
        for (const [q, ids] of Object.entries(expected)) expect([q, await walkAll(q)]).toEqual([q, ids]);
      }
    } finally {
      feed.walkLimits = limits;
    }
    // An edit moves the post between words; a delete takes it out of the table with its row.
    await patch(a, `/posts/${made[9]}`, { body: 'wait' }).expect(200);
    expect(await walkAll('walk')).toEqual([made[3], made[0]]);
    expect(await walkAll('wai')).toContain(made[9]);
    await del(a, `/posts/${made[3]}`).expect(204);
    expect(await walkAll('walk')).toEqual([made[0]]);
    expect(await count('SELECT COUNT(*) AS n FROM post_word_prefixes WHERE postId = ?', [made[3]])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM post_word_prefixes WHERE postId = ?', [made[9]])).toBe(2);
  });
});

describe('GET /posts/nearby', () => {
  it('answers posts with a location nearest first, in exact pages, written through the outbox and rebuilt', async () => {
    const a = await signup(api);
    const c = { lat: 33.45, lng: 126.56 }; // away from the other tests' points
    const pts = [0.001, 0.003, 0.006, 0.01, 0.02].map((d) => ({ lat: c.lat + d, lng: c.lng }));
    const ids: number[] = [];
    for (const loc of pts) ids.push((await makePost(a, { location: loc })).id);
    const far = await makePost(a, { location: { lat: c.lat + 0.5, lng: c.lng } });
    await makePost(a); // no location
    await settle();
    const walk = async (q = '') => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: any } = await get(
          a,
          `/posts/nearby?lat=${c.lat}&lng=${c.lng}&limit=2${q}${cursor ? `&cursor=${cursor}` : ''}`,
        ).expect(200);
        for (const it of res.body.items) expect(it.distanceKm).toBeLessThanOrEqual(3);
        seen.push(...res.body.items.map((x: { id: number }) => x.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await walk()).toEqual(ids);
    expect(await walk('&radiusKm=20')).not.toContain(far.id);
    await del(a, `/posts/${ids[0]}`).expect(204);
    await patch(a, `/posts/${ids[1]}`, { location: null }).expect(200);
    await settle();
    expect(await walk()).toEqual(ids.slice(2));

    // An empty index is rebuilt from MySQL (at start and by the sweep).
    await api.redis.del(`${ctx.config.redisPrefix}geo:posts`);
    expect(await community().posts.healGeoIndex()).toBe(true);
    expect(await walk()).toEqual(ids.slice(2));
  });

  it('pages on from a cursor of the form it issued before it shared the nearest-first pager', async () => {
    const a = await signup(api);
    const c = { lat: 33.3, lng: 126.3 }; // away from the other tests' points
    const ids: number[] = [];
    for (const d of [0.001, 0.002, 0.004])
      ids.push((await makePost(a, { location: { lat: c.lat + d, lng: c.lng } })).id);
    await settle();
    const page = (cursor = '') => get(a, `/posts/nearby?lat=${c.lat}&lng=${c.lng}&limit=1${cursor}`).expect(200);
    const first = await page();
    expect(first.body.items.map((x: { id: number }) => x.id)).toEqual([ids[0]]);
    const { d, i } = JSON.parse(Buffer.from(first.body.nextCursor, 'base64url').toString());
    const legacy = Buffer.from(JSON.stringify({ k: 'd', d, i })).toString('base64url');
    const [now, old] = await Promise.all([page(`&cursor=${first.body.nextCursor}`), page(`&cursor=${legacy}`)]);
    expect(now.body.items.map((x: { id: number }) => x.id)).toEqual([ids[1]]);
    expect(old.body).toEqual(now.body);
    await get(
      a,
      `/posts/nearby?lat=${c.lat}&lng=${c.lng}&cursor=${Buffer.from('{"k":"x","d":1,"i":1}').toString('base64url')}`,
    ).expect(400);
  });
});
