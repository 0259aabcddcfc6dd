import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { RequestHandler } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it is sane (it lands in logs and headers), otherwise a fresh one. */
export function requestIdFrom(given: string | undefined): string {
  return given && SAFE_ID.test(given) ? given : randomUUID();
}

/**
 * Stamps `X-Request-Id` on every request the HTTP server hands out, before any listener sees it, so
 * the answers Express never writes (Socket.io's engine, anything attached to the server) carry one
 * too. Call it after every other 'request' listener is attached (engine.io re-wraps the existing ones).
 */
export function stampRequestIds(server: Server): void {
  server.prependListener('request', (req, res) => {
    const given = req.headers['x-request-id'];
    res.setHeader('X-Request-Id', requestIdFrom(typeof given === 'string' ? given : undefined));
  });
}

/** Keeps the id stamped by the server (or mints one when the app runs without it); every log line carries it. */
export const requestId: RequestHandler = (req, res, next) => {
  const stamped = res.getHeader('X-Request-Id');
  if (typeof stamped === 'string') res.locals.requestId = stamped;
  else res.setHeader('X-Request-Id', (res.locals.requestId = requestIdFrom(req.get('x-request-id'))));
  next();
};
