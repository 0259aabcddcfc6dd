import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Credentials are redacted wherever they might appear. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'pawmate', ...base },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'password',
        '*.password',
        'token',
        '*.token',
        'refreshToken',
        '*.refreshToken',
        'accessToken',
        '*.accessToken',
      ],
      censor: '[redacted]',
    },
  });
}

/** Removes credentials carried in a query string (the SSE stream accepts ?access_token=). */
export function scrubUrl(url: string): string {
  // code/state: a provider's OAuth callback carries an authorization code and the flow's state.
  return url.replace(/([?&](?:access_token|token|code|state)=)[^&#]*/gi, '$1[redacted]');
}
