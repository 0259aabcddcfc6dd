import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { rawUpload } from '../../test/helpers/images';
import { createLogger } from '../infra/logger';
import { problemHandler } from './problem';
import { Unavailable } from '../errors';
import { imageUpload, uploadedFile, type UploadAdmission } from './upload';

let server: http.Server;
let url: string;
let release: () => void = () => undefined;

beforeAll(async () => {
  const app = express();
  // Stand-ins for the media module's policy: one admitting everything, one holding a single slot.
  const everyone: UploadAdmission = { admitUpload: async () => () => undefined };
  let held = 0;
  const oneAtATime: UploadAdmission = {
    admitUpload: async () => {
      if (held >= 1) throw Unavailable('Too many uploads in progress; retry shortly');
      held++;
      return () => held--;
    },
  };
  const small = imageUpload(everyone, { maxBytes: 1024 * 1024 });
  const single = imageUpload(oneAtATime);
  const answer: express.RequestHandler = (req, res) => {
    res.json({ bytes: uploadedFile(req).length });
  };
  app.put('/small', ...small, answer);
  app.put('/single', ...single, async (req, res) => {
    await new Promise<void>((resolve) => (release = resolve));
    res.json({ bytes: uploadedFile(req).length });
  });
  app.use(problemHandler(createLogger('silent')));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
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

  it('answers a policy refusal before reading the body, and gives the slot back when a response ends', async () => {
    const first = rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    // Let the first upload reach its (held) handler.
    await new Promise((r) => setTimeout(r, 150));
    const second = await rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    expect(second.status).toBe(503);
    expect(second.headers.connection).toBe('close');
    expect(second.json).toMatchObject({ code: 'UNAVAILABLE' });
    release();
    expect(await first).toMatchObject({ status: 200, json: { bytes: 10 } });
    const third = rawUpload(`${url}/single`, { token: 'x', body: Buffer.alloc(10, 1) });
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect((await third).status).toBe(200);
  });
});
