import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { requestIdFrom } from './request-id';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const BODY = Buffer.from(JSON.stringify({ status: 'ok' }));

/**
 * Answers `GET`/`HEAD /healthz` before Socket.io's engine and Express see the request.
 *
 * Liveness probes are the most frequent request an instance gets and need nothing but a live event
 * loop; through Express they cost about 9 times a bare node:http answer (docs/BENCHMARKS.md), most
 * of it the engine.io wrapper, the app's router stack and `res.json` (ETag included). The answer is
 * the one `liveness` gives (kept for apps used without a server): `{"status":"ok"}` with an
 * `X-Request-Id`. Call after everything else has attached its 'request' listeners: they are wrapped.
 */
export function answerHealthzEarly(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const given = req.headers['x-request-id'];
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': BODY.length,
        'Cache-Control': 'no-store',
        'X-Request-Id': requestIdFrom(typeof given === 'string' ? given : undefined),
      });
      res.end(req.method === 'HEAD' ? undefined : BODY);
      return;
    }
    for (const listener of listeners) listener.call(server, req, res);
  });
}
