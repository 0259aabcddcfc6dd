import {
  type TestContext,
  deleteKeys,
  signup,
  bearer,
  PASSWORD,
  type TestInstance,
  startContext,
} from '../../../test/helpers/context';

/**
 * Revocation is immediate on every instance: once the revoking request has answered on one instance,
 * another instance refuses the token, both on GET /users/me (the login is read with the row, in MySQL)
 * and on routes checked against the Redis deny-list before the handler.
 */
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
});
afterAll(() => ctx.close());

const REVOKED = 'Bearer realm="pawmate", error="invalid_token", error_description="The access token has been revoked"';

async function refused(inst: TestInstance, path: string, token: string) {
  const res = await inst.http.get(path).set(bearer(token)).expect(401);
  expect(res.headers['www-authenticate']).toBe(REVOKED);
  expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'The access token has been revoked' });
}

describe('revocation on a second instance', () => {
  it('a logout on one instance is refused at once by another, on /users/me and on deny-listed routes', async () => {
    const s = await signup(a);
    const other = await a.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    // Both instances accept the token first (and the verdict of /users/me names the account).
    const me = await b.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body).toMatchObject({ id: s.user.id, email: s.email });
    await b.http.get('/api/v1/users/me/sessions').set(bearer(s.accessToken)).expect(200);

    await a.http.post('/api/v1/auth/logout').set(bearer(s.accessToken)).send({}).expect(204);

    await refused(b, '/api/v1/users/me', s.accessToken);
    await refused(b, '/api/v1/users/me/sessions', s.accessToken);
    // Only that login ended.
    await b.http.get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(200);
  });

  it('ending a login from the sessions list is refused at once by /users/me on another instance', async () => {
    const s = await signup(a);
    const phone = await a.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    await b.http.get('/api/v1/users/me').set(bearer(phone.body.accessToken)).expect(200);
    const sessions = await a.http.get('/api/v1/users/me/sessions').set(bearer(s.accessToken)).expect(200);
    const phoneSession = sessions.body.items.find((x: { current: boolean }) => !x.current);
    expect(phoneSession).toBeDefined();

    await a.http.delete(`/api/v1/users/me/sessions/${phoneSession.id}`).set(bearer(s.accessToken)).expect(204);

    await refused(b, '/api/v1/users/me', phone.body.accessToken);
    await refused(b, '/api/v1/users/me/sessions', phone.body.accessToken);
    await b.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
  });

  it('/users/me reads the login from MySQL: a revoked login stays refused without its deny-list keys', async () => {
    const s = await signup(a);
    await a.http.post('/api/v1/auth/logout').set(bearer(s.accessToken)).send({}).expect(204);
    // As if the deny-list write had not landed yet (it is written after the commit) or Redis lost it.
    await deleteKeys(a.redis, `${ctx.config.redisPrefix}revoked:`);
    await refused(b, '/api/v1/users/me', s.accessToken);
  });

  it('a deleted account is refused at once by another instance, with every login', async () => {
    const s = await signup(a);
    const second = await a.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    await a.http.delete('/api/v1/users/me').set(bearer(s.accessToken)).expect(204);
    await refused(b, '/api/v1/users/me', s.accessToken);
    await refused(b, '/api/v1/users/me', second.body.accessToken);
    await refused(b, '/api/v1/users/me/sessions', second.body.accessToken);
  });
});
