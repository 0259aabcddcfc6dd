import { TestContext, ManualClock, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { REFRESH_REUSE_GRACE_MS } from './auth.service';

/** The refresh reuse grace: two tabs refreshing with one token at once both stay logged in. */
const clock = new ManualClock();
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

const refresh = (refreshToken: string) => api.http.post('/api/v1/auth/refresh').send({ refreshToken });
const me = (accessToken: string) => api.http.get('/api/v1/users/me').set(bearer(accessToken));

describe('refresh token reuse grace', () => {
  it('gives both of two concurrent refreshes with one token a working pair in the same login', async () => {
    const s = await signup(api);
    const [a, b] = await Promise.all([refresh(s.refreshToken), refresh(s.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refreshToken).not.toBe(b.body.refreshToken);
    await me(a.body.accessToken).expect(200);
    await me(b.body.accessToken).expect(200);
    // Each tab goes on rotating its own token.
    await refresh(a.body.refreshToken).expect(200);
    await refresh(b.body.refreshToken).expect(200);
  });

  it('counts the same reuse as theft once the grace has passed', async () => {
    const s = await signup(api);
    const r1 = await refresh(s.refreshToken).expect(200);
    clock.advance(REFRESH_REUSE_GRACE_MS + 1000);
    await refresh(s.refreshToken).expect(401);
    await me(r1.body.accessToken).expect(401);
    await refresh(r1.body.refreshToken).expect(401);
  });

  it('gives no grace to a token older than the one spent last', async () => {
    const s = await signup(api);
    const r1 = await refresh(s.refreshToken).expect(200);
    const r2 = await refresh(r1.body.refreshToken).expect(200);
    await refresh(s.refreshToken).expect(401);
    await me(r2.body.accessToken).expect(401);
  });
});
