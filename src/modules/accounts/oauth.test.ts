import { createHash } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { TestContext, signup, bearer, uniqueEmail, type TestInstance } from '../../../test/helpers/context';
import { Browser, FakeNaver, OidcProviderProcess, RogueIssuer, type RogueMode } from '../../../test/helpers/oauth';
import { freePort } from '../../../test/helpers/faults';
import { ManualClock } from '../../infra/clock';

const PUBLIC_URL = 'http://pawmate.test';
const WEB = 'https://app.pawmate.test/signed-in';
const APP = 'pawmate://auth';
/** The client's own PKCE pair (RFC 7636 appendix B's verifier): the challenge goes to start, the verifier to exchange. */
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
const CQ = `&codeChallenge=${CHALLENGE}`;
const clock = new ManualClock();
const op = new OidcProviderProcess();
const naver = new FakeNaver();
const rogue = new RogueIssuer();
let ctx: TestContext;
let api: TestInstance;

const client = (name: string) => ({
  client_id: `${name}-client`,
  client_secret: `${name}-secret-that-is-long-enough`,
  redirect_uris: [`${PUBLIC_URL}/api/v1/auth/oauth/${name}/callback`],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
});

beforeAll(async () => {
  await Promise.all([op.start([client('kakao'), client('google')]), naver.start(), rogue.start()]);
  ctx = await new TestContext({
    clock,
    env: {
      PUBLIC_URL,
      OAUTH_REDIRECT_URIS: `${WEB},${APP}`,
      RATE_LIMIT_OAUTH_PER_MIN: '10000',
      OAUTH_KAKAO_CLIENT_ID: 'kakao-client',
      OAUTH_KAKAO_CLIENT_SECRET: 'kakao-secret-that-is-long-enough',
      OAUTH_KAKAO_ISSUER: op.issuer,
      OAUTH_GOOGLE_CLIENT_ID: 'google-client',
      OAUTH_GOOGLE_CLIENT_SECRET: 'google-secret-that-is-long-enough',
      OAUTH_GOOGLE_ISSUER: op.issuer,
      OAUTH_ROGUE_CLIENT_ID: rogue.clientId,
      OAUTH_ROGUE_ISSUER: rogue.url,
      ...naver.env(),
    },
  }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  await ctx.close();
  await Promise.all([op.stop(), naver.stop(), rogue.stop()]);
});

const fragment = (location: string) => new URLSearchParams(new URL(location).hash.slice(1));

async function start(provider: string, redirectUri = WEB, inst = api) {
  const browser = new Browser();
  const res = await browser.get(
    `${inst.url}/api/v1/auth/oauth/${provider}/start?redirectUri=${encodeURIComponent(redirectUri)}${CQ}`,
  );
  return { browser, res };
}

/**
 * Walks the provider's pages (signing in `sub`, or declining when null) until the provider sends the
 * browser back to Pawmate; returns that callback URL, pointed at the test instance.
 */
async function throughProvider(browser: Browser, url: string, sub: string | null): Promise<string> {
  for (let hops = 0; hops < 10; hops++) {
    if (url.startsWith(PUBLIC_URL)) return api.url + url.slice(PUBLIC_URL.length);
    const u = new URL(url);
    if (u.pathname.startsWith('/interaction/')) u.searchParams.set(sub === null ? 'deny' : 'sub', sub ?? '1');
    const res = await browser.get(u.href);
    if (!res.location) throw new Error(`provider stopped at ${u.href}: ${res.status} ${res.body.slice(0, 300)}`);
    url = res.location;
  }
  throw new Error('too many redirects');
}

/** start → provider → callback; returns Pawmate's final redirect. */
async function signIn(provider: string, sub: string | null, tamper?: (authUrl: URL) => void) {
  const { browser, res } = await start(provider);
  expect(res.status).toBe(302);
  const authUrl = new URL(res.location!);
  tamper?.(authUrl);
  const callbackUrl = await throughProvider(browser, authUrl.href, sub);
  const back = await browser.get(callbackUrl);
  expect(back.status).toBe(302);
  return { location: back.location!, callbackUrl, browser };
}

/** `codeVerifier: null` sends none. */
const exchange = (code: string, codeVerifier: string | null = VERIFIER) =>
  api.http
    .post('/api/v1/auth/oauth/exchange')
    .set('User-Agent', 'PawmateApp/1')
    .send({ code, ...(codeVerifier === null ? {} : { codeVerifier }) });

async function signInAndExchange(provider: string, sub: string) {
  const { location } = await signIn(provider, sub);
  expect(location.startsWith(`${WEB}#code=`)).toBe(true);
  const res = await exchange(fragment(location).get('code')!).expect(200);
  return res.body;
}

async function verifiedAccount() {
  const s = await signup(api);
  await api.sequelize.query('UPDATE users SET emailVerifiedAt = NOW(3) WHERE id = ?', { replacements: [s.user.id] });
  return s;
}

const identityUser = async (provider: string, subject: string) =>
  (
    await api.sequelize.query<{ userId: number }>(
      'SELECT userId FROM user_identities WHERE provider = ? AND subject = ?',
      { replacements: [provider, subject], type: QueryTypes.SELECT },
    )
  )[0]?.userId;

const identityCount = async (provider: string, subject: string) =>
  (
    await api.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM user_identities WHERE provider = ? AND subject = ?',
      { replacements: [provider, subject], type: QueryTypes.SELECT },
    )
  )[0].n;

