import type Joi from 'joi';
import { AppError, fieldError, type FieldError } from '../errors';
import { toFieldErrors, type Reply, type RouteSpec } from './routes';

/**
 * Test-mode guard that keeps /openapi.json true to behaviour: a reply a handler returns must be one the
 * route declares — its status is listed in `responses`, it has a body exactly when that entry has a
 * schema, and the body (as JSON, the way a client reads it) matches the schema: no undeclared field,
 * every `.required()` field present, every value of its declared type. Replies a handler writes itself
 * (streams, files) and problem+json errors are not route replies and are not looked at.
 */

/** Keys whose presence the schema leaves unsaid: each must say `.required()` or `.optional()`. */
export function undeclaredPresence(schema: Joi.Schema): string[] {
  return walk(schema.describe() as Described, 'body');
}

interface Described {
  type?: string;
  flags?: { presence?: string };
  keys?: Record<string, Described>;
  items?: Described[];
  matches?: { schema?: Described; then?: Described; otherwise?: Described }[];
}

function walk(d: Described, path: string): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(d.keys ?? {})) {
    const at = `${path}.${key}`;
    if (!child.flags?.presence) out.push(at);
    out.push(...walk(child, at));
  }
  for (const item of d.items ?? []) out.push(...walk(item, `${path}[]`));
  for (const m of d.matches ?? []) {
    for (const s of [m.schema, m.then, m.otherwise]) if (s) out.push(...walk(s, path));
  }
  return out;
}

/** Per schema, computed once: the walk only depends on the declaration. */
const presenceOf = new WeakMap<Joi.Schema, string[]>();

const STRICT: Joi.ValidationOptions = { abortEarly: false, convert: false, allowUnknown: false };

/** What is wrong with a reply, field by field; empty when it is what the route declares. */
export function replyErrors(spec: RouteSpec, reply: Reply): FieldError[] {
  const declared = spec.responses[reply.status];
  if (!declared) return [fieldError('status', `${reply.status} is not among the declared responses`)];
  const { schema } = declared;
  if (!schema) {
    return reply.body === undefined ? [] : [fieldError('body', `is sent but status ${reply.status} declares none`)];
  }
  if (reply.body === undefined) return [fieldError('body', `is missing: status ${reply.status} declares one`)];
  let presence = presenceOf.get(schema);
  if (!presence) presenceOf.set(schema, (presence = undeclaredPresence(schema)));
  const errors = presence.map((path) => fieldError(path, 'declares neither .required() nor .optional()'));
  // What the client parses: dates become strings, undefined fields vanish.
  const json: unknown = JSON.parse(JSON.stringify(reply.body));
  const result = schema.validate(json, STRICT);
  if (result.error) errors.push(...toFieldErrors(result.error, 'body'));
  return errors;
}

/** The 500 a drifted reply turns into: the detail names the route, the status and every field. */
export function replyMismatch(route: string, status: number, errors: FieldError[]): AppError {
  const list = errors.map((e) => e.message).join('; ');
  return new AppError('INTERNAL', `Reply of ${route} (${status}) does not match its declared schema: ${list}`, errors);
}
