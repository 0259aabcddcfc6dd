import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { rawUpload } from '../../test/helpers/images';
import { connectRedis, createRedis, type Redis } from '../infra/redis';
import { createLogger } from '../infra/logger';
import { problemHandler } from './problem';
import { imageUpload, uploadedFile, uploadLimiter } from './upload';

const prefix = `t${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let server: http.Server;
let url: string;
let release: () => void = () => undefined;

beforeAll(async () => {
  redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0');
  await connectRedis(redis);
  const app = express();
  const small = imageUpload({ maxBytes: 1024 * 1024 });
  const single = imageUpload({ maxInFlight: 1 });
  const limited = imageUpload({ limiter: uploadLimiter(redis, prefix, 2, 60) });
  const answer: express.RequestHandler = (req, res) => {
    res.json({ bytes: uploadedFile(req).length });
  };
  app.put('/small', ...small, answer);
  app.put('/single', ...single, async (req, res) => {
    await new Promise<void>((resolve) => (release = resolve));
    res.json({ bytes: uploadedFile(req).length });
  });
  app.put('/limited', ...limited, answer);
  app.use(problemHandler(createLogger('silent')));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('imageUpload', () => {
  it('passes the file bytes on', async () => {
    const res = await rawUpload(`${url}/small`, { token: 'x', body: Buffer.alloc(1000, 1) });
    expect(res).toMatchObject({ status: 200, json: { bytes: 1000 } });
  });

  it('refuses a declared length over the limit before reading, with a readable 413 and Connection: close', async () => {
    const res = await rawUpload(`${url}/small`, { token: 'x', body: Buffer.alloc(2 * 1024 * 1024, 1) });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(res.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: expect.stringMatching(/1 MB/) });
  });

  it('refuses a chunked body at the limit with a readable 413', async () => {
    const res = await rawUpload(`${url}/small`, { token: 'x', body: Buffer.alloc(2 * 1024 * 1024, 1), chunked: true });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('names body.image when no file came', async () => {
    const res = await request(url).put('/small').field('other', 'x').expect(400);
    expect(res.body.errors).toEqual([{ path: 'body.image', message: expect.any(String) }]);
  });

  it('answers 503 past the buffered-uploads bound, and accepts again once one finishes', async () => {
    const first = rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    // Let the first upload reach its (held) handler.
    await new Promise((r) => setTimeout(r, 150));
    const second = await rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    expect(second.status).toBe(503);
    expect(second.json).toMatchObject({ code: 'UNAVAILABLE' });
    release();
    expect(await first).toMatchObject({ status: 200, json: { bytes: 10 } });
    const third = rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect((await third).status).toBe(200);
  });

  it('limits uploads per caller with a 429 and Retry-After', async () => {
    for (let i = 0; i < 2; i++) {
      const ok = await rawUpload(`${url}/limited`, { token: 'x', body: Buffer.alloc(10, 1) });
      expect(ok.status).toBe(200);
    }
    const refused = await rawUpload(`${url}/limited`, { token: 'x', body: Buffer.alloc(10, 1) });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json).toMatchObject({ code: 'RATE_LIMITED' });
  });
});
