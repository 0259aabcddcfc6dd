import { Router, type Request, type RequestHandler, type Response } from 'express';
import type Joi from 'joi';
import { AppError, InvalidFields, MethodNotAllowed, fieldError, type FieldError } from '../errors';
import type { AuthUser } from './auth';
import { replyErrors, replyMismatch } from './reply-check';

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
  /**
   * The operation's name in /openapi.json, which generated clients turn into a method name:
   * a verb and a noun, camelCase (`login`, `searchSitters`, `acceptReservation`).
   */
  operationId?: string;
  summary: string;
  tag: string;
  auth?: boolean;
  /**
   * Where an `auth` route learns that the login was revoked. By default the access token is checked
   * against the Redis deny-list before the handler runs. `'in-query'`: only its signature and expiry
   * are checked before, and the handler reads the login's row (`sessions.revokedAt`) in the database
   * round trip it makes anyway and refuses a revoked one itself (GET /users/me: the caller's row and
   * their login in one statement, one round trip less per request). MySQL is where a revocation is
   * committed before the revoking request answers, so this is as immediate, on every instance.
   */
  revocation?: 'in-query';
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

/**
 * One error per field, each message naming the field once by its full path ("body.email is required"):
 * joi starts its messages with its own label of the field, which is dropped here, and several
 * complaints about one field (too short and a bad pattern) keep only the first.
 */
