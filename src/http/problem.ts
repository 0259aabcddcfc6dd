import type { ErrorRequestHandler, RequestHandler } from 'express';
import { UniqueConstraintError } from 'sequelize';
import { isDeadlock } from '../infra/db';
import type { Logger } from '../infra/logger';
import { AppError, Conflict, NotFound, PayloadTooLarge, Unavailable, ValidationFailed, problemBody } from './errors';
import { isUnavailableError } from './unavailable';

/** Maps anything thrown to an AppError; unknown errors become INTERNAL (logged in full, answered bare). */
export function toAppError(err: unknown): { error: AppError; unexpected: boolean } {
  if (err instanceof AppError) return { error: err, unexpected: false };
  const e = err as { type?: string; code?: string; status?: number; field?: string; message?: string };
  // body-parser
  if (e?.type === 'entity.too.large')
    return { error: PayloadTooLarge('The request body exceeds the size limit'), unexpected: false };
  if (e?.type === 'entity.parse.failed')
    return {
      error: ValidationFailed('The request body is not valid JSON', [{ path: 'body', message: 'malformed JSON' }]),
      unexpected: false,
    };
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') {
    return { error: new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset'), unexpected: false };
  }
  // multer
  if (e?.code === 'LIMIT_FILE_SIZE')
    return { error: PayloadTooLarge('The uploaded file exceeds the size limit'), unexpected: false };
  if (typeof e?.code === 'string' && e.code.startsWith('LIMIT_')) {
    const path = e.field ? `body.${e.field}` : 'body';
    return {
      error: ValidationFailed(`Upload refused: ${e.message}`, [{ path, message: String(e.message) }]),
      unexpected: false,
    };
  }
  if (isDeadlock(err)) return { error: Conflict('The resource is busy; retry the request'), unexpected: false };
  if (err instanceof UniqueConstraintError)
    return { error: Conflict('The resource already exists'), unexpected: false };
  if (isUnavailableError(err)) return { error: Unavailable(), unexpected: false };
  return { error: new AppError('INTERNAL', 'An unexpected error occurred'), unexpected: true };
}

export function sendProblem(res: Parameters<RequestHandler>[1], error: AppError, requestId?: string) {
  for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
  res
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, requestId)));
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { error, unexpected } = toAppError(err);
    const log = (req as { log?: Logger }).log ?? logger;
    if (unexpected) log.error({ err }, 'unhandled error');
    else if (error.status >= 500)
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
