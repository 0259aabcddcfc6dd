import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import Joi from 'joi';
import request from 'supertest';
import { problemHandler } from './problem';
import { defineRoute, JsonText, mountRoutes, type Reply, type RouteSpec } from './routes';
import { createLogger } from '../infra/logger';

/**
 * A handler may answer JSON it wrote itself (JsonText): it is sent as written, with the app's image
 * rule applied by the writer, and in test mode it is checked against the declared schema like any
 * other reply.
 */

const petSchema = Joi.object({
  id: Joi.number().integer().required(),
  name: Joi.string().required(),
  photoUrl: Joi.string().allow(null).required(),
});

let answer: Reply | undefined;
const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/pet',
    tag: 'test',
    summary: 'a pet',
    responses: { 200: { description: 'The pet', schema: petSchema } },
    handler: async () => answer,
  }),
];
/** The replacer the app installs, reduced to one rule: `*Url` keys that start with `k/` get a base. */
const replacer = (key: string, value: unknown) =>
  key.endsWith('Url') && typeof value === 'string' && value.startsWith('k/') ? `https://cdn.test/${value}` : value;

async function serve(checkReplies: boolean): Promise<{ url: string; server: http.Server }> {
  const app = express();
  const router = Router();
  mountRoutes(router, routes, (_req, _res, next) => next(), { checkReplies, jsonReplacer: replacer });
  app.use('/api', router);
  app.use(problemHandler(createLogger('silent')));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const pet = (photo: string | null) =>
  new JsonText(
    (imageUrl) => `{"id":7,"name":"Bori \\"B\\"","photoUrl":${JSON.stringify(imageUrl('photoUrl', photo))}}`,
  );

describe.each([
  ['test mode (checked)', true],
  ['production (unchecked)', false],
])('a JsonText reply in %s', (_label, checkReplies) => {
  let s: { url: string; server: http.Server };
  beforeAll(async () => {
    s = await serve(checkReplies);
  });
  afterAll(() => new Promise<void>((resolve) => s.server.close(() => resolve())));

  it('is sent as written, with image keys turned into URLs by the app’s rule and the usual headers', async () => {
    answer = { status: 200, body: pet('k/a.webp') };
    const res = await request(s.url).get('/api/pet').expect(200);
    expect(res.text).toBe('{"id":7,"name":"Bori \\"B\\"","photoUrl":"https://cdn.test/k/a.webp"}');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    expect(res.headers.etag).toBeUndefined();
    answer = { status: 200, body: pet(null) };
    expect((await request(s.url).get('/api/pet').expect(200)).body).toEqual({
      id: 7,
      name: 'Bori "B"',
      photoUrl: null,
    });
  });

  it('is held to the declared schema in test mode only', async () => {
    answer = { status: 200, body: new JsonText(() => '{"id":"7","name":"Bori","photoUrl":null}') };
    const res = await request(s.url).get('/api/pet');
    if (checkReplies) {
      expect(res.status).toBe(500);
      expect(res.body.detail).toContain('body.id must be a number');
    } else expect(res.status).toBe(200);
  });
});
