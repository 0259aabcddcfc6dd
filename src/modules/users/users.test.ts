import { QueryTypes } from 'sequelize';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { signup, bearer, PASSWORD, startContext } from '../../../test/helpers/context';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  [ctx, api] = await startContext();
});
afterAll(() => ctx.close());

describe('GET /users/me', () => {
  it('returns my account with e-mail', async () => {
    const s = await signup(api, { nickname: 'Hana' });
    const res = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(res.body).toEqual({
      id: s.user.id,
      email: s.email,
      nickname: 'Hana',
      bio: '',
      avatarUrl: null,
      emailVerified: false,
      hasPassword: true,
      isSitter: false,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it.each([
    ['no header', undefined],
    ['a malformed header', 'Token abc'],
    ['a garbage token', 'Bearer not.a.jwt'],
  ])('answers 401 for %s', async (_label, header) => {
    const req = api.http.get('/api/v1/users/me');
    if (header) req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed with another key or with alg none', async () => {
    const s = await signup(api);
    const [, payload] = s.accessToken.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    await api.http.get('/api/v1/users/me').set(bearer(none)).expect(401);
    const jwt = await import('jsonwebtoken');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = jwt.sign(claims, 'another-secret-another-secret-123456');
    await api.http.get('/api/v1/users/me').set(bearer(forged)).expect(401);
  });

  it('refuses an expired token', async () => {
    const s = await signup(api);
    const jwt = await import('jsonwebtoken');
    const claims = JSON.parse(Buffer.from(s.accessToken.split('.')[1], 'base64url').toString());
    const expired = jwt.sign({ ...claims, iat: claims.iat - 3600, exp: claims.iat - 60 }, ctx.config.jwtSecret);
    await api.http.get('/api/v1/users/me').set(bearer(expired)).expect(401);
  });

  it('tells an expired token (refresh and retry) from an invalid or revoked one (log in again)', async () => {
    const s = await signup(api);
    const jwt = await import('jsonwebtoken');
    const claims = JSON.parse(Buffer.from(s.accessToken.split('.')[1], 'base64url').toString());
    const challenge = async (token?: string) => {
      const req = api.http.get('/api/v1/users/me');
      if (token) req.set(bearer(token));
      const res = await req.expect(401);
      return { header: res.headers['www-authenticate'] as string | undefined, detail: res.body.detail as string };
    };
    const expired = await challenge(
      jwt.sign({ ...claims, iat: claims.iat - 3600, exp: claims.iat - 60 }, ctx.config.jwtSecret),
    );
    expect(expired.header).toBe(
      'Bearer realm="pawmate", error="invalid_token", error_description="The access token expired"',
    );
    expect(expired.detail).toBe('The access token expired');
    // An expired token with a forged signature is invalid, not expired: "expired" promises a refresh helps.
    const forged = await challenge(
      jwt.sign({ ...claims, iat: claims.iat - 3600, exp: claims.iat - 60 }, 'another-secret-another-secret-123456'),
    );
    expect(forged.header).toContain('error_description="The access token is invalid"');
    expect((await challenge('not.a.jwt')).header).toContain('error_description="The access token is invalid"');
    expect((await challenge()).header).toBe('Bearer realm="pawmate"');
    await api.http.post('/api/v1/auth/logout').set(bearer(s.accessToken)).send({}).expect(204);
    expect((await challenge(s.accessToken)).header).toContain(
      'error="invalid_token", error_description="The access token has been revoked"',
    );
  });
});

describe('PATCH /users/me', () => {
  it('changes nickname and bio and nothing else', async () => {
    const s = await signup(api);
    const res = await api.http
      .patch('/api/v1/users/me')
      .set(bearer(s.accessToken))
      .send({
        nickname: '  Dae-ho ',
        bio: 'Shiba owner',
        email: 'hijack@example.com',
        isSitter: true,
        emailVerified: true,
      })
      .expect(200);
    expect(res.body).toMatchObject({
      nickname: 'Dae-ho',
      bio: 'Shiba owner',
      email: s.email,
      isSitter: false,
      emailVerified: false,
    });
  });

  it.each([
    [{ nickname: 'x' }, 'body.nickname'],
    [{ nickname: 42 }, 'body.nickname'],
    [{ bio: 'x'.repeat(501) }, 'body.bio'],
  ])('refuses %j naming %s and changes nothing', async (body, path) => {
    const s = await signup(api, { nickname: 'Before' });
    const res = await api.http.patch('/api/v1/users/me').set(bearer(s.accessToken)).send(body).expect(400);
    expect(res.body.errors[0].path).toBe(path);
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.nickname).toBe('Before');
  });
});

describe('GET /users/:id', () => {
  it('returns the public profile without the e-mail', async () => {
    const s = await signup(api, { nickname: 'Public' });
    const res = await api.http.get(`/api/v1/users/${s.user.id}`).expect(200);
    expect(res.body).toEqual({ id: s.user.id, nickname: 'Public', bio: '', avatarUrl: null, isSitter: false });
  });

  it('answers 404 for a missing user and 400 for a bad id', async () => {
    await api.http.get('/api/v1/users/4000000000').expect(404);
    const bad = await api.http.get('/api/v1/users/abc').expect(400);
    expect(bad.body.errors[0].path).toBe('params.id');
  });
});

describe('DELETE /users/me', () => {
  it('revokes every login, blocks login and hides the profile; the e-mail can sign up again', async () => {
    const s = await signup(api);
    const second = await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    await api.http.delete('/api/v1/users/me').set(bearer(s.accessToken)).expect(204);
    await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(401);
    await api.http.get('/api/v1/users/me').set(bearer(second.body.accessToken)).expect(401);
    await api.http.post('/api/v1/auth/refresh').send({ refreshToken: second.body.refreshToken }).expect(401);
    await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(401);
    await api.http.get(`/api/v1/users/${s.user.id}`).expect(404);
    await signup(api, { email: s.email });
  });

  it('cannot be blocked by someone who registered the old tombstone address first', async () => {
    const s = await signup(api);
    // The tombstone used to be `deleted-<id>@deleted.invalid`, an address signup accepts.
    await api.http
      .post('/api/v1/auth/signup')
      .send({ email: `deleted-${s.user.id}@deleted.invalid`, password: PASSWORD, nickname: 'Squatter' });
    await api.http.delete('/api/v1/users/me').set(bearer(s.accessToken)).expect(204);
    const [row] = await api.sequelize.query<{ email: string | null; deletedAt: Date | null }>(
      'SELECT email, deletedAt FROM users WHERE id = ?',
      { replacements: [s.user.id], type: QueryTypes.SELECT },
    );
    expect(row.email).toBeNull();
    expect(row.deletedAt).not.toBeNull();
  });
});
