import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import Joi from 'joi';
import { defineRoute, mountRoutes, type RouteSpec } from './routes';
import { dispatchByFirstSegment } from './segment-dispatch';

/** Routes split by first segment answer exactly as one router holding them all would. */

const idParams = Joi.object<{ id: string }, true>({ id: Joi.string().required() });
const route = (method: 'get' | 'post', path: string, answer: string, params?: Joi.ObjectSchema<{ id: string }>) =>
  defineRoute({
    method,
    path,
    summary: answer,
    tag: 't',
    params,
    responses: { 200: { description: 'ok' } },
    handler: async (c) => ({ status: 200, body: { answer, params: c.params } }),
  });

const specs: RouteSpec[] = [
  route('get', '/sitters/me', 'my sitter profile'),
  route('get', '/sitters/:id', 'a sitter', idParams),
  route('get', '/users/me', 'me'),
  route('post', '/users/me', 'post me'),
  route('get', '/users/:id', 'a user', idParams),
];

let server: http.Server;
let base: string;
beforeAll(async () => {
  const app = express();
  const noAuth: express.RequestHandler = (_req, _res, next) => next();
  const mount = (router: Router, list: RouteSpec[]) => mountRoutes(router, list, noAuth);
  app.use('/api/v1', dispatchByFirstSegment(specs, mount));
  app.use((_req, res) => res.status(404).json({ unmatched: true }));
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(() => new Promise((r) => server.close(r)));

const get = async (path: string, method = 'GET') => {
  const res = await fetch(`${base}${path}`, { method });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('dispatchByFirstSegment', () => {
  it('keeps declared order within a segment: /sitters/me before /sitters/:id', async () => {
    expect((await get('/sitters/me')).body.answer).toBe('my sitter profile');
    expect((await get('/sitters/42')).body).toEqual({ answer: 'a sitter', params: { id: '42' } });
  });

  it('routes by method and segment, with a query string or a trailing slash', async () => {
    expect((await get('/users/me?x=1')).body.answer).toBe('me');
    expect((await get('/users/me', 'POST')).body.answer).toBe('post me');
    expect((await get('/users/7/')).body.answer).toBe('a user');
  });

  it('matches the segment regardless of case, as Express routers do', async () => {
    expect((await get('/USERS/me')).body.answer).toBe('me');
    expect((await get('/Sitters/42')).body).toEqual({ answer: 'a sitter', params: { id: '42' } });
  });

  it('passes on what no router of the segment matches, and unknown segments', async () => {
    expect(await get('/users/me/extra')).toEqual({ status: 404, body: { unmatched: true } });
    expect(await get('/nothing/here')).toEqual({ status: 404, body: { unmatched: true } });
    expect(await get('')).toEqual({ status: 404, body: { unmatched: true } });
  });
});
