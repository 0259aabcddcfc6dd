import j2s from 'joi-to-swagger';
import type Joi from 'joi';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1 and of AsyncAPI 3's default format) as plain data. */
export type JsonSchema = Record<string, unknown>;

/**
 * Converts a joi schema to JSON Schema 2020-12. joi-to-swagger speaks OpenAPI 3.0, whose `nullable`
 * and single `example` are not JSON Schema: a generated client reads `nullable: true` as "never
 * null" under 3.1 and types the field wrong. They become `type: [t, "null"]` (or an `anyOf` with
 * `null`) and `examples: [x]` here, and a regex with flags (`/…/u`) loses the `/u` tail it leaves.
 */
export function toJsonSchema(schema: Joi.Schema): JsonSchema {
  return fix(j2s(schema).swagger) as JsonSchema;
}

function fix(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fix);
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node as JsonSchema)) {
    if (k === 'nullable' || k === 'example') continue;
    out[k] = k === 'pattern' && typeof v === 'string' ? v.replace(/\$\/[a-z]*$/, '$') : fix(v);
  }
  const src = node as JsonSchema;
  if ('example' in src) out.examples = [src.example];
  // joi's `when(…, { then: required })` comes out as alternatives that only say "x-required":
  // they constrain nothing, and generators would make a union of them.
  for (const k of ['oneOf', 'anyOf'] as const) {
    const alts = out[k];
    if (Array.isArray(alts) && alts.every((a) => a && Object.keys(a as object).every((x) => x.startsWith('x-'))))
      delete out[k];
  }
  return src.nullable === true ? orNull(out) : out;
}

/** The same schema, also allowing `null`. */
export function orNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') {
    const out: JsonSchema = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if (Array.isArray(schema.type))
    return schema.type.includes('null') ? schema : { ...schema, type: [...schema.type, 'null'] };
  const { description, ...rest } = schema;
  return { ...(description ? { description } : {}), anyOf: [rest, { type: 'null' }] };
}

/** Plain-data equality (key order ignored): how a named component is recognised in a document. */
export function sameSchema(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameSchema(x, b[i]));
  }
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameSchema((a as JsonSchema)[k], (b as JsonSchema)[k]));
}

/** Keys that describe a use of a schema rather than its shape: kept beside a `$ref`. */
const USE_KEYS = new Set(['description', 'examples', 'default', 'title']);

/**
 * Named schemas of a document (`User`, `Pet`): converted once, then every subschema of the
 * document equal to one of them (its description and examples aside, nullable or not) becomes a
 * `$ref` to it. Recognising them by shape lets modules keep composing joi schemas freely
 * (`petSchema.allow(null)`, `listOf(petSchema)`) while clients get one named type per object.
 */
export class NamedSchemas {
  private readonly shapes: Array<{ name: string; shape: JsonSchema }> = [];
  readonly schemas: Record<string, JsonSchema> = {};

  constructor(
    named: Record<string, Joi.Schema>,
    private readonly refBase: string,
  ) {
    for (const [name, joi] of Object.entries(named)) {
      const shape = toJsonSchema(joi);
      this.schemas[name] = shape;
      this.shapes.push({ name, shape: withoutUse(shape) });
    }
    // Components may contain each other (Reservation holds PublicUser): refer inside them too,
    // never to themselves.
    for (const [name, schema] of Object.entries(this.schemas)) this.schemas[name] = this.refer(schema, name);
  }

  /** `schema` with every named subschema replaced by a reference. */
  refer(schema: JsonSchema, self?: string): JsonSchema {
    return this.walk(schema, self, true) as JsonSchema;
  }

  private walk(node: unknown, self: string | undefined, top: boolean): unknown {
    if (Array.isArray(node)) return node.map((n) => this.walk(n, self, false));
    if (!node || typeof node !== 'object') return node;
    const schema = node as JsonSchema;
    if (!top || self === undefined) {
      const match = this.match(schema, self);
      if (match) return match;
    }
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(schema)) out[k] = this.walk(v, self, false);
    return out;
  }

  private match(schema: JsonSchema, self: string | undefined): JsonSchema | null {
    if (schema.type === undefined && schema.anyOf === undefined) return null;
    const use: JsonSchema = {};
    for (const k of USE_KEYS) if (k in schema) use[k] = schema[k];
    const plain = withoutUse(schema);
    for (const { name, shape } of this.shapes) {
      if (name === self) continue;
      const ref = { $ref: `${this.refBase}${name}` };
      if (sameSchema(plain, shape)) return { ...ref, ...use };
      if (sameSchema(plain, withoutUse(orNull(shape))))
        return { ...(use.description ? { description: use.description } : {}), anyOf: [ref, { type: 'null' }] };
    }
    return null;
  }
}

function withoutUse(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) if (!USE_KEYS.has(k)) out[k] = v;
  return out;
}
