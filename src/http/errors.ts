/** Application errors. Services throw these; one middleware (http/problem.ts) turns them into problem+json. */
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

const TITLES: Record<ErrorCode, [number, string]> = {
  VALIDATION_FAILED: [400, 'Validation failed'],
  UNAUTHENTICATED: [401, 'Unauthenticated'],
  FORBIDDEN: [403, 'Forbidden'],
  NOT_FOUND: [404, 'Not found'],
  CONFLICT: [409, 'Conflict'],
  PAYLOAD_TOO_LARGE: [413, 'Payload too large'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Unsupported media type'],
  RATE_LIMITED: [429, 'Too many requests'],
  UNAVAILABLE: [503, 'Service unavailable'],
  INTERNAL: [500, 'Internal server error'],
};

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    [this.status, this.title] = TITLES[code];
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

export function problemBody(err: AppError, requestId?: string) {
  return {
    type: `https://pawmate.dev/problems/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: err.title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(requestId ? { requestId } : {}),
  };
}
