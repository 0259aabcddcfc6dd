import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { TestContext, type TestInstance } from '../helpers/context';
import { collectErrors, launch, step } from './browser';

/**
 * /docs in Chromium from two addresses of the same server: 127.0.0.1 and the machine's LAN address
 * (plain HTTP). The page must render (it stayed blank from a LAN address while the CSP told the
 * browser to upgrade its loads to HTTPS) and Try-it-out must reach the host the page came from (it
 * called PUBLIC_URL's host while `servers` held that absolute URL).
 */
describe('/docs in Chromium from any host', () => {
  let ctx: TestContext;
  let api: TestInstance;
  let lan: { server: http.Server; base: string } | null = null;
  let browser: Browser;
  const errors: string[] = [];

  /** The first non-internal IPv4 address of this machine, if it has one. */
  function lanAddress(): string | null {
    for (const list of Object.values(os.networkInterfaces()))
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    return null;
  }

  beforeAll(async () => {
    ctx = await new TestContext().setup();
    api = await ctx.instance();
    const address = lanAddress();
    if (address) {
      // The same app, also listening on the LAN address (the test instance listens on loopback only).
      const server = http.createServer(api.pawmate.app);
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      lan = { server, base: `http://${address}:${(server.address() as AddressInfo).port}` };
    }
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (lan ? lan.server.close(() => resolve()) : resolve()));
    await ctx?.close();
  });

  async function tryItOut(base: string): Promise<void> {
    const context = await browser.newContext();
    const page: Page = await context.newPage();
    page.setDefaultTimeout(20_000);
    collectErrors(page, errors, base);
    try {
      await step(`docs from ${base}`, { page }, async () => {
        await page.goto(`${base}/docs/`);
        // Rendered from /openapi.json: the page is not blank.
        const op = page.locator('.opblock').filter({ has: page.locator('[data-path="/api/v1/auth/oauth/providers"]') });
        // Tags start folded (docExpansion none): open the one of the operation.
        await page.locator('h3.opblock-tag[data-tag="Sign in with providers"]').click();
        await op.locator('.opblock-summary').click();
        await op.getByRole('button', { name: 'Try it out' }).click();
        const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/oauth/providers'));
        await op.getByRole('button', { name: 'Execute' }).click();
        const response = await answer;
        // Try-it-out called the host the page came from, and got the real answer.
        expect(new URL(response.url()).origin).toBe(base);
        expect(response.status()).toBe(200);
        const shown = op.locator('.live-responses-table tbody .response-col_status').first();
        await shown.waitFor();
        expect(await shown.textContent()).toContain('200');
      });
    } finally {
      await context.close();
    }
  }

  it('renders and runs Try-it-out from 127.0.0.1', async () => {
    await tryItOut(api.url);
  });

  it('renders and runs Try-it-out from the LAN address over plain HTTP', async () => {
    if (!lan) {
      console.warn('no LAN address on this machine: only 127.0.0.1 was tried');
      return;
    }
    await tryItOut(lan.base);
    expect(errors).toEqual([]);
  });
});
