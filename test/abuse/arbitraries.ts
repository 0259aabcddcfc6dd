import fc from 'fast-check';

/** fast-check arbitraries for hostile input, driven by the JSON schemas of /openapi.json. */

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

/** Ids no route may take for a real one, nor crash on. */
export const hostileIds = [
  '-1',
  '0',
  '9007199254740992',
  '9007199254740993',
  '4294967296',
  '1e3',
  '1.5',
  'abc',
  '0x10',
  '%201',
  'NaN',
  'Infinity',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%00',
  '1%00',
  "1'",
  '1;',
  '%7B%7D',
  '[]',
  'null',
  'true',
];

/** Nested arrays `depth` deep, as a string (JSON.stringify of a real one would recurse too). */
export const deepJson = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

const unicode = fc.constantFrom(
  '\u0000',
  '\u0007bell',
  '\uD800',
  '\uDFFF lone',
  '\u202Eevil\u202C',
  'e\u0301',
  '🐶🐱'.repeat(40),
  '\uFEFF',
  '\u2028\u2029',
  'ß'.repeat(100),
  'Ｆｕｌｌ',
  '𝓤𝓷𝓲',
  '\r\n\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  '%s%s%n',
  '${7*7}',
  '{{7*7}}',
);

/** A JSON value of the wrong kind for almost any field. */
export const malformedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.1, 4294967296),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  unicode,
  fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  fc.integer({ min: 1, max: 60 }).map((d) => {
    let v: unknown = 'deep';
    for (let i = 0; i < d; i++) v = [v];
    return v;
  }),
  fc.constantFrom(
    { $gt: '' },
    { $ne: null },
    ['a', 'b'],
    {},
    [],
    '',
    ' ',
    '2026-02-30',
    '9999-99-99',
    '1970-01-01T00:00:00Z',
  ),
);

/** A value that fits `schema` (so that other fields' malformations are what gets tested). */
export function validValue(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema) return fc.string({ maxLength: 10 });
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1000, -(2 ** 31)),
        max: Math.min(schema.maximum ?? 1000, 2 ** 31),
      });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1000,
        max: schema.maximum ?? 1000,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(validValue(schema.items), { minLength: 1, maxLength: 3 });
    case 'object': {
      const props = Object.entries(schema.properties ?? {});
      if (!props.length) return fc.constant({});
      return fc.record(Object.fromEntries(props.map(([k, s]) => [k, validValue(s)])), {
        requiredKeys: schema.required ?? [],
      });
    }
    case 'string':
    default:
      if (schema.format === 'email') return fc.emailAddress();
      return fc.string({
        minLength: Math.max(1, schema.minLength ?? 1),
        maxLength: Math.max(1, Math.min(schema.maxLength ?? 20, 20)),
      });
  }
}

/** Fields mass assignment would love to find. */
const sneakyKeys = [
  'id',
  'userId',
  'ownerId',
  'isAdmin',
  'role',
  'emailVerified',
  'passwordHash',
  'createdAt',
  'status',
  'constructor',
  '__proto__',
];

/** A JSON object for `schema` where each field is absent, valid or malformed, plus sneaky extras. */
export function hostileObject(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const fields = Object.fromEntries(
    props.map(([k, s]) => [
      k,
      fc.oneof({ weight: 1, arbitrary: validValue(s) }, { weight: 2, arbitrary: malformedValue }),
    ]),
  );
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom(...sneakyKeys), malformedValue, { maxKeys: 3 }),
    )
    .map(([a, b]) => ({ ...b, ...a }));
}

export interface BodyCase {
  contentType: string | null;
  text: string;
}

/** A whole request body: a hostile object, or something that is not an object at all. */
export function hostileBody(schema: JsonSchema | undefined): fc.Arbitrary<BodyCase> {
  const json = (v: unknown) => ({ contentType: 'application/json', text: JSON.stringify(v) ?? 'null' });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: (schema
        ? hostileObject(schema)
        : fc.dictionary(fc.string({ maxLength: 8 }), malformedValue, { maxKeys: 4 })
      ).map(json),
    },
    { weight: 2, arbitrary: malformedValue.map(json) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { contentType: 'application/json', text: '{"email": ' },
        { contentType: 'application/json', text: '{"a":1}{"b":2}' },
        { contentType: 'application/json', text: '\uFEFF{}' },
        { contentType: 'application/json', text: deepJson(5000) },
        { contentType: 'application/json', text: deepJson(2000, '{"a":', '}').replace(/}+$/, (m) => `1${m}`) },
        { contentType: 'application/json; charset=utf-16', text: '{}' },
        { contentType: 'text/plain', text: 'hello' },
        { contentType: 'application/x-www-form-urlencoded', text: 'email=a%40b.c&password[]=x' },
        {
          contentType: 'multipart/form-data; boundary=zz',
          text: '--zz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nnot an image\r\n--zz--\r\n',
        },
        { contentType: 'multipart/form-data', text: 'no boundary' },
        { contentType: null, text: '{"name":"x"}' },
      ),
    },
  );
}

/** Query strings: declared parameters with wrong kinds, repeated keys and bracket syntax. */
export function hostileQuery(names: string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom(...hostileIds),
    fc.string({ maxLength: 30 }),
    unicode,
    fc.nat({ max: 5000 }).map((n) => 'q'.repeat(n)),
  );
  const pair = fc.tuple(
    names.length
      ? fc.oneof(
          fc.constantFrom(...names),
          fc.constantFrom(...names).map((n) => `${n}[$gt]`),
          fc.string({ maxLength: 6 }),
        )
      : fc.string({ maxLength: 6 }),
    value,
  );
  return fc.array(pair, { maxLength: 6 }).map((pairs) => {
    const q = new URLSearchParams();
    for (const [k, v] of pairs) q.append(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  });
}

/** A path parameter: a hostile id (raw, not re-encoded) or a random string (encoded). */
export const hostilePathParam = fc.oneof(
  fc.constantFrom(...hostileIds),
  fc.constantFrom('..', '../..', './'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
  fc.nat({ max: 2000 }).map((n) => '9'.repeat(n)),
);
