import j2s from 'joi-to-swagger';
import type Joi from 'joi';
import type { RouteSpec } from './routes';

export interface MountedModule {
  /** Mount point, e.g. `/api/v1`. */
  prefix: string;
  routes: RouteSpec[];
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

function toSchema(schema: Joi.Schema): Record<string, unknown> {
  return j2s(schema).swagger;
}

function parametersOf(spec: RouteSpec): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
    ['header', spec.headers],
  ] as const) {
    if (!schema) continue;
    const obj = toSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, s] of Object.entries(obj.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (obj.required ?? []).includes(name), schema: s });
    }
  }
  return out;
}

/** OpenAPI 3.1 document built from the same route declarations (and joi schemas) that serve requests. */
export function buildOpenApi(modules: MountedModule[], info: { version: string; serverUrl: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const mod of modules) {
    for (const spec of mod.routes) {
      const path = (mod.prefix + spec.path).replace(/:([A-Za-z]+)/g, '{$1}');
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(spec.responses)) {
        responses[status] = r.schema
          ? { description: r.description, content: { 'application/json': { schema: toSchema(r.schema) } } }
          : { description: r.description };
      }
      responses.default = {
        description: 'Problem (RFC 9457)',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
      const op: Record<string, unknown> = {
        tags: [spec.tag],
        summary: spec.summary,
        operationId: `${spec.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string) => (c ? c.toUpperCase() : ''))}`,
        parameters: parametersOf(spec),
        responses,
      };
      if (spec.auth) op.security = [{ bearer: [] }];
      if (spec.body)
        op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(spec.body) } } };
      if (spec.upload) {
        op.requestBody = {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: [spec.upload.field],
                properties: { [spec.upload.field]: { type: 'string', format: 'binary' } },
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
    info: {
      title: 'Pawmate API',
      version: info.version,
      description: 'Neighbourhood pet community: sitters, reservations, meetups, chat and notifications.',
    },
    servers: [{ url: info.serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}
