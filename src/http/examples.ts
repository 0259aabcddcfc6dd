import type { JsonSchema } from './json-schema';

/**
 * A plausible example value for a JSON Schema, for /openapi.json: field names pick realistic values
 * (an e-mail, Seoul coordinates, a calendar day), and the schema's own bounds, enums, patterns and
 * examples are kept. A joi `.example()` on a field wins over everything here.
 */
export function exampleOf(schema: JsonSchema, components: Record<string, JsonSchema>, name = ''): unknown {
  return build(schema, components, name, 0);
}

const DAY = '2026-05-01';
const INSTANT = '2026-05-01T09:00:00.000Z';
const TOKEN = 'kqX3Yv9b6t2fJ0pW8mZr4sLh1cNd7gQe5aUoBiTyRw0';

/** By field name, for strings without a format or pattern that decides. */
const STRING_BY_NAME: Array<[RegExp, string]> = [
  [/^email$|Email$/, 'mina@example.com'],
  [/^(password|newPassword|currentPassword)$/, 'correct horse battery'],
  [/^nickname$/, 'Mina'],
  [/token$|Token$/i, TOKEN],
  [/^code$/, 'q1w2e3r4t5y6u7i8o9p0'],
  [/^codeVerifier$|^codeChallenge$/, TOKEN],
  [/^clientId$/, '4f6c2a9e-8d1b-4c57-9a3e-0b7d5f2c1e84'],
  [/^cursor$|^nextCursor$/, 'eyJpZCI6NDJ9'],
  [/Url$|^url$/, 'https://api.pawmate.example/uploads/avatars/42.webp'],
  [/^redirectUri$/, 'https://pawmate.example/signed-in'],
  [/^address$/, '110 Sejong-daero, Jung-gu, Seoul'],
  [/^headline$/, 'Calm home with a garden, 10 years with dogs'],
  [/^title$/, 'Morning walk at Yeouido'],
  [/^(body|bio|description|comment|note|notes|detail|caption)$/, 'Happy to help with walks on weekdays.'],
  [/^name$/, 'Bori'],
  [/^breed$/, 'Jindo'],
  [/^(tag|q)$/, 'walk'],
  [/^(userAgent)$/, 'Mozilla/5.0'],
  [/^provider$/, 'kakao'],
  [/^displayName$/, 'Kakao'],
  [/^(reason|cancelReason)$/, 'Plans changed'],
];

function stringExample(schema: JsonSchema, name: string): string {
  if (schema.format === 'date-time' || /At$/.test(name)) return INSTANT;
  if (schema.format === 'email') return 'mina@example.com';
  if (schema.format === 'uri') return 'https://pawmate.example/';
  const pattern = typeof schema.pattern === 'string' ? schema.pattern : '';
  if (pattern.includes('\\d{4}-\\d{2}-\\d{2}') || /Date$|^date$|^(from|to)$/.test(name)) return DAY;
  let value = STRING_BY_NAME.find(([re]) => re.test(name))?.[1];
  if (pattern && (!value || !safeTest(pattern, value))) value = fromPattern(pattern);
  value ??= 'text';
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  while (value.length < min) value += value;
  return value.slice(0, max);
}

/** A value for the patterns the schemas use; a pattern not listed here gets the field-name value. */
function fromPattern(pattern: string): string | undefined {
  const candidates = ['walk', 'kakao', 'Idem-7f3a9c', TOKEN, 'abc-123', 'Bori'];
  return candidates.find((c) => safeTest(pattern, c));
}

function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return false;
  }
}

function numberExample(schema: JsonSchema, name: string): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -Infinity;
  const max = typeof schema.maximum === 'number' ? schema.maximum : Infinity;
  const byName: Array<[RegExp, number]> = [
    [/^lat$/, 37.5665],
    [/^lng$/, 126.978],
    [/^radiusKm$/, 5],
    [/^distanceKm$/, 1.25],
    [/rating$|Rating$|^average$/, 4.5],
    [/^limit$/, 20],
    [/[pP]rice$|^boarding$|^daycare$|^walking$|^drop_in$/, 30000],
    [/Count$|^count$/, 3],
    [/^capacity$/, 6],
    [/^maxPets$/, 2],
    [/^expiresIn$/, 900],
    [/[iI]d$|^id$/, 42],
  ];
  let value = byName.find(([re]) => re.test(name))?.[1] ?? 1;
  if (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer')))
    value = Math.round(value);
  return Math.min(max, Math.max(min, value));
}

function firstType(schema: JsonSchema): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) return (schema.type as string[]).find((t) => t !== 'null');
  return undefined;
}

function build(schema: JsonSchema, components: Record<string, JsonSchema>, name: string, depth: number): unknown {
  if (depth > 12) return null;
  if (typeof schema.$ref === 'string') {
    const target = components[schema.$ref.replace('#/components/schemas/', '')];
    return target ? build(target, components, name, depth + 1) : null;
  }
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.find((v) => v !== null) ?? null;
  if (schema.default !== undefined) return schema.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const first = (options as JsonSchema[]).find((o) => o.type !== 'null') ?? options[0];
      return build(first as JsonSchema, components, name, depth + 1);
    }
  }
  switch (firstType(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      for (const [k, v] of Object.entries(props)) out[k] = build(v, components, k, depth + 1);
      return out;
    }
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      // A set of choices (services, sizes): every choice, so fields that depend on them are consistent.
      if (Array.isArray(items.enum)) {
        const max = typeof schema.maxItems === 'number' ? schema.maxItems : items.enum.length;
        return items.enum.filter((v) => v !== null).slice(0, max);
      }
      const item = build(items, components, name.replace(/s$/, ''), depth + 1);
      const n = Math.max(1, typeof schema.minItems === 'number' ? schema.minItems : 1);
      return Array.from({ length: n }, (_, i) => (typeof item === 'string' && i > 0 ? `${item}${i}` : item));
    }
    case 'string':
      return stringExample(schema, name);
    case 'integer':
    case 'number':
      return numberExample(schema, name);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}
