import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Helmet's headers, except what breaks a server reached over plain HTTP. `upgrade-insecure-requests`
 * makes a browser fetch every script and stylesheet of a page over HTTPS: on a server reached as
 * http://192.168.0.20:3000 (no TLS) /docs then loads nothing and stays blank. It, and HSTS, are sent
 * only on requests that arrived over TLS (directly, or through a trusted proxy's X-Forwarded-Proto).
 */
export function securityHeaders(): RequestHandler {
  const overTls = helmet();
  const plain = helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    strictTransportSecurity: false,
  });
  return (req, res, next) => (req.secure ? overTls : plain)(req, res, next);
}
