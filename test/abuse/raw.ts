import http from 'node:http';

/**
 * A bare HTTP client for abuse tests: sends exactly the bytes it is given (raw paths such as `../`,
 * invalid JSON, odd content types) and reports what a client would read back. supertest normalises
 * too much for this.
 */
export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
  ms: number;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Give up after this long (the test then fails: the server must answer). */
  timeoutMs?: number;
}

export function raw(base: string, req: RawRequest): Promise<RawReply> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: req.path,
      agent: false,
      headers: {
        ...(req.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(req.body)) } : {}),
        ...req.headers,
      },
    });
    const timer = setTimeout(() => {
      r.destroy();
      reject(new Error(`no answer within ${req.timeoutMs ?? 5000} ms: ${req.method} ${req.path}`));
    }, req.timeoutMs ?? 5000);
    r.on('response', (res) => {
      // An event stream never ends by itself: its headers are the answer.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        clearTimeout(timer);
        res.destroy();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: '',
          json: null,
          ms: performance.now() - started,
        });
        return;
      }
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: the caller decides whether that is acceptable
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms: performance.now() - started });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/** What no answer may ever contain: a stack frame, driver error names or SQL error text. */
const LEAKS = [
  /\bat [^\s()]+ \([^)]*:\d+:\d+\)/, // stack frame "at fn (file:line:col)"
  /\bat \/[^\s]+:\d+:\d+/,
  /node_modules\//,
  /Sequelize[A-Z][a-zA-Z]*Error/,
  /\bER_[A-Z_]{3,}\b/,
  /SQL syntax/,
  /\bECONNREFUSED\b/,
];

/**
 * The house rules for any answer to a request we did not mean to succeed: never 5xx (except 503
 * when a backing service is down, which the caller opts into), no leak, and a problem+json body
 * whose status matches the HTTP status on every 4xx.
 */
export function checkAnswer(reply: RawReply, what: string, opts: { allow503?: boolean } = {}): string | null {
  if (reply.status >= 500 && !(opts.allow503 && reply.status === 503))
    return `${what}: ${reply.status} ${reply.text.slice(0, 300)}`;
  for (const re of LEAKS) if (re.test(reply.text)) return `${what}: body leaks ${re}: ${reply.text.slice(0, 300)}`;
  if (reply.status >= 400) {
    const type = String(reply.headers['content-type'] ?? '');
    if (!type.startsWith('application/problem+json'))
      return `${what}: ${reply.status} with content-type ${type || 'none'}`;
    const body = reply.json as {
      status?: number;
      code?: string;
      title?: string;
      errors?: Array<{ path?: unknown }>;
    } | null;
    if (!body || body.status !== reply.status || typeof body.code !== 'string' || typeof body.title !== 'string') {
      return `${what}: malformed problem ${reply.text.slice(0, 300)}`;
    }
    for (const e of body.errors ?? []) {
      if (typeof e.path !== 'string' || !/^(body|query|params|headers)\b/.test(e.path))
        return `${what}: error path ${JSON.stringify(e.path)}`;
    }
  }
  return null;
}
