import { TestContext, type TestInstance } from '../../test/helpers/context';

describe('the web client and the pages e-mail links open', () => {
  const ctx = new TestContext();
  let api: TestInstance;
  beforeAll(async () => {
    await ctx.setup();
    api = await ctx.instance();
  });
  afterAll(() => ctx.close());

  it('serves /app with a policy that works over plain HTTP from any host', async () => {
    await api.http.get('/app').expect(301).expect('Location', '/app/');
    const res = await api.http.get('/app/').expect(200).expect('Content-Type', /html/);
    expect(res.text).toContain('<script type="module" src="app.js">');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    await api.http
      .get('/app/api.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
    const client = await api.http.get('/app/vendor/socket.io.esm.min.js').expect(200);
    expect(client.text).toMatch(/export\s*\{/);
  });

  it('sends the links of notification and invitation mails to the client pages', async () => {
    expect((await api.http.get('/chat/rooms/42').expect(302)).headers.location).toBe('/app/#/chat/42');
    // Only a room id reaches the client's route: no query smuggled in through the path.
    await api.http.get('/chat/rooms/1%3Femail%3Dx').expect(404);
    await api.http.get('/chat/rooms/0').expect(404);
    expect((await api.http.get('/notifications').expect(302)).headers.location).toBe('/app/#/notifications');
    const invite = await api.http.get('/signup?email=a%2Bb%40example.com&token=ignored').expect(302);
    expect(invite.headers.location).toBe('/app/#/login?email=a%2Bb%40example.com');
  });

  it.each(['verify-email', 'reset-password', 'confirm-email'])(
    '/%s?token=… opens the client page with the token in the fragment',
    async (page) => {
      const res = await api.http.get(`/${page}?token=abc_DEF-123`).expect(302);
      expect(res.headers.location).toBe(`/app/#/${page}?token=abc_DEF-123`);
      expect(res.headers['cache-control']).toBe('no-store');
    },
  );
});