describe('providers', () => {
  it('lists the configured providers; an unconfigured one is 404; redirectUri must be on the allow-list', async () => {
    const list = await api.http.get('/api/v1/auth/oauth/providers').expect(200);
    expect(list.body.items.map((p: { name: string }) => p.name)).toEqual(['google', 'kakao', 'naver', 'rogue']);
    expect(list.body.items[1]).toEqual({ name: 'kakao', displayName: 'Kakao' });
    await api.http.get(`/api/v1/auth/oauth/apple/start?redirectUri=${encodeURIComponent(WEB)}${CQ}`).expect(404);
    await api.http.get('/api/v1/auth/oauth/apple/callback?state=x').expect(404);
    const bad = await api.http
      .get(`/api/v1/auth/oauth/kakao/start?redirectUri=${encodeURIComponent('https://evil.example/cb')}${CQ}`)
      .expect(400);
    expect(bad.body.errors[0].path).toBe('query.redirectUri');
  });

  it('sends the browser to the provider with PKCE S256, state and nonce (OIDC)', async () => {
    const { res } = await start('kakao', APP);
    const url = new URL(res.location!);
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/api/v1/auth/oauth/kakao/callback`);
    expect(new URL((await start('naver')).res.location!).searchParams.get('nonce')).toBeNull();
  });
});

describe('OpenID Connect sign-in (oidc-provider standing in for Kakao and Google)', () => {
  it('makes a new account from a verified profile, and signs the same person in again later', async () => {
    const email = uniqueEmail('kakao');
    await op.addAccount('kakao-new', { email, email_verified: true, nickname: 'Bori' });
    const first = await signInAndExchange('kakao', 'kakao-new');
    expect(first).toMatchObject({
      isNewUser: true,
      user: { email, emailVerified: true, hasPassword: false, nickname: 'Bori' },
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
    const ids = await api.http.get('/api/v1/users/me/identities').set(bearer(first.accessToken)).expect(200);
    expect(ids.body.items).toEqual([{ provider: 'kakao', email, linkedAt: expect.any(String) }]);
    const sessions = await api.http.get('/api/v1/users/me/sessions').set(bearer(first.accessToken)).expect(200);
    expect(sessions.body.items[0]).toMatchObject({ userAgent: 'PawmateApp/1', current: true });

    const again = await signInAndExchange('kakao', 'kakao-new');
    expect(again).toMatchObject({ isNewUser: false, user: { id: first.user.id } });
    // The only way in: it cannot be unlinked.
    await api.http.delete('/api/v1/users/me/identities/kakao').set(bearer(first.accessToken)).expect(409);

    // Deleting the account releases the identity: the same person starts afresh.
    await api.http.delete('/api/v1/users/me').set(bearer(again.accessToken)).expect(204);
    const fresh = await signInAndExchange('kakao', 'kakao-new');
    expect(fresh.isNewUser).toBe(true);
    expect(fresh.user.id).not.toBe(first.user.id);
  });

  it('links to the existing account whose verified e-mail the provider verifies', async () => {
    const existing = await verifiedAccount();
    await op.addAccount('google-link', { email: existing.email, email_verified: true, name: 'Hana Kim' });
    const body = await signInAndExchange('google', 'google-link');
    expect(body).toMatchObject({ isNewUser: false, user: { id: existing.user.id, hasPassword: true } });
    const ids = await api.http.get('/api/v1/users/me/identities').set(bearer(existing.accessToken)).expect(200);
    expect(ids.body.items).toEqual([{ provider: 'google', email: existing.email, linkedAt: expect.any(String) }]);
    // A password and an identity: either may go.
    await api.http.delete('/api/v1/users/me/identities/google').set(bearer(existing.accessToken)).expect(204);
  });

  it('never links on an e-mail the provider does not verify, nor to an account that has not verified it', async () => {
    const existing = await verifiedAccount();
    await op.addAccount('kakao-unverified', { email: existing.email, email_verified: false, nickname: 'Tester' });
    const body = await signInAndExchange('kakao', 'kakao-unverified');
    expect(body.isNewUser).toBe(true);
    expect(body.user.id).not.toBe(existing.user.id);
    expect(body.user.email).toBeNull(); // the address stays with its owner
    expect(body.user.nickname).not.toBe('Tester'); // taken: made unique
    expect(body.user.nickname).toMatch(/^Tester \d+$/);
    const theirs = await api.http.get('/api/v1/users/me/identities').set(bearer(existing.accessToken)).expect(200);
    expect(theirs.body.items).toEqual([]);

    const unverifiedOwner = await signup(api); // never confirmed their address
    await op.addAccount('google-squat', { email: unverifiedOwner.email, email_verified: true });
    const other = await signInAndExchange('google', 'google-squat');
    expect(other.isNewUser).toBe(true);
    expect(other.user.id).not.toBe(unverifiedOwner.user.id);
    expect(other.user.email).toBeNull();
  });

  it('answers a tampered or replayed state with 400 problem+json and no redirect', async () => {
    await op.addAccount('kakao-replay', { email: uniqueEmail('replay'), email_verified: true });
    const { callbackUrl, location, browser } = await signIn('kakao', 'kakao-replay');
    expect(location).toContain('#code=');
    const replay = await api.http.get(callbackUrl.slice(api.url.length)).expect(400);
    expect(replay.headers['content-type']).toContain('application/problem+json');
    expect(replay.body.errors[0].path).toBe('query.state');

    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
    const res = await browser.get(tampered.href);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
  });

  it('refuses a provider code replayed into a new flow', async () => {
    await op.addAccount('kakao-code', { email: uniqueEmail('code'), email_verified: true });
    const first = await signIn('kakao', 'kakao-code');
    const usedCode = new URL(first.callbackUrl).searchParams.get('code')!;
    const { res } = await start('kakao');
    const state = new URL(res.location!).searchParams.get('state')!;
    const again = await new Browser().get(
      `${api.url}/api/v1/auth/oauth/kakao/callback?code=${encodeURIComponent(usedCode)}&state=${state}&iss=${encodeURIComponent(op.issuer)}`,
    );
    expect(again.location).toBe(`${WEB}#error=provider_error`);
  });

  it('refuses an ID token with another nonce than the flow’s', async () => {
    await op.addAccount('kakao-nonce', { email: uniqueEmail('nonce'), email_verified: true });
    const { location } = await signIn('kakao', 'kakao-nonce', (url) => url.searchParams.set('nonce', 'attacker'));
    expect(location).toBe(`${WEB}#error=provider_error`);
    expect(await identityCount('kakao', 'kakao-nonce')).toBe(0);
  });

  it('says access_denied when the person declines', async () => {
    const { location } = await signIn('google', null);
    expect(location).toBe(`${WEB}#error=access_denied`);
  });
});

