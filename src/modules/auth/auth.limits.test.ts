import { TestContext, signup, PASSWORD, type TestInstance } from '../../../test/helpers/context';

/** Failed-login limits: 3 per account and 6 per IP per 15 min here (production: 10 and 50). */
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ env: { RATE_LIMIT_AUTH_MAX: '3', RATE_LIMIT_AUTH_IP_MAX: '6' } }).setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

const login = (email: string, password: string, ip: string) =>
  api.http.post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ email, password });

describe('failed-login limits', () => {
  it('evaluates at most the limit of guesses when they arrive all at once', async () => {
    const s = await signup(api);
    // Distinct IPs, so only the account's counter is in play.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(s.email, `wrong password ${i}`, `198.18.0.${i + 1}`)),
    );
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 401)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(27);
  });

  it("does not lock a teammate out when another account's failures come from the same address", async () => {
    const nat = '198.18.1.1';
    const clumsy = await signup(api);
    const teammate = await signup(api);
    for (let i = 0; i < 3; i++) expect((await login(clumsy.email, 'wrong password', nat)).status).toBe(401);
    expect((await login(clumsy.email, PASSWORD, nat)).status).toBe(429);
    const ok = await login(teammate.email, PASSWORD, nat);
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(teammate.user.id);
  });

  it("forgets the account's failures once the right password is given (the address keeps counting)", async () => {
    const ip = '198.18.2.1';
    const s = await signup(api);
    for (let round = 0; round < 2; round++) {
      expect((await login(s.email, 'wrong password', ip)).status).toBe(401);
      expect((await login(s.email, 'wrong password', ip)).status).toBe(401);
      expect((await login(s.email, PASSWORD, ip)).status).toBe(200);
    }
  });

  it('still limits one address that tries many accounts', async () => {
    const ip = '198.18.3.1';
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await login(`nobody${i}@example.com`, 'wrong password', ip)).status);
    expect(codes).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
  });
});
