import { TestContext, signup, bearer, type TestInstance } from './helpers/context';
import { CuttableProxy, PrivateRedis, eventually } from './helpers/faults';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext({ env: { RATE_LIMIT_AUTH_MAX: '3', RATE_LIMIT_AUTH_IP_MAX: '3' } }).setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

describe('health and readiness', () => {
  it('answers /healthz and /readyz while everything is up', async () => {
    await api.http.get('/healthz').expect(200, { status: 'ok' });
    const ready = await api.http.get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
  });

  it('turns /readyz to 503 while Redis is down, and back to 200 without a restart', async () => {
    const redis = await PrivateRedis.create();
    await redis.start();
    const inst = await ctx.instance({ redisUrl: redis.url });
    try {
      await inst.http.get('/readyz').expect(200);
      await redis.stop();
      const down = await inst.http.get('/readyz').expect(503);
      expect(down.body.checks).toEqual({ mysql: 'ok', redis: 'down' });
      // A request that needs Redis (token deny-list check) is a 503 problem, not a 500 or a hang.
      // (GET /users/me checks the login in MySQL: it still answers.)
      const s = await signup(api);
      const sessions = await inst.http.get('/api/v1/users/me/sessions').set(bearer(s.accessToken)).expect(503);
      expect(sessions.body).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
      expect(sessions.headers['retry-after']).toBeDefined();
      await inst.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
      await redis.start();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 10_000, 'ready again');
      await inst.http.get('/api/v1/users/me/sessions').set(bearer(s.accessToken)).expect(200);
    } finally {
      await inst.close();
      await redis.stop();
    }
  });

  it('turns /readyz to 503 while MySQL is unreachable, and back to 200 without a restart', async () => {
    const proxy = new CuttableProxy('127.0.0.1', 3306);
    await proxy.start();
    const dbUrl = new URL(ctx.config.databaseUrl);
    dbUrl.port = String(proxy.port);
    const inst = await ctx.instance({ databaseUrl: dbUrl.toString() });
    try {
      await inst.http.get('/readyz').expect(200);
      await proxy.cut();
      const down = await inst.http.get('/readyz').expect(503);
      expect(down.body.checks.mysql).toBe('down');
      const s = await signup(api);
      const me = await inst.http.get('/api/v1/users/me').set(bearer(s.accessToken));
      expect(me.status).toBe(503);
      expect(me.body.code).toBe('UNAVAILABLE');
      await proxy.restore();
      await eventually(async () => (await inst.http.get('/readyz')).status === 200, 10_000, 'ready again');
      await inst.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    } finally {
      await inst.close();
      await proxy.cut();
    }
  });
});

