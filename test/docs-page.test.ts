import { TestContext, type TestInstance } from './helpers/context';

/**
 * /docs from any address the server is reached by: over plain HTTP (127.0.0.1, a LAN address) the
 * page must not tell the browser to upgrade its loads to HTTPS (the page stayed blank), and its
 * document names no host of its own; behind TLS the upgrade and HSTS stay.
 */
describe('/docs and GET / from any host', () => {
  const ctx = new TestContext();
  let inst: TestInstance;

  beforeAll(async () => {
    await ctx.setup();
    inst = await ctx.instance();
  }, 60_000);
  afterAll(() => ctx.close());

  it('serves /docs over plain HTTP from a LAN address without upgrade-insecure-requests or HSTS', async () => {
    const res = await inst.http.get('/docs/').set('Host', '192.168.0.20:3000').expect(200);
    expect(res.text).toContain('swagger-ui');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    // The UI reads the document by path, on whatever host served the page.
    const init = await inst.http.get('/docs/swagger-ui-init.js').set('Host', '192.168.0.20:3000').expect(200);
    expect(init.text).toContain('"url": "/openapi.json"');
    const doc = (await inst.http.get('/openapi.json').set('Host', '192.168.0.20:3000').expect(200)).body;
    expect(doc.servers.map((s: { url: string }) => s.url)).toEqual(['/']);
  });

  it('keeps the upgrade and HSTS for requests that came over TLS through the local proxy', async () => {
    const res = await inst.http.get('/docs/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    const asyncapi = (await inst.http.get('/asyncapi.json').set('X-Forwarded-Proto', 'https').expect(200)).body;
    expect(asyncapi.servers.socketio.protocol).toBe('wss');
  });

  it('links the realtime document from the page /docs shows', async () => {
    const doc = (await inst.http.get('/openapi.json').expect(200)).body;
    expect(doc.info.description).toContain('[/asyncapi.json](/asyncapi.json)');
    await inst.http.get('/asyncapi.json').expect(200);
  });

  it('points GET / to the docs, as a page for browsers and JSON for tools', async () => {
    const page = await inst.http.get('/').set('Accept', 'text/html').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('href="/docs"');
    expect(page.text).toContain('href="/app"');
    expect(page.text).toContain('href="/asyncapi.json"');
    const json = await inst.http.get('/').set('Accept', 'application/json').expect(200);
    expect(json.body).toMatchObject({
      app: '/app',
      docs: '/docs',
      openapi: '/openapi.json',
      asyncapi: '/asyncapi.json',
    });
  });
});