export function toFieldErrors(error: Joi.ValidationError, where: string): FieldError[] {
  const byPath = new Map<string, FieldError>();
  for (const d of error.details) {
    // `where` is '' for a bare payload (Socket.io); an error about the payload as a whole names it so.
    const path = [where, ...d.path].filter((p) => p !== '').join('.') || 'payload';
    if (byPath.has(path)) continue;
    const label = d.context?.label;
    const text =
      label !== undefined && d.message.startsWith(`"${label}"`) ? d.message.slice(label.length + 2) : d.message;
    byPath.set(path, fieldError(path, text.trim().replace(/"/g, '')));
  }
  return [...byPath.values()];
}

/**
 * A body that is not JSON never reached the JSON parser, so validating it would answer "name is
 * required" for a name the client did send. Only requests that carry bytes are checked: an empty
 * POST (Content-Length: 0, no type) to a route whose body is optional stays valid.
 */
function refuseNonJsonBody(req: Request): void {
  const length = req.headers['content-length'];
  const carriesBytes = req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
  if (!carriesBytes || req.is('application/json')) return;
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'This route takes a JSON body: send application/json', [
    fieldError('headers.content-type', 'must be application/json'),
  ]);
}

function validatePart(schema: Joi.Schema | undefined, value: unknown, where: string, errors: FieldError[]): unknown {
  if (!schema) return value;
  const result = schema.validate(value ?? {}, OPTIONS);
  if (result.error) errors.push(...toFieldErrors(result.error, where));
  return result.value;
}

export interface MountOptions {
  /**
   * Test mode: every reply a handler returns is checked against what its route declares (status,
   * body schema with its required fields); a mismatch answers 500 naming the route and the field, so
   * the test that hit it fails instead of /openapi.json drifting from behaviour. See reply-check.ts.
   */
  checkReplies?: boolean;
  /** Authentication without the deny-list, for routes with `revocation: 'in-query'` (required if any). */
  authenticateSigned?: RequestHandler;
  /** The app's JSON replacer (stored image keys become URLs, src/http/image-urls.ts). */
  jsonReplacer?: (this: unknown, key: string, value: unknown) => unknown;
}

/**
 * A reply body the handler writes as JSON text itself, for a hot list whose items go from database
 * rows straight to text (no intermediate objects, no replacer walking every key). `write` gets the
 * app's rule for image fields (`imageUrl(key, value)`: the JSON replacer, called as JSON.stringify
 * would call it), so the text says what `JSON.stringify(body, replacer)` of the same values would.
 * In test mode the text is parsed and checked against the route's declared schema like any reply.
 */
export class JsonText {
  constructor(readonly write: (imageUrl: (key: string, value: unknown) => unknown) => string) {}
}

/**
 * Writes a route's JSON reply without `res.json`: that path (res.send) hashed every body for an ETag
 * and checked freshness (conditional GETs no API client of ours makes, and a stale-looking 304 is not
 * what an authenticated answer wants), turned the body into a Buffer for it and re-parsed the
 * Content-Type to set its charset. The answer is the same otherwise; HEAD gets the headers only
 * (node:http drops the body).
 */
function sendJson(res: Response, status: number, json: string): void {
  res.statusCode = status;
  if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

const keep = (_key: string, value: unknown) => value;

/** Mounts declared routes on a router: auth → before → validate → handler → reply. */
export function mountRoutes(
  router: Router,
  specs: RouteSpec[],
  authenticate: RequestHandler,
  options: MountOptions = {},
): void {
  const replacer = options.jsonReplacer;
  const imageUrl = replacer ? (key: string, value: unknown) => replacer.call(undefined, key, value) : keep;
  for (const spec of specs) {
    const chain: RequestHandler[] = [
      (req, res, next) => {
        // Recorded now: Express resets baseUrl once the router is done, before metrics read it.
        res.locals.routeTemplate = `${req.baseUrl}${spec.path}`;
        next();
      },
    ];
    if (spec.auth && spec.revocation === 'in-query') {
      if (!options.authenticateSigned)
        throw new Error(
          `${spec.method.toUpperCase()} ${spec.path} checks revocation in its query: give authenticateSigned`,
        );
      chain.push(options.authenticateSigned);
    } else if (spec.auth) chain.push(authenticate);
    chain.push(...(spec.before ?? []));
    chain.push(async (req, res) => {
      if (spec.body && !spec.upload) refuseNonJsonBody(req);
      const errors: FieldError[] = [];
      const headers = spec.headers ? validatePart(spec.headers, req.headers, 'headers', errors) : {};
      const params = validatePart(spec.params, req.params, 'params', errors);
      const query = validatePart(spec.query, req.query, 'query', errors);
      const body = validatePart(spec.body, req.body, 'body', errors);
      if (errors.length) throw InvalidFields(errors);
      // The values come from the spec's own schemas, which is what the erased `never` stands for.
      const validated = { headers, body, query, params } as Pick<
        RouteContext<never, never, never, never>,
        'headers' | 'body' | 'query' | 'params'
      >;
      const reply = await spec.handler({ ...validated, user: res.locals.user, req, res });
      if (!reply) return;
      const text = reply.body instanceof JsonText ? reply.body.write(imageUrl) : undefined;
      if (options.checkReplies) {
        const errors = replyErrors(spec, text === undefined ? reply : { ...reply, body: JSON.parse(text) });
        if (errors.length) {
          const route = `${spec.method.toUpperCase()} ${res.locals.routeTemplate}`;
          const log = (req as { log?: { error: (o: object, m: string) => void } }).log;
          log?.error({ route, status: reply.status, errors }, 'reply does not match its declared schema');
          throw replyMismatch(route, reply.status, errors);
        }
      }
      if (reply.headers) for (const k in reply.headers) res.setHeader(k, reply.headers[k]);
      if (reply.body === undefined) res.status(reply.status).end();
      else sendJson(res, reply.status, text ?? JSON.stringify(reply.body, options.jsonReplacer));
    });
    router[spec.method](spec.path, ...chain);
  }
}

/**
 * Mounted after every route: a request that reaches it matched no route with its method. When its
 * path matches declared routes with other methods, it answers 405 with those methods in `Allow`;
 * otherwise it passes on (to the 404). Overlapping patterns (`/sitters/me`, `/sitters/:id`) add up.
 */
export function methodNotAllowed(specs: RouteSpec[]): Router {
  const router = Router();
  const methodsOf = new Map<string, Set<string>>();
  for (const spec of specs) {
    const methods = methodsOf.get(spec.path) ?? new Set<string>();
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
    methodsOf.set(spec.path, methods);
  }
  for (const [path, methods] of methodsOf) {
    router.all(path, (_req, res, next) => {
      const allow: Set<string> = res.locals.allowedMethods ?? new Set<string>();
      for (const m of methods) allow.add(m);
      res.locals.allowedMethods = allow;
      next();
    });
  }
  router.use((req, res, next) => {
    const allow: Set<string> | undefined = res.locals.allowedMethods;
    // OPTIONS is answered by the routers themselves (and CORS preflight by its middleware).
    if (!allow || req.method === 'OPTIONS') return next();
    throw MethodNotAllowed(req.method, [...allow]);
  });
  return router;
}
