import { isDeadlock, isDuplicateKey } from './infra/db';
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
  | 'METHOD_NOT_ALLOWED'
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
/** One bad field: the message names it once, by its full path ("body.email is required"). */
export const fieldError = (path: string, problem: string): FieldError => ({ path, message: `${path} ${problem}` });
/** 400 for one or more bad fields (messages from `fieldError`); the detail lists them all. */
export const InvalidFields = (errors: FieldError[]) =>
  ValidationFailed(`Invalid request: ${errors.map((e) => e.message).join('; ')}`, errors);
export const Unauthenticated = (detail = 'A valid access token is required') => new AppError('UNAUTHENTICATED', detail);
export const Forbidden = (detail: string) => new AppError('FORBIDDEN', detail);
export const NotFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`);
/** The path exists but not with this method; `allow` lists the ones it has (the Allow header). */
export const MethodNotAllowed = (method: string, allow: string[]) =>
  new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow.join(', ')}`, undefined, {
    Allow: allow.join(', '),
  });
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
  if (isDuplicateKey(err)) return { error: Conflict('The resource already exists'), unexpected: false };
  if (isUnavailableError(err)) return { error: Unavailable(), unexpected: false };
  return { error: new AppError('INTERNAL', 'An unexpected error occurred'), unexpected: true };
}
