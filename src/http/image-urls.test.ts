import { type TestContext, signup, bearer, type TestInstance, startContext } from '../../test/helpers/context';
import { makePet } from '../../test/helpers/fixtures';
import { image } from '../../test/helpers/images';
import { keyOfStoredUrl, up as migrateToKeys } from '../../migrations/20261206093719-image-keys';

const KEY = /^avatars\/\d+\/[a-f0-9]{32}\.webp$/;

describe('image URLs are built from stored keys when answers are written', () => {
  let ctx: TestContext;
  let api: TestInstance;

  beforeAll(async () => {
    [ctx, api] = await startContext();
  });
  afterAll(() => ctx.close());

  const storedAvatar = async (userId: number) => {
    const [rows] = await api.sequelize.query('SELECT avatarUrl FROM users WHERE id = ?', { replacements: [userId] });
    return (rows as { avatarUrl: string | null }[])[0].avatarUrl;
  };

  it('stores the key and answers with the current base, so a new CDN base applies to old images', async () => {
    const s = await signup(api);
    const put = await api.http
      .put('/api/v1/users/me/avatar')
      .set(bearer(s.accessToken))
      .attach('image', await image('png', 300, 300), { filename: 'a.png', contentType: 'image/png' })
      .expect(200);
    const key = await storedAvatar(s.user.id);
    expect(key).toMatch(KEY);
    expect(put.body.avatarUrl).toBe(`http://pawmate.test/uploads/${key}`);

    const behindCdn = await ctx.instance({ mediaUrl: 'https://cdn.example.com/img' });
    const me = await behindCdn.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.avatarUrl).toBe(`https://cdn.example.com/img/${key}`);
    const pub = await behindCdn.http.get(`/api/v1/users/${s.user.id}`).set(bearer(s.accessToken)).expect(200);
    expect(pub.body.avatarUrl).toBe(`https://cdn.example.com/img/${key}`);
  });

  it('the migration rewrites stored absolute URLs (any old base) to keys and leaves foreign ones', async () => {
    const owner = await signup(api);
    const other = await signup(api);
    const pet = await makePet(api, owner);
    const avatarKey = `avatars/${owner.user.id}/${'a'.repeat(32)}.webp`;
    const petKey = `pets/${owner.user.id}/${'b'.repeat(32)}.webp`;
    const foreign = 'https://k.kakaocdn.net/dn/abc/img_640x640.jpg';
    await api.sequelize.query('UPDATE users SET avatarUrl = ? WHERE id = ?', {
      replacements: [`http://old-host:3000/uploads/${avatarKey}`, owner.user.id],
    });
    await api.sequelize.query('UPDATE users SET avatarUrl = ? WHERE id = ?', {
      replacements: [foreign, other.user.id],
    });
    await api.sequelize.query('UPDATE pets SET photoUrl = ? WHERE id = ?', {
      replacements: [`https://pawmate-bucket.s3.ap-northeast-2.amazonaws.com/${petKey}`, pet.id],
    });

    await migrateToKeys({ context: api.sequelize.getQueryInterface() });

    expect(await storedAvatar(owner.user.id)).toBe(avatarKey);
    expect(await storedAvatar(other.user.id)).toBe(foreign);
    const me = await api.http.get('/api/v1/users/me').set(bearer(owner.accessToken)).expect(200);
    expect(me.body.avatarUrl).toBe(`http://pawmate.test/uploads/${avatarKey}`);
    const pets = await api.http.get('/api/v1/pets').set(bearer(owner.accessToken)).expect(200);
    expect(pets.body.items[0].photoUrl).toBe(`http://pawmate.test/uploads/${petKey}`);
    const stranger = await api.http.get(`/api/v1/users/${other.user.id}`).set(bearer(owner.accessToken)).expect(200);
    expect(stranger.body.avatarUrl).toBe(foreign);
  });

  it('finds the key at the end of URLs of both drivers, and nothing in foreign or malformed values', () => {
    const k = `posts/7/${'c'.repeat(32)}-thumb.webp`;
    expect(keyOfStoredUrl(`http://localhost:3000/uploads/${k}`)).toBe(k);
    expect(keyOfStoredUrl(`http://minio:9000/bucket/${k}`)).toBe(k);
    expect(keyOfStoredUrl(k)).toBeNull();
    expect(keyOfStoredUrl('https://example.com/avatars/1/not-a-key.webp')).toBeNull();
    expect(keyOfStoredUrl(null)).toBeNull();
  });
});
