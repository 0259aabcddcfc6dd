import { Router, type RequestHandler } from 'express';
import type { RouteSpec } from './routes';

/** The first segment of a route path (`/users/:id` → `users`); '' for a path that starts with a parameter. */
function firstSegment(path: string): string {
  const seg = path.split('/')[1] ?? '';
  return seg.startsWith(':') || seg.includes('*') ? '' : seg;
}

/**
 * Mounts a module list's routes as one router per first path segment, behind a single dispatcher.
 *
 * Express matches a request against every route layer in order until one fits; with all ~150 API
 * routes on one router, `GET /users/me` tested each regular expression in turn, and that walk was a
 * visible share of a cheap request's CPU (docs/BENCHMARKS.md, "Request path"). Routes whose first
 * segments differ can never match the same URL, so splitting by that segment changes no outcome:
 * within a segment the routes keep their declared order. A route that starts with a parameter would
 * match any segment, so it (and everything declared after it) would stay on a shared router tried
 * for every request; none does today.
 */
export function dispatchByFirstSegment(specs: RouteSpec[], mount: (router: Router, specs: RouteSpec[]) => void) {
  const groups = new Map<string, RouteSpec[]>();
  const anySegment: RouteSpec[] = [];
  for (const spec of specs) {
    const seg = firstSegment(spec.path);
    // Once a catch-all route appears, later routes go with it so that declared order still decides.
    if (seg === '' || anySegment.length) anySegment.push(spec);
    else groups.set(seg, [...(groups.get(seg) ?? []), spec]);
  }
  const routers = new Map<string, Router>();
  for (const [seg, group] of groups) {
    const router = Router();
    mount(router, group);
    routers.set(seg.toLowerCase(), router);
  }
  const fallback = anySegment.length ? Router() : null;
  if (fallback) mount(fallback, anySegment);
  const dispatch: RequestHandler = (req, res, next) => {
    // req.url is relative to the mount point here: '/users/me?x=1' → 'users'. Like Express's own
    // matching, the segment is compared as sent (not percent-decoded) and regardless of case (Express
    // routers are case-insensitive: /USERS/me is /users/me, and the 405 router agrees).
    const url = req.url;
    const end = url.slice(1).search(/[/?#]/);
    const seg = (end < 0 ? url.slice(1) : url.slice(1, end + 1)).toLowerCase();
    const router = routers.get(seg);
    if (!router) return fallback ? fallback(req, res, next) : next();
    router(req, res, (err?: unknown) => {
      if (err || !fallback) return next(err);
      fallback(req, res, next);
    });
  };
  return dispatch;
}