describe('ID tokens a provider must not get accepted', () => {
  it.each<RogueMode>(['other-issuer', 'other-audience', 'bad-signature', 'expired', 'wrong-nonce'])(
    '%s → #error=provider_error, no account, no session',
    async (mode) => {
      rogue.mode = mode;
      const { location } = await signIn('rogue', 'ignored');
      expect(location).toBe(`${WEB}#error=provider_error`);
      expect(await identityCount('rogue', 'rogue-subject')).toBe(0);
    },
  );
});

describe('Naver (OAuth 2.0 and the profile API)', () => {
  it('treats a @naver.com address as verified and links it; another address never links', async () => {
    const own = `n${Date.now()}@naver.com`;
    const existing = await signup(api, { email: own });
    await api.sequelize.query('UPDATE users SET emailVerifiedAt = NOW(3) WHERE id = ?', {
      replacements: [existing.user.id],
    });
    naver.next = { id: 'naver-1', email: own, nickname: '보리맘' };
    const linked = await signInAndExchange('naver', '');
    expect(linked).toMatchObject({ isNewUser: false, user: { id: existing.user.id } });

    const gmailOwner = await verifiedAccount();
    naver.next = { id: 'naver-2', email: gmailOwner.email, nickname: '보리맘' };
    const separate = await signInAndExchange('naver', '');
    expect(separate.isNewUser).toBe(true);
    expect(separate.user).toMatchObject({ email: null, emailVerified: false });
    expect(separate.user.nickname).toBe('보리맘');
  });

  it('says access_denied when declined, provider_unavailable when its token endpoint is down', async () => {
    naver.next = null;
    expect((await signIn('naver', '')).location).toBe(`${WEB}#error=access_denied`);
    naver.next = { id: 'naver-down' };
    naver.down = true;
    try {
      expect((await signIn('naver', '')).location).toBe(`${WEB}#error=provider_unavailable`);
    } finally {
      naver.down = false;
    }
    expect(await identityCount('naver', 'naver-down')).toBe(0);
  });
});