describe('HTTP conventions', () => {
  it('echoes a sane X-Request-Id and mints one otherwise', async () => {
    const echoed = await api.http.get('/healthz').set('X-Request-Id', 'abc-123').expect(200);
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const minted = await api.http.get('/healthz').set('X-Request-Id', 'bad id with spaces').expect(200);
    expect(minted.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers /healthz before Express (HEAD too); other methods and paths still reach the app', async () => {
    const head = await api.http.head('/healthz').expect(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(head.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // Express's own answers: 405 for a path that exists with another method, or a 404 problem.
    const post = await api.http.post('/healthz').send({});
    expect([404, 405]).toContain(post.status);
    expect(post.headers['content-type']).toMatch(/^application\/problem\+json/);
    await api.http.get('/healthz/').expect(200, { status: 'ok' });
  });

  it('sends the same security headers on every API answer (recorded once from helmet)', async () => {
    const a = await api.http.get('/api/v1/nope').expect(404);
    const b = await api.http.get('/api/v1/users/me').expect(401);
    for (const name of ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy']) {
      expect(a.headers[name]).toBeTruthy();
      expect(b.headers[name]).toBe(a.headers[name]);
    }
    expect(a.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(a.headers['strict-transport-security']).toBeUndefined();
  });

  it('answers unknown routes with a 404 problem', async () => {
    const res = await api.http.get('/api/v1/nope').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND', title: 'Not found' });
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers malformed JSON with 400 naming the body', async () => {
    const res = await api.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"email": ')
      .expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body' }] });
  });

  it('answers a body over 1 MB with a readable 413 problem', async () => {
    const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(2 * 1024 * 1024) });
    const res = await api.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('never answers a stack trace or SQL', async () => {
    const res = await api.http.get('/api/v1/users/99999999999').expect(400);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:|SELECT|sequelize/i);
    expect(res.body.errors[0].path).toBe('params.id');
  });

  it('sets security headers', async () => {
    const res = await api.http.get('/api/v1/users/1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('metrics and documents', () => {
  it('exposes Prometheus metrics with the route template, not the raw URL', async () => {
    await api.http.get('/api/v1/users/12345').expect(404);
    const res = await api.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/pawmate_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/users\/:id"/);
    expect(res.text).not.toContain('/users/12345');
    expect(res.text).toContain('pawmate_job_queue_depth');
  });

  it('serves an OpenAPI 3.1 document generated from the validation schemas', async () => {
    const res = await api.http.get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const signupOp = res.body.paths['/api/v1/auth/signup'].post;
    const schema = signupOp.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['email', 'password', 'nickname']));
    expect(schema.properties.nickname).toMatchObject({ minLength: 2, maxLength: 30 });
    expect(res.body.paths['/api/v1/users/{id}'].get.parameters[0]).toMatchObject({
      name: 'id',
      in: 'path',
      required: true,
    });
    expect(res.body.paths['/api/v1/users/me'].get.security).toEqual([{ bearer: [] }]);
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await api.http.get('/docs/').expect(200);
    expect(res.text).toContain('swagger-ui');
  });
});

describe('login rate limit', () => {
  it('limits failed logins per IP across instances, with Retry-After', async () => {
    const other = await ctx.instance();
    const ip = '203.0.113.7';
    const attempt = (inst: TestInstance, email: string) =>
      inst.http.post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ email, password: 'wrong password' });
    expect((await attempt(api, 'a1@example.com')).status).toBe(401);
    expect((await attempt(other, 'a2@example.com')).status).toBe(401);
    expect((await attempt(api, 'a3@example.com')).status).toBe(401);
    const limited = await attempt(other, 'a4@example.com');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another IP is not affected.
    const fine = await other.http
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', '203.0.113.8')
      .send({ email: 'a5@example.com', password: 'wrong password' });
    expect(fine.status).toBe(401);
  });

  it('limits failed logins per account from any IP; the right password is refused too while limited', async () => {
    const s = await signup(api);
    for (let i = 0; i < 3; i++) {
      const r = await api.http
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', `198.51.100.${i + 1}`)
        .send({ email: s.email, password: 'wrong password' });
      expect(r.status).toBe(401);
    }
    const limited = await api.http
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', '198.51.100.50')
      .send({ email: s.email, password: s.password });
    expect(limited.status).toBe(429);
  });
});

describe('requests Node refuses before routing', () => {
  it('answers an oversized header block with a 431 problem', async () => {
    const net = await import('node:net');
    const { port } = new URL(api.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString()));
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /healthz?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => socket.once('close', r));
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply).toContain('Content-Type: application/problem+json');
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    expect(body).toMatchObject({ status: 431, code: 'PAYLOAD_TOO_LARGE' });
    expect(reply).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
  });

  it('stamps X-Request-Id on answers Express never writes (Socket.io’s engine), echoing a sane one', async () => {
    const bad = await api.http.get('/socket.io/?EIO=4&transport=carrier-pigeon').set('X-Request-Id', 'eio-7');
    expect(bad.status).toBe(400);
    expect(bad.headers['x-request-id']).toBe('eio-7');
    const ok = await api.http.get('/healthz').set('X-Request-Id', 'health-1').expect(200);
    expect(ok.headers['x-request-id']).toBe('health-1');
  });
});

describe('refusing a body the client is still sending', () => {
  /**
   * A client that writes its whole request before reading anything (as simple clients do): the
   * answer must still be there to read, not lost to a reset (EPIPE) because the server closed with
   * the rest of the body unread.
   */
  async function sendAllThenRead(head: string, body: Buffer): Promise<string> {
    const net = await import('node:net');
    const socket = net.connect(Number(new URL(api.url).port), '127.0.0.1');
    socket.pause();
    let reply = '';
    return new Promise((resolve, reject) => {
      socket.on('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`${err.code}; read ${JSON.stringify(reply)}`)),
      );
      socket.on('connect', () => {
        socket.write(head);
        socket.write(body, () => {
          socket.on('data', (c: Buffer) => {
            reply += c.toString();
            // The whole answer (by its Content-Length) is what we came for; keep-alive may hold the socket.
            const end = reply.indexOf('\r\n\r\n');
            const length = Number(/\r\ncontent-length: *(\d+)/i.exec(reply)?.[1] ?? NaN);
            if (end >= 0 && Buffer.byteLength(reply) - end - 4 >= length) {
              socket.destroy();
              resolve(reply);
            }
          });
          socket.on('end', () => resolve(reply));
          socket.resume();
        });
      });
    });
  }

  it('lets a client read the 413 of an 11 MiB upload after it finished sending', async () => {
    const s = await signup(api);
    const body = Buffer.alloc(11 * 1024 * 1024, 7);
    for (let i = 0; i < 3; i++) {
      const reply = await sendAllThenRead(
        `PUT /api/v1/users/me/avatar HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.accessToken}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
      );
      expect(reply).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
  });

  it('lets a client read the 413 of a 2 MiB JSON body too', async () => {
    const body = Buffer.from(JSON.stringify({ email: 'x@example.com', password: 'p'.repeat(2 * 1024 * 1024) }));
    const reply = await sendAllThenRead(
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });
});
