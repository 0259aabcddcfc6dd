import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../infra/logger';
import { AppError, NotFound, PayloadTooLarge, ValidationFailed, toAppError, type ErrorCode } from '../errors';

/** How each application error is answered over HTTP (RFC 9457 problem+json). */
const HTTP: Record<ErrorCode, [status: number, title: string]> = {
  VALIDATION_FAILED: [400, 'Validation failed'],
  UNAUTHENTICATED: [401, 'Unauthenticated'],
  FORBIDDEN: [403, 'Forbidden'],
  NOT_FOUND: [404, 'Not found'],
  METHOD_NOT_ALLOWED: [405, 'Method not allowed'],
  CONFLICT: [409, 'Conflict'],
  PAYLOAD_TOO_LARGE: [413, 'Payload too large'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Unsupported media type'],
  RATE_LIMITED: [429, 'Too many requests'],
  UNAVAILABLE: [503, 'Service unavailable'],
  INTERNAL: [500, 'Internal server error'],
};

export const httpStatusOf = (err: AppError): number => HTTP[err.code][0];

export function problemBody(err: AppError, requestId?: string) {
  const [status, title] = HTTP[err.code];
  return {
    type: `https://pawmate.dev/problems/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    detail: err.detail,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

/** Errors only the HTTP body parsers raise (body-parser, multer), in application terms. */
function fromBodyParser(err: unknown): AppError | undefined {
  const e = err as { type?: string; code?: string; field?: string; message?: string };
  if (e?.type === 'entity.too.large') return PayloadTooLarge('The request body exceeds the size limit');
  if (e?.type === 'entity.parse.failed')
    return ValidationFailed('The request body is not valid JSON', [{ path: 'body', message: 'malformed JSON' }]);
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported')
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset');
  if (e?.code === 'LIMIT_FILE_SIZE') return PayloadTooLarge('The uploaded file exceeds the size limit');
  if (typeof e?.code === 'string' && e.code.startsWith('LIMIT_')) {
    const path = e.field ? `body.${e.field}` : 'body';
    return ValidationFailed(`Upload refused: ${e.message}`, [{ path, message: String(e.message) }]);
  }
  return undefined;
}

export function sendProblem(res: Parameters<RequestHandler>[1], error: AppError, requestId?: string) {
  for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
  res
    .status(httpStatusOf(error))
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, requestId)));
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const parsed = fromBodyParser(err);
    const { error, unexpected } = parsed ? { error: parsed, unexpected: false } : toAppError(err);
    const log = (req as { log?: Logger }).log ?? logger;
    if (unexpected) log.error({ err }, 'unhandled error');
    else if (httpStatusOf(error) >= 500)
      log.warn(
        { err: { message: (err as Error)?.message, name: (err as Error)?.name } },
        'backing service unavailable',
      );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Let the rest of an unread body drain, so the client reads our answer instead of a reset.
    if (!req.complete) req.resume();
    sendProblem(res, error, String(res.locals.requestId ?? ''));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(NotFound(`Route ${req.method} ${req.path}`));
};
