import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/**
 * The web client (`public/app`, plain ES modules, no build step) at `/app`, and the pages e-mail links
 * open. Links read `${APP_URL}/verify-email?token=…`; with APP_URL left at PUBLIC_URL they land here
 * and are sent on to the client's page (the token moves into the fragment, which browsers do not send
 * to servers or in a Referer). A front end of your own sets APP_URL to its origin instead.
 */
const ROOT_CANDIDATES = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..', '..', '..')];
const APP_DIR = ROOT_CANDIDATES.map((r) => path.join(r, 'public', 'app')).find((d) =>
  fs.existsSync(path.join(d, 'index.html')),
);
const SOCKET_IO_CLIENT = path.join(path.dirname(require.resolve('socket.io/package.json')), 'client-dist');

/**
 * Its own policy instead of helmet's default: no `upgrade-insecure-requests` (the client must work over
 * plain HTTP from a LAN address), images from anywhere (a CDN base, provider avatars).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https: http:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Paths e-mail links point at (under APP_URL) → the client's page. Only these query parameters are
 * passed on (bounded): a link is never a way to inject anything else into the client.
 */
export const LINK_PAGES: Record<string, { page: (params: Record<string, string>) => string | null; keep: string[] }> = {
  '/verify-email': { page: () => '/verify-email', keep: ['token'] },
  '/reset-password': { page: () => '/reset-password', keep: ['token'] },
  '/confirm-email': { page: () => '/confirm-email', keep: ['token'] },
  '/notifications': { page: () => '/notifications', keep: [] },
  // Only a room id: anything else in the path (an encoded '?', say) would reach the client's route.
  '/chat/rooms/:id': { page: (p) => (/^[1-9]\d{0,9}$/.test(p.id) ? `/chat/${p.id}` : null), keep: [] },
  '/signup': { page: () => '/login', keep: ['email'] },
};

export function webClientRouter(): Router {
  const router = Router();
  for (const [path, { page, keep }] of Object.entries(LINK_PAGES)) {
    router.get(path, (req, res, next) => {
      const target = page(req.params as Record<string, string>);
      if (target === null) return next();
      const query = new URLSearchParams();
      for (const name of keep) {
        const value = req.query[name];
        if (typeof value === 'string') query.set(name, value.slice(0, 500));
      }
      const qs = query.size ? `?${query}` : '';
      res.set('Cache-Control', 'no-store').redirect(302, `/app/#${target}${qs}`);
    });
  }
  if (!APP_DIR) return router; // a build without the client (it is not needed to serve the API)
  // The Socket.io browser client matching the server's version (the server itself does not serve it).
  router.use('/app/vendor', express.static(SOCKET_IO_CLIENT, { index: false, maxAge: '1d' }));
  router.use(
    '/app',
    (_req, res, next) => {
      res.setHeader('Content-Security-Policy', CSP);
      next();
    },
    express.static(APP_DIR, { index: 'index.html', maxAge: 0 }),
  );
  return router;
}