describe('the one-time code and the flow record', () => {
  const sessionCount = async (userId: number) =>
    (
      await api.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE userId = ?', {
        replacements: [userId],
        type: QueryTypes.SELECT,
      })
    )[0].n;

  it('takes a start without codeChallenge (the first clients), and refuses a malformed one', async () => {
    const missing = await api.http.get(`/api/v1/auth/oauth/kakao/start?redirectUri=${encodeURIComponent(WEB)}`);
    expect(missing.status).toBe(302);
    const plain = await api.http.get(
      `/api/v1/auth/oauth/kakao/start?redirectUri=${encodeURIComponent(WEB)}&codeChallenge=short`,
    );
    expect(plain.status).toBe(400);
    expect(plain.body.errors[0].path).toBe('query.codeChallenge');
  });

  it('is bound to the client that started: no verifier 400, a wrong one 401 and spent, the right one signs in', async () => {
    await op.addAccount('kakao-bound', { email: uniqueEmail('bound'), email_verified: true });
    const first = fragment((await signIn('kakao', 'kakao-bound')).location).get('code')!;
    const without = await exchange(first, null).expect(400);
    expect(without.body.errors[0].path).toBe('body.codeVerifier');
    await exchange(first).expect(400); // a missing verifier spends the code as a wrong one does
    const stolen = fragment((await signIn('kakao', 'kakao-bound')).location).get('code')!;
    // A thief (another app on the scheme, a login-CSRF page) has the code but not the verifier.
    await exchange(stolen, 'w'.repeat(43)).expect(401);
    await exchange(stolen).expect(400); // spent by the wrong try: no second guess
    const userId = (await identityUser('kakao', 'kakao-bound'))!;
    expect(await sessionCount(userId)).toBe(0);

    const second = fragment((await signIn('kakao', 'kakao-bound')).location).get('code')!;
    const ok = await exchange(second).expect(200);
    expect(ok.body.user.id).toBe(userId);
    expect(ok.body.accessToken).toBeTruthy();
    expect(await sessionCount(userId)).toBe(1);
  });

  it('is single use under concurrent exchanges', async () => {
    await op.addAccount('kakao-race', { email: uniqueEmail('race'), email_verified: true });
    const { location } = await signIn('kakao', 'kakao-race');
    const code = fragment(location).get('code')!;
    const answers = await Promise.all(Array.from({ length: 6 }, () => exchange(code)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400, 400]);
    const refused = answers.find((r) => r.status === 400)!;
    expect(refused.body.errors[0].path).toBe('body.code');
  });

  it('expires after 60 s; a flow expires after 10 minutes', async () => {
    await op.addAccount('kakao-slow', { email: uniqueEmail('slow'), email_verified: true });
    try {
      const { location } = await signIn('kakao', 'kakao-slow');
      clock.advance(61_000);
      await exchange(fragment(location).get('code')!).expect(400);

      const { browser, res } = await start('kakao');
      const callbackUrl = await throughProvider(browser, res.location!, 'kakao-slow');
      clock.advance(10 * 60 * 1000 + 1000);
      expect((await browser.get(callbackUrl)).location).toBe(`${WEB}#error=expired`);
    } finally {
      clock.set(new Date());
    }
  });

  it('sends the browser back with provider_unavailable when the provider cannot be reached at start', async () => {
    const ghost = await ctx.instance({
      oauth: {
        ...ctx.config.oauth,
        providers: [
          ...ctx.config.oauth.providers,
          {
            kind: 'oidc',
            name: 'ghost',
            displayName: 'Ghost',
            clientId: 'g',
            clientSecret: null,
            issuer: `http://127.0.0.1:${await freePort()}`,
            scopes: 'openid',
          },
        ],
      },
    });
    const res = await new Browser().get(
      `${ghost.url}/api/v1/auth/oauth/ghost/start?redirectUri=${encodeURIComponent(APP)}${CQ}`,
    );
    expect(res.status).toBe(302);
    expect(res.location).toBe(`${APP}#error=provider_unavailable`);
  });

  it('limits start and exchange per IP', async () => {
    const limited = await ctx.instance({ oauth: { ...ctx.config.oauth, perIpPerMin: 2 } });
    const used = await api.redis.keys(`${ctx.config.redisPrefix}rl:oauth-*`);
    if (used.length) await api.redis.del(...used); // the other tests' requests counted on the same keys
    const go = () => start('kakao', WEB, limited).then((r) => r.res.status);
    expect([await go(), await go(), await go()]).toEqual([302, 302, 429]);
    const ex = () =>
      limited.http.post('/api/v1/auth/oauth/exchange').send({ code: 'x'.repeat(43), codeVerifier: VERIFIER });
    expect([(await ex()).status, (await ex()).status, (await ex()).status]).toEqual([400, 400, 429]);
  });
});
