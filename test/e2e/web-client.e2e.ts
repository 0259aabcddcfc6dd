import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TestContext, signup, bearer, PASSWORD, uniqueEmail, type TestInstance } from '../helpers/context';
import { makeSitter } from '../helpers/fixtures';
import { collectErrors, launch, otherOrigin, step } from './browser';

/**
 * The web client in Chromium, as two people would use it: an owner on the API's own origin (/app) and a
 * sitter on another origin (the same client hosted elsewhere, so every call is cross-origin). They go
 * booking → accept → chat → notification with the SSE stream and the Socket.io connection running in
 * the browser; then two tabs of one login refresh at once without spending the refresh token twice.
 */
describe('web client in Chromium', () => {
  let ctx: TestContext;
  let api: TestInstance;
  let browser: Browser;
  let second: Awaited<ReturnType<typeof otherOrigin>>;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    second = await otherOrigin();
    ctx = await new TestContext().setup();
    api = await ctx.instance({ corsOrigins: [second.origin] });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await second?.close();
    await ctx?.close();
  });

  /** A browser profile of its own (own storage), in the service's time zone so "tomorrow" agrees. */
  async function person(who: string): Promise<Page> {
    const context = await browser.newContext({ timezoneId: 'Asia/Seoul' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    collectErrors(page, errors, who);
    return page;
  }

  const unread = (page: Page) => page.locator('#unread');

  it('owner and sitter: booking → accept → live chat → notifications', async () => {
    // The sitter's account and profile exist already (made through the API); they sign in in the browser.
    const sitterEmail = (await makeSitter(api, { location: { lat: 37.5665, lng: 126.978 } })).user.email;

    const owner = await person('owner');
    const sitter = await person('sitter');
    const pages = { owner, sitter };

    await step('sitter signs in on another origin', pages, async () => {
      await sitter.goto(`${second.origin}/app/?api=${encodeURIComponent(api.url)}`);
      await sitter.fill('#login input[name=email]', sitterEmail);
      await sitter.fill('#login input[name=password]', PASSWORD);
      await sitter.click('#login button[type=submit]');
      // Signed in, and the notification stream has answered with the count (cross-origin SSE).
      await sitter.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });
    });

    await step('owner signs up and adds a pet', pages, async () => {
      await owner.goto(`${api.url}/app/`);
      await owner.fill('#signup input[name=nickname]', 'Minji');
      await owner.fill('#signup input[name=email]', uniqueEmail('owner'));
      await owner.fill('#signup input[name=password]', PASSWORD);
      await owner.click('#signup button[type=submit]');
      await owner.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });
      await owner.goto(`${api.url}/app/#/me`);
      await owner.fill('#new-pet input[name=name]', 'Bori');
      await owner.click('#new-pet button[type=submit]');
      await owner.locator('.pet', { hasText: 'Bori' }).waitFor();
    });

    await step('owner finds the sitter on the list and books', pages, async () => {
      await owner.goto(`${api.url}/app/#/sitters`);
      await owner.click('.sitter:has-text("Loving sitter")');
      await owner.click('#book button[type=submit]');
      await owner.locator('.reservation[data-status="requested"]').waitFor();
    });

    await step('the sitter hears of the request over SSE and accepts', pages, async () => {
      await unread(sitter).filter({ hasText: '1' }).waitFor();
      await sitter.click('a[href="#/reservations"]');
      await sitter.click('.reservation[data-status="requested"] button[data-action="accept"]');
      await sitter.locator('.reservation[data-status="accepted"]').waitFor();
    });

    await step('the owner hears of the acceptance over SSE', pages, async () => {
      await unread(owner).filter({ hasText: '1' }).waitFor();
      await owner.click('a[href="#/notifications"]');
      await owner.locator('.notification[data-type="reservation.accepted"]').waitFor();
    });

    await step('both chat live in the reservation room', pages, async () => {
      await owner.click('a[href="#/reservations"]');
      await owner.click('.reservation[data-status="accepted"] button:has-text("Chat")');
      await owner.locator('#messages[data-joined="true"]').waitFor();
      const room = owner.url().split('#/chat/')[1];
      await sitter.click('a[href="#/chat"]');
      await sitter.click(`[data-room-id="${room}"]`);
      await sitter.locator('#messages[data-joined="true"]').waitFor();

      await owner.fill('#send input[name=body]', 'Hello! Bori loves long walks.');
      await owner.click('#send button[type=submit]');
      await sitter.locator('.message', { hasText: 'Bori loves long walks' }).waitFor();
      await sitter.fill('#send input[name=body]', 'Great, see you tomorrow!');
      await sitter.click('#send button[type=submit]');
      await owner.locator('.message', { hasText: 'see you tomorrow' }).waitFor();
    });

    await step('a message to a sitter outside the room arrives as a notification', pages, async () => {
      await sitter.click('a[href="#/notifications"]');
      await sitter.locator('#notifications').waitFor();
      // Leaving the room is acknowledged over the socket; give it a moment before the next message.
      await sitter.waitForTimeout(500);
      await owner.fill('#send input[name=body]', 'One more thing: she is afraid of cats.');
      await owner.click('#send button[type=submit]');
      await sitter.locator('#notifications .notification[data-type="chat.message"]').waitFor();
    });

    expect(errors).toEqual([]);
  }, 240_000);

  it('two tabs of one login refresh at once and spend the refresh token once', async () => {
    const s = await signup(api, { nickname: 'Two tabs' });
    const first = await person('tab 1');
    await first.goto(`${api.url}/app/#/login`);
    await first.fill('#login input[name=email]', s.email);
    await first.fill('#login input[name=password]', PASSWORD);
    await first.click('#login button[type=submit]');
    await first.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });
    const second = await first.context().newPage();
    second.setDefaultTimeout(20_000);
    collectErrors(second, errors, 'tab 2');
    await second.goto(`${api.url}/app/#/me`);
    await second.locator('h2', { hasText: 'My profile' }).waitFor();

    await step('both tabs find the access token rejected and refresh together', { first, second }, async () => {
      const before = await first.evaluate(() =>
        JSON.parse((globalThis as any).localStorage.getItem('pawmate.session')!),
      );
      // Both tabs' next call fails with 401 (as after the access token expired) and refreshes at once.
      await first.evaluate(() => {
        const s = JSON.parse((globalThis as any).localStorage.getItem('pawmate.session')!);
        (globalThis as any).localStorage.setItem('pawmate.session', JSON.stringify({ ...s, accessToken: 'expired' }));
      });
      // Both start at the same moment (a shared deadline), so their 401s and refreshes overlap.
      const at = Date.now() + 1000;
      const call = (page: Page) =>
        // A string, so the module import reaches the browser as written (not compiled to require).
        page.evaluate<string>(`import('/app/api.js').then(async ({ api }) => {
          await new Promise((r) => setTimeout(r, ${at} - Date.now()));
          return (await api('GET', '/users/me')).nickname;
        })`);
      expect(await Promise.all([call(first), call(second)])).toEqual(['Two tabs', 'Two tabs']);

      const after = await second.evaluate(() =>
        JSON.parse((globalThis as any).localStorage.getItem('pawmate.session')!),
      );
      expect(after.refreshToken).not.toBe(before.refreshToken);
      // One refresh for both tabs: the login holds its first token and exactly one more. (The server
      // forgives a second use within 10 s, so without the lock both tabs would still work, but each
      // would hold its own pair and one tab's token would be wasted; past the grace the login would
      // be revoked as leaked.)
      const [rows] = await api.sequelize.query(
        `SELECT COUNT(*) AS n FROM refresh_tokens WHERE sessionId =
           (SELECT sessionId FROM refresh_tokens WHERE tokenHash = SHA2(?, 256))`,
        { replacements: [before.refreshToken] },
      );
      expect(Number((rows as { n: number }[])[0].n)).toBe(2);
      await api.http.get('/api/v1/users/me').set(bearer(after.accessToken)).expect(200);
    });
    expect(errors).toEqual([]);
  }, 120_000);

  it('a new user posts on the board, hosts a meetup, sells on the market and starts a group', async () => {
    const page = await person('neighbour');
    const pages = { neighbour: page };
    await page.goto(`${api.url}/app/#/login`);
    await page.fill('#signup input[name=nickname]', 'Jisoo');
    await page.fill('#signup input[name=email]', uniqueEmail('neighbour'));
    await page.fill('#signup input[name=password]', PASSWORD);
    await page.click('#signup button[type=submit]');
    await page.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });

    await step('board post', pages, async () => {
      await page.click('a[href="#/board"]');
      await page.fill('#new-post input[name=title]', 'Walk buddies?');
      await page.fill('#new-post textarea[name=body]', 'Anyone near Yeouido this weekend?');
      await page.click('#new-post button[type=submit]');
      await page.waitForURL(/#\/board\/\d+$/);
      await page.locator('h2', { hasText: 'Walk buddies?' }).waitFor();
    });
    await step('meetup', pages, async () => {
      await page.click('a[href="#/meetups"]');
      await page.fill('#new-meetup input[name=title]', 'Sunday walk');
      await page.click('#new-meetup button[type=submit]');
      await page.waitForURL(/#\/meetups\/\d+$/);
      await page.locator('#participants', { hasText: '1 of 6 going' }).waitFor();
    });
    await step('market listing', pages, async () => {
      await page.click('a[href="#/market"]');
      await page.fill('#new-listing input[name=title]', 'Dog bed, barely used');
      await page.fill('#new-listing input[name=price]', '15000');
      await page.click('#new-listing button[type=submit]');
      await page.waitForURL(/#\/market\/\d+$/);
      await page.locator('h2', { hasText: 'Dog bed' }).waitFor();
    });
    await step('group', pages, async () => {
      await page.click('a[href="#/groups"]');
      await page.fill('#new-group input[name=name]', 'Bori family');
      await page.click('#new-group button[type=submit]');
      await page.waitForURL(/#\/groups\/\d+$/);
      await page.locator('p', { hasText: 'Jisoo (owner)' }).waitFor();
    });
    expect(errors).toEqual([]);
  }, 120_000);

  it('the sitter map counts every sitter in view, opens a sitter, zooms and pans', async () => {
    // Busan, away from the other tests' sitters: a pair 200 m apart and one 4 km east.
    const busan = { lat: 35.1796, lng: 129.0756 };
    const made = await Promise.all(
      [busan, { lat: busan.lat + 0.0018, lng: busan.lng }, { lat: busan.lat, lng: busan.lng + 0.044 }].map((location) =>
        makeSitter(api, { location }),
      ),
    );
    const sitterIds = made.map((m) => String(m.sitter.id));
    const page = await person('map');
    const pages = { map: page };
    await page.goto(`${api.url}/app/#/login`);
    await page.fill('#signup input[name=nickname]', 'Dohyun');
    await page.fill('#signup input[name=email]', uniqueEmail('map'));
    await page.fill('#signup input[name=password]', PASSWORD);
    await page.click('#signup button[type=submit]');
    await page.locator('#unread[data-stream="open"]').waitFor({ state: 'attached' });

    const total = page.locator('#map-total');
    const markerCounts = async () =>
      (
        await page.locator('.map-marker').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))))
      ).reduce((a, b) => a + b, 0);
    await step('the map of the three', pages, async () => {
      await page.goto(`${api.url}/app/#/map?lat=${busan.lat}&lng=${busan.lng + 0.02}&zoom=12`);
      await page.locator('#map-total[data-count="3"]').waitFor();
      expect(await total.textContent()).toBe('3 sitters in view');
      expect(await markerCounts()).toBe(3);
    });
    await step('zoom in and pan keep the view in the address bar', pages, async () => {
      await page.click('#map-zoom-in');
      await page.waitForURL(/zoom=13/);
      const before = new URL(page.url().replace('#/map', '')).searchParams.get('lng');
      const box = (await page.locator('#sitter-map').boundingBox())!;
      await page.mouse.move(box.x + 40, box.y + 40);
      await page.mouse.down();
      await page.mouse.move(box.x + 240, box.y + 40, { steps: 5 });
      await page.mouse.up();
      // Dragged right: the centre moved west.
      await page.waitForURL(
        (url) => Number(new URL(url.href.replace('#/map', '')).searchParams.get('lng')) < Number(before),
      );
      // The markers drawn for the new viewport add up to the total shown.
      await page.locator('#sitter-map[data-state="ready"]').waitFor();
      expect(await markerCounts()).toBe(Number(await total.getAttribute('data-count')));
    });
    await step('a lone sitter opens their page', pages, async () => {
      await page.goto(`${api.url}/app/#/map?lat=${busan.lat}&lng=${busan.lng + 0.02}&zoom=12`);
      await page.locator('#map-total[data-count="3"]').waitFor();
      const lone = page.locator('a.map-marker.sitter').first();
      const href = await lone.getAttribute('href');
      expect(sitterIds).toContain(href!.split('/').pop());
      await lone.click();
      await page.waitForURL(new RegExp(`#/sitters/${href!.split('/').pop()}$`));
      await page.locator('h2', { hasText: 'Sitter' }).waitFor();
    });
    expect(errors).toEqual([]);
  }, 120_000);
});
