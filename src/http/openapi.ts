import type Joi from 'joi';
import type { RouteSpec } from './routes';
import { exampleOf } from './examples';
import { NamedSchemas, toJsonSchema, type JsonSchema } from './json-schema';

export interface MountedModule {
  /** Mount point, e.g. `/api/v1`. */
  prefix: string;
  routes: RouteSpec[];
}

export interface OpenApiInfo {
  version: string;
  /** Named schemas (`User`, `Pet`): equal schemas in the document become `$ref`s to them. */
  named?: Record<string, Joi.Schema>;
}

const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details; branch on `code`',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', examples: ['https://pawmate.dev/problems/validation-failed'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'For people; lists every invalid field' },
    code: {
      type: 'string',
      enum: [
        'VALIDATION_FAILED',
        'UNAUTHENTICATED',
        'FORBIDDEN',
        'NOT_FOUND',
        'METHOD_NOT_ALLOWED',
        'CONFLICT',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'RATE_LIMITED',
        'UNAVAILABLE',
        'INTERNAL',
      ],
    },
    errors: {
      type: 'array',
      description: 'One entry per invalid field',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string', examples: ['body.email'] },
          message: { type: 'string', examples: ['body.email is required'] },
        },
      },
    },
    requestId: { type: 'string', description: 'The X-Request-Id of the answer' },
  },
};

/** The error answers, one shared response each; operations refer to the ones that can happen to them. */
const ERRORS: Record<number, { name: string; code: string; title: string; description: string; detail: string }> = {
  400: {
    name: 'ValidationFailed',
    code: 'VALIDATION_FAILED',
    title: 'Validation failed',
    description: 'A field is missing, malformed or out of range; `errors[]` names each one',
    detail: 'Invalid request: body.email is required',
  },
  401: {
    name: 'Unauthenticated',
    code: 'UNAUTHENTICATED',
    title: 'Unauthenticated',
    description:
      'No, invalid, expired or revoked access token (`WWW-Authenticate` says which: refresh on "expired"), or a wrong password',
    detail: 'The access token expired',
  },
  403: {
    name: 'Forbidden',
    code: 'FORBIDDEN',
    title: 'Forbidden',
    description: 'The caller may see this but not make this move (it is the other party’s)',
    detail: 'Only the sitter may accept a reservation',
  },
  404: {
    name: 'NotFound',
    code: 'NOT_FOUND',
    title: 'Not found',
    description: 'It does not exist, or it is not the caller’s to see (ids cannot be probed)',
    detail: 'Resource not found',
  },
  409: {
    name: 'Conflict',
    code: 'CONFLICT',
    title: 'Conflict',
    description: 'The current state forbids it (taken, full, already done, lost race); reload and retry',
    detail: 'The resource already exists',
  },
  413: {
    name: 'PayloadTooLarge',
    code: 'PAYLOAD_TOO_LARGE',
    title: 'Payload too large',
    description: 'JSON bodies are at most 1 MB, uploads at most 10 MB',
    detail: 'The request body exceeds the size limit',
  },
  415: {
    name: 'UnsupportedMediaType',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    description: 'A body that is not application/json, or an upload whose bytes are not an accepted format',
    detail: 'This route takes a JSON body: send application/json',
  },
  429: {
    name: 'RateLimited',
    code: 'RATE_LIMITED',
    title: 'Too many requests',
    description: 'A rate limit was reached; wait `Retry-After` seconds',
    detail: 'Too many requests; retry in 60 s',
  },
  503: {
    name: 'Unavailable',
    code: 'UNAVAILABLE',
    title: 'Service unavailable',
    description: 'A backing service is unreachable or the instance is stopping; retry after `Retry-After` seconds',
    detail: 'A backing service is unavailable; retry shortly',
  },
};

function errorResponses(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, e] of Object.entries(ERRORS)) {
    out[e.name] = {
      description: e.description,
      ...(status === '429' || status === '503'
        ? {
            headers: {
              'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
            },
          }
        : {}),
      content: {
        'application/problem+json': {
          schema: { $ref: '#/components/schemas/Problem' },
          example: {
            type: `https://pawmate.dev/problems/${e.code.toLowerCase().replace(/_/g, '-')}`,
            title: e.title,
            status: Number(status),
            detail: e.detail,
            code: e.code,
            ...(status === '400' ? { errors: [{ path: 'body.email', message: 'body.email is required' }] } : {}),
            requestId: '5d0c0f1e-3b7a-4f0e-9a51-2c8d6e4b7a10',
          },
        },
      },
    };
  }
  return out;
}

/**
 * The errors an operation can answer, read from its declaration: validation (400) when it takes
 * input, 401 with auth, 404 for ids in the path, 413/415 for bodies and uploads, 429 when it has
 * limits before its handler (rate limits, upload budgets), and any status the route declares.
 */
