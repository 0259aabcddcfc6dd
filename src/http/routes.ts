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

export interface RouteContext<B = unknown, Q = unknown, P = unknown, H = unknown> {
  /** Validated headers (only those the route declares). */
  headers: H;
  body: B;
  query: Q;
  params: P;
  /** Set when the route has `auth: true`. */
  user: AuthUser;
  req: Request;
  res: Response;
}

/** What every route declares besides its request schemas and handler. */
interface RouteBase {
  method: Method;
  /** Express-style path relative to the module's mount point, e.g. `/pets/:id`. */
  path: string;
  summary: string;
  tag: string;
  auth?: boolean;
  /** Multipart upload with one file field (documented; parsing is done by `before`). */
  upload?: { field: string };
  /** Middleware run after authentication and before validation (rate limits, multipart parsing). */
  before?: RequestHandler[];
  responses: Record<number, { description: string; schema?: Joi.Schema }>;
}

/**
 * One endpoint declared as data: its shape (validation + OpenAPI), its guards and its handler.
 * The same joi schemas validate requests and produce /openapi.json, so the two cannot drift.
 * `B`, `Q`, `P`, `H` are the validated body, query, params and headers: each comes from its joi
 * schema's declared type (`Joi.object<T, true>(…)`), so a handler sees what validation produced.
 */
export interface TypedRoute<B, Q, P, H> extends RouteBase {
  body?: Joi.ObjectSchema<B>;
  query?: Joi.ObjectSchema<Q>;
  params?: Joi.ObjectSchema<P>;
  /** Request headers the route reads (lower-case names), e.g. `idempotency-key`. */
  headers?: Joi.ObjectSchema<H>;
  /** Return a Reply, or nothing when the handler has answered itself (streams). */
  handler: (ctx: RouteContext<B, Q, P, H>) => Promise<Reply | void>;
}

/** Marks a spec that went through defineRoute, so a bare object literal cannot pass as a route. */
const typed: unique symbol = Symbol('typed route');

/**
 * A route with its request types erased, as modules hand them to the app (one list mixes routes of
 * different types). Only defineRoute makes one (`typed`), so every handler is typed from its
 * schemas. `never` is what lets every TypedRoute fit here without a cast: a handler that takes some
 * `RouteContext<B>` accepts a `RouteContext<never>`. Only mountRoutes calls it, with the values the
 * route's own schemas produced.
 */
export interface RouteSpec extends RouteBase {
  body?: Joi.ObjectSchema<unknown>;
  query?: Joi.ObjectSchema<unknown>;
  params?: Joi.ObjectSchema<unknown>;
  headers?: Joi.ObjectSchema<unknown>;
  handler: (ctx: RouteContext<never, never, never, never>) => Promise<Reply | void>;
  readonly [typed]: true;
}

type IsAny<T> = 0 extends 1 & T ? true : false;
/** A schema built with a bare `Joi.object({…})` types its part as `any`; refuse it and say what to write. */
type MustBeTyped<T, Part extends string> =
  IsAny<T> extends true ? { [K in Part]: `declare the ${Part} type: Joi.object<T, true>({ … })` } : unknown;

/**
 * Declares a route whose handler is typed from its schemas: `body`, `query`, `params` and `headers`
 * have the types their joi schemas declare, and a schema without a declared type does not compile.
 */
export function defineRoute<B = unknown, Q = unknown, P = unknown, H = unknown>(
  spec: TypedRoute<B, Q, P, H> &
    MustBeTyped<B, 'body'> &
    MustBeTyped<Q, 'query'> &
    MustBeTyped<P, 'params'> &
    MustBeTyped<H, 'headers'>,
): RouteSpec {
  return { ...spec, [typed]: true };
}

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, stripUnknown: true, convert: true };

export function toFieldErrors(error: Joi.ValidationError, where: string): FieldError[] {
  return error.details.map((d) => ({
    path: [where, ...d.path].join('.'),
    message: d.message.replace(/"/g, ''),
  }));
}

function validatePart(schema: Joi.Schema | undefined, value: unknown, where: string, errors: FieldError[]): unknown {
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
      // The values come from the spec's own schemas, which is what the erased `never` stands for.
      const validated = { headers, body, query, params } as Pick<
        RouteContext<never, never, never, never>,
        'headers' | 'body' | 'query' | 'params'
      >;
      const reply = await spec.handler({ ...validated, user: res.locals.user, req, res });
      if (!reply) return;
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    });
    router[spec.method](spec.path, ...chain);
  }
}
