import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import express, { type Request, type Response } from 'express';
import { createAppServer } from './app-server';

// V8's own answer to "do these objects share a hidden class?" (the property the classes exist for).
v8.setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

let server: http.Server;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Serves `app` on its app server; `GET /keep` answers and keeps its req/res. */
async function serve(app: express.Express) {
  const kept: Array<[Request, Response]> = [];
  const arrived: boolean[] = [];
  app.get('/keep', (req, res) => {
    kept.push([req, res]);
    res.json({ ok: true, host: req.get('host') !== undefined, app: req.app === app });
  });
  server = createAppServer(app);
  // Before Express: a request that already has the app's prototypes is not re-parented.
  server.prependListener('request', (req, res) => {
    arrived.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keep`;
  return { kept, arrived, url };
}

it('hands Express requests and responses already on its prototypes, all of one hidden class each', async () => {
  const app = express();
  const { kept, arrived, url } = await serve(app);
  for (let i = 0; i < 4; i++) {
    const res = await fetch(url);
    // Express's request and response methods still work.
    expect(await res.json()).toEqual({ ok: true, host: true, app: true });
  }
  expect(arrived).toEqual([true, true, true, true]);
  // Requests after the first (V8 settles a class's layout on its first instances) share their maps.
  const [, [req1, res1], [req2, res2], [req3, res3]] = kept;
  expect(haveSameMap(req1, req2) && haveSameMap(req2, req3)).toBe(true);
  expect(haveSameMap(res1, res2) && haveSameMap(res2, res3)).toBe(true);
});

it('gives one app the same classes however often it is asked (a second server does not re-parent them)', async () => {
  const app = express();
  const request = app.request;
  createAppServer(app);
  const once = app.request;
  expect(Object.getPrototypeOf(once)).toBe(request);
  const { arrived, url } = await serve(app);
  expect(app.request).toBe(once);
  await (await fetch(url)).json();
  expect(arrived).toEqual([true]);
});