export function errorStatuses(spec: RouteSpec): number[] {
  const out = new Set<number>();
  if (spec.params || spec.query || spec.body || spec.headers || spec.upload) out.add(400);
  if (spec.auth) out.add(401);
  if (spec.params) out.add(404);
  if (spec.body || spec.upload) {
    out.add(413);
    out.add(415);
  }
  if (spec.before?.length || spec.upload) out.add(429);
  for (const s of Object.keys(spec.responses).map(Number)) if (ERRORS[s]) out.add(s);
  out.add(503);
  return [...out].sort((a, b) => a - b);
}

/** `getPets` from `GET /pets`: the fallback for a route that does not name its operation. */
function derivedOperationId(method: string, path: string): string {
  return `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string) => (c ? c.toUpperCase() : ''))}`;
}

/** The first clause of a route's summary, for the short `summary` of its operation. */
function shortSummary(text: string): string {
  const first = text.split(/;|\. |: | \(/)[0].trim();
  return first.length > 80 ? `${first.slice(0, 77)}…` : first;
}

function parametersOf(spec: RouteSpec, names: NamedSchemas, components: Record<string, JsonSchema>): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
    ['header', spec.headers],
  ] as const) {
    if (!schema) continue;
    const obj = toJsonSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, s] of Object.entries(obj.properties ?? {})) {
      const { description, ...shape } = s;
      const param = names.refer(shape);
      out.push({
        name,
        in: where,
        required: where === 'path' || (obj.required ?? []).includes(name),
        ...(description ? { description } : {}),
        schema: param,
        example: exampleOf(param, components, name),
      });
    }
  }
  return out;
}

const apiDescription = [
  'Neighbourhood pet community: sitters, reservations, meetups, chat, notifications, the board.',
  '',
  '* **Realtime** (Socket.io events and the notification stream): [/asyncapi.json](/asyncapi.json) (AsyncAPI 3).',
  '* **Client guide** (sign-in and refresh, errors, pagination, uploads, idempotency, rate limits, reconnects):',
  '  `docs/API.md` in the repository.',
  '* Errors are `application/problem+json` with a stable `code`; lists are `{ items, nextCursor }` with',
  '  `?limit=` (≤ 100) and `?cursor=`.',
].join('\n');

/** OpenAPI 3.1 document built from the same route declarations (and joi schemas) that serve requests. */
export function buildOpenApi(modules: MountedModule[], info: OpenApiInfo) {
  const names = new NamedSchemas(info.named ?? {}, '#/components/schemas/');
  const components: Record<string, JsonSchema> = { Problem: problemSchema, ...names.schemas };
  const schema = (joi: Joi.Schema) => names.refer(toJsonSchema(joi));
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();

  for (const mod of modules) {
    for (const spec of mod.routes) {
      const path = (mod.prefix + spec.path).replace(/:([A-Za-z]+)/g, '{$1}');
      tags.add(spec.tag);
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(spec.responses)) {
        if (ERRORS[Number(status)]) continue; // the shared error response, below
        if (!r.schema) {
          responses[status] = { description: r.description };
          continue;
        }
        const body = schema(r.schema);
        responses[status] = {
          description: r.description,
          content: { 'application/json': { schema: body, example: exampleOf(body, components) } },
        };
      }
      for (const status of errorStatuses(spec)) {
        responses[status] = { $ref: `#/components/responses/${ERRORS[status].name}` };
      }
      responses.default = {
        description: 'Unexpected error (500 INTERNAL, with only the requestId)',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
      const op: Record<string, unknown> = {
        tags: [spec.tag],
        operationId: spec.operationId ?? derivedOperationId(spec.method, path),
        summary: shortSummary(spec.summary),
        description: spec.summary.replace(/\.?$/, '.') + (spec.auth ? '' : ' No token needed.'),
        parameters: parametersOf(spec, names, components),
        responses,
      };
      if (spec.auth) op.security = [{ bearer: [] }];
      if (spec.body) {
        const body = schema(spec.body);
        op.requestBody = {
          required: true,
          content: { 'application/json': { schema: body, example: exampleOf(body, components) } },
        };
      }
      if (spec.upload) {
        op.requestBody = {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: [spec.upload.field],
                properties: {
                  [spec.upload.field]: {
                    type: 'string',
                    format: 'binary',
                    description: 'The file; its bytes decide the type, not its name or Content-Type',
                  },
                },
              },
            },
          },
        };
      }
      (paths[path] ??= {})[spec.method] = op;
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Pawmate API', version: info.version, description: apiDescription },
    // Relative: Swagger UI and clients resolve it against the URL the document came from, so
    // Try-it-out works from localhost, 127.0.0.1, a LAN address or behind a proxy alike.
    servers: [{ url: '/', description: 'The server this document was read from' }],
    tags: [...tags].map((name) => ({ name })),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The accessToken of signup, login, refresh or the provider exchange (15 minutes)',
        },
      },
      schemas: components,
      responses: errorResponses(),
    },
    paths,
  };
}
