import { UniqueConstraintError } from 'sequelize';
import { isDeadlock } from './infra/db';
import { isUnavailableError } from './infra/unavailable';

/**
 * Application errors. Services (and the infrastructure adapters that refuse work) throw these; they say
 * what went wrong in the application's terms. How each is answered over HTTP (status, problem+json)
 * is decided in one place, src/http/problem.ts; Socket.io acknowledgements use the code directly.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Hints for the client that travel with the error, e.g. Retry-After (sent as response headers). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export const ValidationFailed = (detail: string, errors?: FieldError[]) =>
  new AppError('VALIDATION_FAILED', detail, errors);
export const Unauthenticated = (detail = 'A valid access token is required') => new AppError('UNAUTHENTICATED', detail);
export const Forbidden = (detail: string) => new AppError('FORBIDDEN', detail);
export const NotFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`);
export const Conflict = (detail: string) => new AppError('CONFLICT', detail);
export const PayloadTooLarge = (detail: string) => new AppError('PAYLOAD_TOO_LARGE', detail);
export const UnsupportedMediaType = (detail: string) => new AppError('UNSUPPORTED_MEDIA_TYPE', detail);
export const RateLimited = (retryAfterSec: number) =>
  new AppError('RATE_LIMITED', `Too many requests; retry in ${retryAfterSec} s`, undefined, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSec))),
  });
export const Unavailable = (detail = 'A backing service is unavailable; retry shortly') =>
  new AppError('UNAVAILABLE', detail, undefined, { 'Retry-After': '5' });

/**
 * Maps anything thrown to an AppError: a lost deadlock or a duplicate key is a conflict the client may
 * retry, an unreachable MariaDB/Redis is UNAVAILABLE, anything else is INTERNAL (`unexpected`: log it in
 * full, answer it bare).
 */
export function toAppError(err: unknown): { error: AppError; unexpected: boolean } {
  if (err instanceof AppError) return { error: err, unexpected: false };
  if (isDeadlock(err)) return { error: Conflict('The resource is busy; retry the request'), unexpected: false };
  if (err instanceof UniqueConstraintError)
    return { error: Conflict('The resource already exists'), unexpected: false };
  if (isUnavailableError(err)) return { error: Unavailable(), unexpected: false };
  return { error: new AppError('INTERNAL', 'An unexpected error occurred'), unexpected: true };
}
