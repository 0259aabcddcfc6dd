import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import Joi from 'joi';
import request from 'supertest';
import { type TestContext, type TestInstance, startContext } from '../../test/helpers/context';
import { problemHandler } from './problem';
import { undeclaredPresence } from './reply-check';
import { defineRoute, mountRoutes, type Reply, type RouteSpec } from './routes';
import { createLogger } from '../infra/logger';

/**
 * Test mode checks every reply against the route's declared response (reply-check.ts): these prove a
 * wrong reply is caught, and that replies a route does not declare a body for are left alone.
 */

const petSchema = Joi.object({
  id: Joi.number().integer().required(),
  name: Joi.string().required(),
  notes: Joi.string().allow(null).required(),
  photoUrl: Joi.string().optional(),
});

/** One route answering whatever the test sets in `answer`, mounted as the app mounts routes. */
let answer: Reply | undefined;
const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/pets/one',
    tag: 'test',
    summary: 'a pet',
    responses: {
      200: { description: 'The pet', schema: petSchema },
      302: { description: 'Elsewhere' },
      204: { description: 'Nothing' },
    },
    handler: async () => answer,
  }),
  defineRoute({
    method: 'get',
    path: '/stream',
    tag: 'test',
    summary: 'writes its own answer',
    responses: { 200: { description: 'Text' } },
    handler: async ({ res }) => {
      res.type('text/plain').send('not json');
    },
  }),
];

let server: http.Server;
let url: string;

beforeAll(async () => {
  const app = express();
  const router = Router();
  mountRoutes(router, routes, (_req, _res, next) => next(), { checkReplies: true });
  app.use('/api', router);
  app.use(problemHandler(createLogger('silent')));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const good = { id: 1, name: 'Bori', notes: null };

describe('a reply checked against its declared schema', () => {
  it('passes when it is what the route declares (an optional field may be absent or present)', async () => {
    answer = { status: 200, body: good };
    expect((await request(url).get('/api/pets/one').expect(200)).body).toEqual(good);
    answer = { status: 200, body: { ...good, photoUrl: '/x.webp' } };
    await request(url).get('/api/pets/one').expect(200);
  });

  it.each([
    ['a required field missing', { id: 1, name: 'Bori' }, 'body.notes is required'],
    ['an undeclared field', { ...good, passwordHash: 'x' }, 'body.passwordHash is not allowed'],
    ['a value of another type', { ...good, id: '1' }, 'body.id must be a number'],
  ])('answers 500 naming the route and the field for %s', async (_label, body, message) => {
    answer = { status: 200, body };
    const res = await request(url).get('/api/pets/one').expect(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toContain('Reply of GET /api/pets/one (200) does not match its declared schema');
    expect(res.body.detail).toContain(message);
    expect(res.body.errors).toContainEqual({ path: message.split(' ')[0], message });
  });

  it('refuses a status the route does not declare, and a body where none is declared', async () => {
    answer = { status: 201, body: good };
    const undeclared = await request(url).get('/api/pets/one').expect(500);
    expect(undeclared.body.detail).toContain('status 201 is not among the declared responses');
    answer = { status: 204, body: good };
    const extra = await request(url).get('/api/pets/one').expect(500);
    expect(extra.body.detail).toContain('body is sent but status 204 declares none');
    answer = { status: 200 };
    const missing = await request(url).get('/api/pets/one').expect(500);
    expect(missing.body.detail).toContain('body is missing: status 200 declares one');
  });

  it('leaves redirects, empty replies and answers the handler wrote itself alone', async () => {
    answer = { status: 302, headers: { Location: 'https://example.com/back' } };
    const moved = await request(url).get('/api/pets/one').redirects(0).expect(302);
    expect(moved.headers.location).toBe('https://example.com/back');
    answer = { status: 204 };
    await request(url).get('/api/pets/one').expect(204);
    const text = await request(url).get('/api/stream').expect(200);
    expect(text.text).toBe('not json');
  });

  it('names keys whose presence is left unsaid, nested ones too', () => {
    const loose = Joi.object({
      id: Joi.number().required(),
      name: Joi.string(),
      items: Joi.array()
        .items(Joi.object({ at: Joi.string().required(), by: Joi.number() }))
        .required(),
    });
    expect(undeclaredPresence(loose)).toEqual(['body.name', 'body.items[].by']);
    expect(undeclaredPresence(petSchema)).toEqual([]);
  });
});

describe('every route of the app', () => {
  let ctx: TestContext;
  let api: TestInstance;
  beforeAll(async () => {
    [ctx, api] = await startContext();
  });
  afterAll(() => ctx.close());

  it('says of every response field whether it is always there (.required()) or not (.optional())', () => {
    const loose: string[] = [];
    for (const spec of api.pawmate.modules.flatMap((m) => m.routes ?? [])) {
      for (const [status, r] of Object.entries(spec.responses)) {
        if (!r.schema) continue;
        for (const path of undeclaredPresence(r.schema)) loose.push(`${spec.method} ${spec.path} ${status} ${path}`);
      }
    }
    expect(loose).toEqual([]);
  });
});
