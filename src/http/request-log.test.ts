import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { requestLog } from './request-log';

/** The request log line: written only at an enabled level, with the request id and a scrubbed URL. */
async function serve(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, sink);
  const app = express();
  app.use((_req, res, next) => {
    res.locals.requestId = 'rid-1';
    next();
  });
  app.use(requestLog(logger));
  app.get('/ok', (req, res) => {
    (req as unknown as { log: pino.Logger }).log.warn('inside');
    res.json({ ok: true });
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { lines, base, close: () => new Promise((r) => server.close(r)) };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('requestLog', () => {
  it('logs a 2xx at debug with the request id, a scrubbed URL and the status; req.log carries the id', async () => {
    const s = await serve('debug');
    try {
      await fetch(`${s.base}/ok?access_token=secret&x=1`);
      await settle();
      expect(s.lines.find((l) => l.msg === 'inside')).toMatchObject({ reqId: 'rid-1', level: 40 });
      const done = s.lines.find((l) => l.msg === 'request completed');
      expect(done).toMatchObject({
        level: 20,
        reqId: 'rid-1',
        req: { id: 'rid-1', method: 'GET', url: '/ok?access_token=[redacted]&x=1' },
        res: { statusCode: 200 },
      });
      expect(typeof done?.responseTime).toBe('number');
    } finally {
      await s.close();
    }
  });

  it('at info, writes no line for a 2xx and an info line for a 4xx', async () => {
    const s = await serve('info');
    try {
      await fetch(`${s.base}/ok`);
      await fetch(`${s.base}/missing`);
      await settle();
      const done = s.lines.filter((l) => l.msg === 'request completed');
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ level: 30, res: { statusCode: 404 } });
    } finally {
      await s.close();
    }
  });
});
