import type { Browser, Page } from 'playwright-core';
import { QueryTypes } from 'sequelize';
import { TestContext, uniqueEmail, type TestInstance } from '../helpers/context';
import { freePort } from '../helpers/faults';
import { OidcProviderProcess } from '../helpers/oauth';
import { collectErrors, launch, step } from './browser';

/**
 * Provider sign-in as a person does it in the web client: "Continue with Google" on /app, the
 * provider's own sign-in page (a real OpenID Connect provider), back to /app with a one-time code that
 * the tab exchanges with its PKCE verifier. The provider must know Pawmate's callback address before
 * Pawmate starts, so the instance listens on a port chosen first.
 */
describe('provider sign-in in Chromium', () => {
  const op = new OidcProviderProcess();
  let ctx: TestContext;
  let api: TestInstance;
  let browser: Browser;
  let base = '';
  const errors: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await op.start([
      {
        client_id: 'google-client',
        client_secret: 'google-secret-that-is-long-enough',
        redirect_uris: [`${base}/api/v1/auth/oauth/google/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ]);
    ctx = await new TestContext({
      env: {
        PUBLIC_URL: base,
        // The web client sends the provider back to the page it started from: /app/, exactly.
        OAUTH_REDIRECT_URIS: `${base}/app/`,
        OAUTH_GOOGLE_CLIENT_ID: 'google-client',
        OAUTH_GOOGLE_CLIENT_SECRET: 'google-secret-that-is-long-enough',
        OAUTH_GOOGLE_ISSUER: op.issuer,
      },
    }).setup();
    api = await ctx.instance({}, { port });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await ctx?.close();
    await op.stop();
  });
  afterEach(() => expect(errors).toEqual([]));

  async function signInPage(who: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    collectErrors(page, errors, who);
    await page.goto(`${base}/app/#/login`);
    await page.click('button[data-provider="google"]');
    await page.locator('#provider-sign-in').waitFor();
    expect(new URL(page.url()).origin).toBe(op.issuer);
    return page;
  }

  it('signs a new person in with Google through the provider’s page', async () => {
    const email = uniqueEmail('hana');
    await op.addAccount('google-1001', { email, email_verified: true, name: 'Hana' });
    const page = await signInPage('hana');

    await step('sign in at the provider and come back signed in', { hana: page }, async () => {
      await page.fill('#provider-sign-in input[name=sub]', 'google-1001');
      await page.click('#provider-sign-in button[type=submit]');
      await page.waitForURL(`${base}/app/#/sitters`);
      // Signed in: the notification stream of the new login is open.
      await page.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });
    });
    // The one-time code left the address bar and the PKCE verifier left the tab.
    expect(page.url()).not.toContain('code=');
    expect(await page.evaluate<string | null>(`sessionStorage.getItem('pawmate.pkce')`)).toBeNull();

    await step('the profile is the provider’s person', { hana: page }, async () => {
      await page.goto(`${base}/app/#/me`);
      await page.locator('strong', { hasText: 'Hana' }).waitFor();
    });
    const rows = await api.sequelize.query<{ email: string }>(
      `SELECT u.email FROM user_identities i JOIN users u ON u.id = i.userId
        WHERE i.provider = 'google' AND i.subject = 'google-1001'`,
      { type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => r.email)).toEqual([email]);
  });

  it('shows why when the person declines at the provider, and stays signed out', async () => {
    const page = await signInPage('declines');
    await step('decline at the provider', { declines: page }, async () => {
      await page.click('#provider-decline button');
      await page.locator('.toast', { hasText: 'Sign-in failed: access_denied' }).waitFor();
    });
    await page.locator('#login').waitFor();
    expect(await page.evaluate<string | null>(`localStorage.getItem('pawmate.session')`)).toBeNull();
  });
});
