import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../errors';
import { problemBody } from './problem';
import { requestIdFrom } from './request-id';

/**
 * Requests Node refuses before Express sees them (a header block over 16 KB, a malformed request line,
 * a request that took too long to arrive) would get Node's bare answer; clients get the same
 * problem+json as everywhere else instead, with an `X-Request-Id` like every other answer (the
 * client's own when it got as far as sending a sane one).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, error] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            new AppError('PAYLOAD_TOO_LARGE', 'The request headers (or URL) exceed the size limit'),
          ]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', new AppError('VALIDATION_FAILED', 'The request did not arrive in time')]
          : [400, 'Bad Request', new AppError('VALIDATION_FAILED', 'The request is not valid HTTP')];
    const body = JSON.stringify({ ...problemBody(error), status, title: reason });
    const id = requestIdFrom(givenId(err.rawPacket));
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** The X-Request-Id header line of the bytes the parser refused, if they got that far. */
function givenId(raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  // Header lines only: nothing past the blank line, and never more than the parser's own limit.
  const head = raw
    .subarray(0, 16 * 1024)
    .toString('latin1')
    .split('\r\n\r\n')[0];
  return /\r\nx-request-id:[ \t]*([^\r\n]*)/i.exec(head)?.[1]?.trim();
}
