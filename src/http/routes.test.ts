import http from 'node:http';
import type { TestContext, TestInstance } from '../../test/helpers/context';
import { bearer, signup, uniqueEmail, startContext } from '../../test/helpers/context';

/** How declared routes answer requests they cannot serve as sent: wrong body type, wrong method, bad fields. */

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  [ctx, api] = await startContext();
});
afterAll(() => ctx.close());

/** A raw request, so that no client library adds a Content-Type of its own. */
function rawPost(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${api.url}${path}`,
      { method: 'POST', headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            json: text ? JSON.parse(text) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('a JSON route sent something else', () => {
  const pet = JSON.stringify({ name: 'Bori', species: 'dog', size: 'small' });

  it.each([
    ['no Content-Type', {}],
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['a form', { 'Content-Type': 'application/x-www-form-urlencoded' }],
  ])('answers 415 for %s and writes nothing', async (_label, headers: Record<string, string>) => {
    const me = await signup(api);
    const res = await rawPost('/api/v1/pets', pet, { ...headers, ...bearer(me.accessToken) });
    expect(res.status).toBe(415);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: expect.stringContaining('send application/json'),
      errors: [{ path: 'headers.content-type', message: 'headers.content-type must be application/json' }],
    });
    const list = await api.http.get('/api/v1/pets').set(bearer(me.accessToken)).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('answers 415 on a public route too, before any field is looked at', async () => {
    const body = JSON.stringify({ email: uniqueEmail(), password: 'correct horse battery', nickname: 'Mina' });
    const res = await rawPost('/api/v1/auth/signup', body, { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.json.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('still takes JSON with a charset, and an empty POST to a route whose body is optional', async () => {
    const me = await signup(api);
    const created = await rawPost('/api/v1/pets', pet, {
      'Content-Type': 'application/json; charset=utf-8',
      ...bearer(me.accessToken),
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Bori', species: 'dog', size: 'small' });
    const out = await rawPost('/api/v1/auth/logout', '', bearer(me.accessToken));
    expect(out.status).toBe(204);
  });
});

describe('a path called with a method it does not have', () => {
  it('answers 405 with the methods it has in Allow', async () => {
    const res = await api.http.delete('/api/v1/pets').expect(405);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.body).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      detail: expect.stringContaining('DELETE'),
    });
  });

  it('adds up every pattern the path matches (/sitters/me and /sitters/:id)', async () => {
    const res = await api.http.patch('/api/v1/sitters/me').send({}).expect(405);
    expect(res.headers.allow!.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT']);
  });

  it('asks for no login first, and leaves unknown paths to the 404', async () => {
    await api.http.post('/api/v1/users/me').expect(405);
    const res = await api.http.delete('/api/v1/no-such-thing').expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect(res.headers.allow).toBeUndefined();
  });
});

describe('validation messages', () => {
  it('name each field once, by its full path, one message per field', async () => {
    // nickname "\u0001" is both too short and a control character: still one message for it.
    const res = await api.http.post('/api/v1/auth/signup').send({ password: 'x', nickname: '\u0001' }).expect(400);
    expect(res.body.errors).toEqual([
      { path: 'body.email', message: 'body.email is required' },
      { path: 'body.password', message: 'body.password length must be at least 8 characters long' },
      { path: 'body.nickname', message: expect.stringMatching(/^body\.nickname [a-z]/) },
    ]);
    expect(res.body.detail).toBe(
      `Invalid request: ${res.body.errors.map((e: { message: string }) => e.message).join('; ')}`,
    );
    expect(res.body.detail).not.toMatch(/body\.email email/);
  });

  it('say the same of nested fields and of checks made by the service', async () => {
    const me = await signup(api);
    const res = await api.http
      .get('/api/v1/sitters/search?lat=37.5&lng=127&minPrice=500&maxPrice=100&radiusKm=99')
      .set(bearer(me.accessToken))
      .expect(400);
    expect(res.body.errors).toEqual([
      { path: 'query.radiusKm', message: 'query.radiusKm must be less than or equal to 50' },
    ]);
    const ranged = await api.http.get('/api/v1/sitters/search?lat=37.5&lng=127&minPrice=500&maxPrice=100').expect(400);
    expect(ranged.body.errors).toEqual([
      { path: 'query.maxPrice', message: 'query.maxPrice must be greater than or equal to minPrice' },
    ]);
    expect(ranged.body.detail).toBe('Invalid request: query.maxPrice must be greater than or equal to minPrice');
  });
});

describe('?after=0 on chat history', () => {
  it('means from the first message, oldest first', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const room = await api.http
      .post('/api/v1/chat/rooms')
      .set(bearer(a.accessToken))
      .send({ type: 'direct', userId: b.user.id })
      .expect(201);
    for (const [i, body] of ['one', 'two', 'three'].entries()) {
      await api.http
        .post(`/api/v1/chat/rooms/${room.body.id}/messages`)
        .set(bearer(a.accessToken))
        .send({ body, clientId: `c${i}` })
        .expect(201);
    }
    const res = await api.http
      .get(`/api/v1/chat/rooms/${room.body.id}/messages?after=0&limit=2`)
      .set(bearer(b.accessToken))
      .expect(200);
    expect(res.body.items.map((m: { body: string }) => m.body)).toEqual(['one', 'two']);
    const rest = await api.http
      .get(`/api/v1/chat/rooms/${room.body.id}/messages?after=${res.body.nextCursor}`)
      .set(bearer(b.accessToken))
      .expect(200);
    expect(rest.body.items.map((m: { body: string }) => m.body)).toEqual(['three']);
    await api.http.get(`/api/v1/chat/rooms/${room.body.id}/messages?after=-1`).set(bearer(b.accessToken)).expect(400);
  });
});
