import type { IncomingMessage, Server } from 'node:http';
import { Socket } from 'node:net';

export interface LingerLimits {
  /** Most body bytes read and thrown away after the answer before the connection is cut anyway. */
  maxBytes: number;
  /** Longest wait for the rest of the body after the answer. */
  maxMs: number;
}

/** Enough for the rest of any upload we refuse at its 10 MB limit, and a client on a slow line. */
export const DEFAULT_LINGER: LingerLimits = { maxBytes: 32 * 1024 * 1024, maxMs: 10_000 };

/**
 * Lingering close. When the server answers before it has read the whole request body (a 413 for an
 * upload over the limit, any refusal that does not read the body) Node closes the connection right
 * after the answer. The client is still sending; closing a socket with unread bytes makes the kernel
 * send a reset, which also throws away our answer on the client's side before it reads it (EPIPE or
 * ECONNRESET instead of the 413). So the write side is ended (the answer and a FIN go out) and the
 * body is read and discarded until it ends, or until `maxBytes` or `maxMs`, and only then is the
 * connection closed.
 */
export function lingerBeforeClose(server: Server, limits: LingerLimits = DEFAULT_LINGER): void {
  const current = new WeakMap<Socket, IncomingMessage>();
  server.on('request', (req: IncomingMessage) => current.set(req.socket, req));
  // One function for every connection (`this` is the socket): a bound copy and a closure per
  // connection would be kept as long as the connection, a long-lived stream's included.
  function lingeringDestroySoon(this: Socket): void {
    const req = current.get(this);
    if (!req || req.complete || this.destroyed) Socket.prototype.destroySoon.call(this);
    else drainThenClose(this, req, limits);
  }
  server.on('connection', (socket: Socket) => {
    socket.destroySoon = lingeringDestroySoon;
  });
}

/** Ends our side, then reads and discards the rest of the request body before closing (within `limits`). */
function drainThenClose(socket: Socket, req: IncomingMessage, limits: LingerLimits): void {
  let drained = 0;
  const close = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, limits.maxMs);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limits.maxBytes) close();
  });
  req.once('end', close);
  socket.once('close', () => clearTimeout(timer));
  req.resume();
  socket.end();
}
