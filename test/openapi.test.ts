import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import type { RouteSpec } from '../src/http/routes';
import { TestContext, type TestInstance } from './helpers/context';

/**
 * /openapi.json is what client generators read: valid 3.1 (null as a type, never `nullable`), named
 * component schemas, an operationId, a description and examples per operation, and the errors each
 * one can answer. The last test feeds it to a real generator (openapi-typescript) and type-checks a
 * small client against the result, so an invalid or all-optional document fails here.
 */
describe('GET /openapi.json for client generators', () => {
  const ctx = new TestContext();
  let inst: TestInstance;
  let doc: any;
  const ops: Array<{ key: string; op: any; spec: RouteSpec }> = [];

  beforeAll(async () => {
    await ctx.setup();
    inst = await ctx.instance();
    doc = (await inst.http.get('/openapi.json').set('Host', '192.168.0.20:3000').expect(200)).body;
    const specs = new Map<string, RouteSpec>();
    for (const f of inst.pawmate.modules)
      for (const spec of f.routes ?? [])
        specs.set(`${spec.method} /api/v1${spec.path.replace(/:([A-Za-z]+)/g, '{$1}')}`, spec);
    for (const [p, byMethod] of Object.entries<any>(doc.paths))
      for (const [method, op] of Object.entries<any>(byMethod)) {
        const spec = specs.get(`${method} ${p}`);
        if (!spec) throw new Error(`no route for ${method} ${p}`);
        ops.push({ key: `${method.toUpperCase()} ${p}`, op, spec });
      }
  }, 60_000);
  afterAll(() => ctx.close());

  it('is OpenAPI 3.1 with a relative server, so Try-it-out works from any host', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(doc.info.description).toContain('/asyncapi.json');
  });

  it('says null with JSON Schema types, never with 3.0 keywords', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain('"nullable"');
    // Schema-level `example` is 3.0; 3.1 schemas use `examples` (media types keep `example`).
    const misplaced: string[] = [];
    const walk = (node: any, where: string) => {
      if (!node || typeof node !== 'object') return;
      if (where.endsWith('.schema') || where.includes('.properties.')) {
        if ('example' in node) misplaced.push(where);
      }
      for (const [k, v] of Object.entries(node)) walk(v, `${where}.${k}`);
    };
    walk(doc.components.schemas, 'components.schemas');
    expect(misplaced).toEqual([]);
    expect(doc.components.schemas.User.properties.avatarUrl.type).toEqual(['string', 'null']);
  });

  it('names the objects clients use, and refers to them', () => {
    const names = Object.keys(doc.components.schemas);
    for (const n of ['User', 'PublicUser', 'Pet', 'Sitter', 'Reservation', 'Room', 'Message', 'Notification'])
      expect(names).toContain(n);
    for (const n of ['Meetup', 'Post', 'Comment', 'Problem']) expect(names).toContain(n);
    const json = (key: string, status = 200) =>
      ops.find((o) => o.key === key)!.op.responses[status].content['application/json'].schema;
    expect(json('GET /api/v1/users/me')).toEqual({ $ref: '#/components/schemas/User' });
    expect(json('GET /api/v1/pets/{id}')).toEqual({ $ref: '#/components/schemas/Pet' });
    expect(json('GET /api/v1/reservations/{id}')).toEqual({ $ref: '#/components/schemas/Reservation' });
    expect(json('GET /api/v1/notifications').properties.items.items).toEqual({
      $ref: '#/components/schemas/Notification',
    });
    // Inside other components too: a reservation's owner is a PublicUser.
    expect(JSON.stringify(doc.components.schemas.Reservation)).toContain('#/components/schemas/PublicUser');
  });

  it('gives every operation a declared, unique, meaningful operationId and a description', () => {
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ops.filter((o) => !o.spec.operationId).map((o) => o.key)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]{2,40}$/.test(id))).toEqual([]);
    const idOf = (key: string) => ops.find((o) => o.key === key)!.op.operationId;
    expect(idOf('POST /api/v1/auth/login')).toBe('login');
    expect(idOf('GET /api/v1/sitters/search')).toBe('searchSitters');
    expect(idOf('POST /api/v1/reservations/{id}/accept')).toBe('acceptReservation');
    expect(ops.filter((o) => !o.op.summary || o.op.description.length < 10).map((o) => o.key)).toEqual([]);
  });

  it('gives examples that the route itself accepts, and an example for every JSON answer', () => {
    const refused: string[] = [];
    const missing: string[] = [];
    for (const { key, op, spec } of ops) {
      const json = op.requestBody?.content['application/json'];
      if (json) {
        if (json.example === undefined) missing.push(`${key} request`);
        else {
          const { error } = spec.body!.validate(json.example);
          if (error) refused.push(`${key}: ${error.message}`);
        }
      }
      for (const [status, r] of Object.entries<any>(op.responses))
        if (r.content?.['application/json'] && r.content['application/json'].example === undefined)
          missing.push(`${key} ${status}`);
      for (const p of op.parameters ?? []) if (p.example === undefined) missing.push(`${key} ${p.name}`);
    }
    expect(missing).toEqual([]);
    expect(refused).toEqual([]);
  });

  it('documents the errors each operation can answer, from its declaration', () => {
    const statuses = (key: string) =>
      Object.keys(ops.find((o) => o.key === key)!.op.responses).filter((s) => s !== 'default');
    // auth → 401; a body → 400, 413, 415; an id → 404; a limit before the handler → 429.
    expect(statuses('POST /api/v1/pets')).toEqual(expect.arrayContaining(['400', '401', '409', '413', '415']));
    expect(statuses('GET /api/v1/pets/{id}')).toEqual(expect.arrayContaining(['401', '404']));
    expect(statuses('GET /api/v1/pets/{id}')).not.toContain('415');
    expect(statuses('POST /api/v1/auth/login')).toEqual(expect.arrayContaining(['400', '401', '429']));
    expect(statuses('PUT /api/v1/users/me/avatar')).toEqual(expect.arrayContaining(['413', '415', '429']));
    expect(statuses('POST /api/v1/reservations/{id}/accept')).toEqual(
      expect.arrayContaining(['401', '403', '404', '409']),
    );
    expect(statuses('GET /api/v1/sitters/search')).not.toContain('401');
    const rateLimited = doc.components.responses.RateLimited;
    expect(rateLimited.headers['Retry-After']).toBeDefined();
    expect(rateLimited.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    // Every operation ends in a documented error answer besides its successes.
    expect(ops.filter((o) => !Object.keys(o.op.responses).some((s) => /^[45]/.test(s))).map((o) => o.key)).toEqual([]);
  });

  it('generates TypeScript with openapi-typescript that a strict client type-checks against', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-openapi-'));
    try {
      // The generator's own CLI, as a client team runs it (it is an ES module Jest cannot load).
      fs.writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(doc));
      const cli = path.join(path.dirname(require.resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
      await promisify(execFile)(process.execPath, [
        cli,
        path.join(dir, 'openapi.json'),
        '-o',
        path.join(dir, 'pawmate.ts'),
      ]);
      fs.writeFileSync(path.join(dir, 'client.ts'), CLIENT);
      const program = ts.createProgram([path.join(dir, 'client.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
        skipLibCheck: true,
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map(
          (d) =>
            `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
        );
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * A small client written against the generated types. Each line depends on a property of the
 * document: required fields (a plain `number` from `user.id`), nullable ones (`avatarUrl` is not a
 * plain string), named schemas, operationIds, and the problem codes.
 */
const CLIENT = `
import type { components, operations } from './pawmate';

type User = components['schemas']['User'];
type Problem = components['schemas']['Problem'];
type LoginBody = operations['login']['requestBody'] extends { content: { 'application/json': infer B } } ? B : never;
type LoginOk = operations['login']['responses'][200]['content']['application/json'];
type RefreshOk = operations['refreshTokens']['responses'][200]['content']['application/json'];
type SearchQuery = NonNullable<operations['searchSitters']['parameters']['query']>;
type SearchPage = operations['searchSitters']['responses'][200]['content']['application/json'];

async function call<T>(method: string, url: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw (await res.json()) as Problem;
  return (await res.json()) as T;
}

export async function login(email: string, password: string): Promise<{ token: string; refresh: string; user: User }> {
  const body: LoginBody = { email, password };
  const ok = await call<LoginOk>('POST', '/api/v1/auth/login', body);
  const token: string = ok.accessToken;
  const refresh: string = ok.refreshToken;
  const seconds: number = ok.expiresIn;
  const id: number = ok.user.id;
  const nickname: string = ok.user.nickname;
  const email2: string | null = ok.user.email;
  // @ts-expect-error avatarUrl may be null
  const avatar: string = ok.user.avatarUrl;
  void [seconds, id, nickname, email2, avatar];
  return { token, refresh, user: ok.user };
}

export async function refresh(refreshToken: string): Promise<string> {
  const pair = await call<RefreshOk>('POST', '/api/v1/auth/refresh', { refreshToken });
  return pair.accessToken;
}

export async function sitterPages(token: string): Promise<number> {
  const q: SearchQuery = { lat: 37.5665, lng: 126.978 };
  let page = await call<SearchPage>('GET', '/api/v1/sitters/search?lat=' + q.lat + '&lng=' + q.lng, undefined, token);
  let n = page.items.length;
  while (page.nextCursor !== null) {
    const cursor: string = page.nextCursor;
    page = await call<SearchPage>('GET', '/api/v1/sitters/search?cursor=' + cursor, undefined, token);
    n += page.items.length;
  }
  return n;
}

export function isGone(p: Problem): boolean {
  const code: Problem['code'] = p.code;
  return code === 'NOT_FOUND';
}

// @ts-expect-error a login needs a password
export const incomplete: LoginBody = { email: 'mina@example.com' };
// @ts-expect-error not a problem code
export const unknownCode: Problem['code'] = 'NOPE';
`;
