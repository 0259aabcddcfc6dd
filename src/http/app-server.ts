import http from 'node:http';
import type { Express, Request, Response } from 'express';

interface ServerClasses {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
}

const classesOf = new WeakMap<Express, ServerClasses>();

/**
 * Request and response classes whose prototypes ARE the app's `request` and `response` objects, so
 * that Express finds every req and res already on the prototype it would give them.
 *
 * Otherwise Express re-parents each of them (`Object.setPrototypeOf(req, app.request)`), and for an
 * object with as many properties as Node's request and response V8 caches no such transition: every
 * req and every res gets a hidden class and a descriptor array of its own (~1 KB each, straight in
 * old space), and so does each property Express and the middleware add after it. Short requests
 * leave that as old-space garbage; an SSE stream keeps its ~2 KB for its whole life
 * (docs/BENCHMARKS.md, "SSE: RSS per stream in every run"). The classes are derived (`extends`):
 * V8 shares one hidden class among the instances of a class, but not among objects built with
 * `Reflect.construct` for a plain function as `new.target`.
 */
export function serverClasses(app: Express): ServerClasses {
  const known = classesOf.get(app);
  if (known) return known;
  class AppRequest extends http.IncomingMessage {}
  class AppResponse extends http.ServerResponse {}
  // The app's objects stay in the chain (their methods, `req.app`…); the classes' prototypes take their place.
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  app.request = AppRequest.prototype as unknown as Request;
  app.response = AppResponse.prototype as unknown as Response;
  const classes = { IncomingMessage: AppRequest, ServerResponse: AppResponse } as ServerClasses;
  classesOf.set(app, classes);
  return classes;
}

/** The HTTP server for an Express app, with the request and response classes above. */
export function createAppServer(app: Express, options: http.ServerOptions = {}): http.Server {
  return http.createServer({ ...options, ...serverClasses(app) }, app);
}
