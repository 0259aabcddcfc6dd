import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

type HeaderValue = string | number | readonly string[];

/**
 * What a helmet middleware does to a response, recorded once: the headers it sets and the ones it
 * removes. With no per-request directives (no nonces, no functions) its answer is the same for every
 * request, so replaying the record gives the same headers without rebuilding them each time (helmet
 * assembled its dozen headers, CSP string included, on every request).
 */
function recordHeaders(middleware: ReturnType<typeof helmet>) {
  const set: Array<[string, HeaderValue]> = [];
  const removed: string[] = [];
  const fake = {
    setHeader(name: string, value: HeaderValue) {
      set.push([name, value]);
      return fake;
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  };
  let done = false;
  middleware({} as Request, fake as unknown as Response, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    done = true;
  });
  if (!done) throw new Error('helmet did not answer synchronously: its headers cannot be recorded');
  return (res: Response) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
  };
}

/**
 * Helmet's headers, except what breaks a server reached over plain HTTP. `upgrade-insecure-requests`
 * makes a browser fetch every script and stylesheet of a page over HTTPS: on a server reached as
 * http://192.168.0.20:3000 (no TLS) /docs then loads nothing and stays blank. It, and HSTS, are sent
 * only on requests that arrived over TLS (directly, or through a trusted proxy's X-Forwarded-Proto).
 */
export function securityHeaders(): RequestHandler {
  const overTls = recordHeaders(helmet());
  const plain = recordHeaders(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
      strictTransportSecurity: false,
    }),
  );
  return (req, res, next) => {
    // req.secure runs the trust-proxy check (address parsing) on every request; it can only be true
    // when the socket is TLS or a forwarded protocol was sent, so the common case skips it.
    const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
    const secure = tls || (req.headers['x-forwarded-proto'] !== undefined && req.secure);
    (secure ? overTls : plain)(res);
    next();
  };
}
