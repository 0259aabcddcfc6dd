import type { Request, RequestHandler, Response, Router } from 'express';
import type Joi from 'joi';
import { ValidationFailed, type FieldError } from '../errors';
import type { AuthUser } from './auth';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

// Handlers still receive untyped values until routes are typed from their joi schemas.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface RouteContext<B = any, Q = any, P = any> {
  /** Validated headers (only those the route declares). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  headers: Record<string, any>;
  body: B;
  query: Q;
  params: P;
  /** Set when the route has `auth: true`. */
  user: AuthUser;
  req: Request;
  res: Response;
}

/**
 * One endpoint declared as data: its shape (validation + OpenAPI), its guards and its handler.
 * The same joi schemas validate requests and produce /openapi.json, so the two cannot drift.
 */
export interface RouteSpec {
  method: Method;
  /** Express-style path relative to the module's mount point, e.g. `/pets/:id`. */
  path: string;
  summary: string;
  tag: string;
  auth?: boolean;
  body?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  params?: Joi.ObjectSchema;
  /** Request headers the route reads (lower-case names), e.g. `idempotency-key`. */
  headers?: Joi.ObjectSchema;
  /** Multipart upload with one file field (documented; parsing is done by `before`). */
  upload?: { field: string };
  /** Middleware run after authentication and before validation (rate limits, multipart parsing). */
  before?: RequestHandler[];
  responses: Record<number, { description: string; schema?: Joi.Schema }>;
  /** Return a Reply, or nothing when the handler has answered itself (streams). */
  handler: (ctx: RouteContext) => Promise<Reply | void>;
}

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, stripUnknown: true, convert: true };

export function toFieldErrors(error: Joi.ValidationError, where: string): FieldError[] {
  return error.details.map((d) => ({
    path: [where, ...d.path].join('.'),
    message: d.message.replace(/"/g, ''),
  }));
}

function validatePart(schema: Joi.Schema | undefined, value: unknown, where: string, errors: FieldError[]) {
  if (!schema) return value;
  const result = schema.validate(value ?? {}, OPTIONS);
  if (result.error) errors.push(...toFieldErrors(result.error, where));
  return result.value;
}

/** Mounts declared routes on a router: auth → before → validate → handler → reply. */
export function mountRoutes(router: Router, specs: RouteSpec[], authenticate: RequestHandler): void {
  for (const spec of specs) {
    const chain: RequestHandler[] = [
      (req, res, next) => {
        // Recorded now: Express resets baseUrl once the router is done, before metrics read it.
        res.locals.routeTemplate = `${req.baseUrl}${spec.path}`;
        next();
      },
    ];
    if (spec.auth) chain.push(authenticate);
    chain.push(...(spec.before ?? []));
    chain.push(async (req, res) => {
      const errors: FieldError[] = [];
      const headers = spec.headers ? validatePart(spec.headers, req.headers, 'headers', errors) : {};
      const params = validatePart(spec.params, req.params, 'params', errors);
      const query = validatePart(spec.query, req.query, 'query', errors);
      const body = validatePart(spec.body, req.body, 'body', errors);
      if (errors.length) throw ValidationFailed(`Invalid request: ${errors[0].path} ${errors[0].message}`, errors);
      const reply = await spec.handler({ headers, body, query, params, user: res.locals.user, req, res });
      if (!reply) return;
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    });
    router[spec.method](spec.path, ...chain);
  }
}
