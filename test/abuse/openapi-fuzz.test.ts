import fc from 'fast-check';
import { QueryTypes } from 'sequelize';
import { TestContext, signup, type TestInstance } from '../helpers/context';
import { makeOwner, makeSitter } from '../helpers/fixtures';
import { hostileBody, hostilePathParam, hostileQuery, type JsonSchema } from './arbitraries';
import { checkAnswer, raw } from './raw';

/**
 * Property-based abuse of every route the server documents: the route list and the body and query
 * schemas come from its own /openapi.json, so a new route is covered without touching this file.
 * Properties: never a 5xx, never a stack trace or SQL, every 4xx is problem+json, and a refused
 * request writes nothing (checksums of the data tables unchanged).
 */

const RUNS = Number(process.env.ABUSE_RUNS ?? 15);

interface Operation {
  method: string;
  path: string;
  auth: boolean;
  bodySchema?: JsonSchema;
  multipart: boolean;
  query: string[];
}

let ctx: TestContext;
let api: TestInstance;
let me: Awaited<ReturnType<typeof signup>>;
let otherIds: number[] = [];
const ops: Operation[] = [];
/** Tables whose content a refused request must leave alone (the outbox is the dispatcher's). */
let tables: string[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  const doc = (await api.http.get('/openapi.json').expect(200)).body as {
    paths: Record<
      string,
      Record<
        string,
        {
          security?: unknown;
          requestBody?: { content: Record<string, { schema: JsonSchema }> };
          parameters?: Array<{ in: string; name: string }>;
        }
      >
    >;
  };
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      ops.push({
        method: method.toUpperCase(),
        path,
        auth: !!op.security,
        bodySchema: op.requestBody?.content['application/json']?.schema,
        multipart: !!op.requestBody?.content['multipart/form-data'],
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      });
    }
  }
  // The fuzzing user owns a pet; another user owns a pet and is a sitter: ids worth probing.
  me = await signup(api);
  spare = await newSpare();
  const other = await makeOwner(api);
  const sitter = await makeSitter(api);
  otherIds = [other.pet.id, sitter.sitter.id, sitter.user.user.id, other.owner.user.id];
  tables = (
    await api.sequelize.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT IN ('outbox', 'SequelizeMeta') ORDER BY 1",
      { type: QueryTypes.SELECT },
    )
  ).map((r) => r.t);
  await settle();
}, 60_000);
afterAll(() => ctx.close());

/** Lets background work triggered by accepted requests (outbox: notifications, mail) finish. */
async function settle() {
  await api.pawmate.outbox.drain();
  await new Promise((r) => setTimeout(r, 20));
  await api.pawmate.outbox.drain();
}

async function checksum(): Promise<string> {
  const rows = await api.sequelize.query<{ Table: string; Checksum: number | null }>(
    `CHECKSUM TABLE ${tables.map((t) => `\`${t}\``).join(', ')}`,
    {
      type: QueryTypes.SELECT,
    },
  );
  return rows.map((r) => `${r.Table}=${r.Checksum}`).join(' ');
}

/**
 * Routes that end a login or change the account's credentials whatever the checks say: a valid token
 * on them belongs to a spare user, never to the fuzzing user, so the final "my token still works"
 * check keeps meaning that no other route ended a login. The spare is replaced when its login ends.
 */
const ACCOUNT_ROUTES = new Set([
  'DELETE /api/v1/users/me',
  'POST /api/v1/auth/logout',
  'DELETE /api/v1/users/me/sessions/{id}',
  'POST /api/v1/users/me/password',
  'POST /api/v1/users/me/email',
  'DELETE /api/v1/users/me/identities/{provider}',
]);

interface Login {
  accessToken: string;
  sessionId: number;
}
let spare: Login;

/** A fresh user for ACCOUNT_ROUTES, with its own session id so "end this login" can succeed too. */
async function newSpare(): Promise<Login> {
  const user = await signup(api);
  const sessions = await api.http
    .get('/api/v1/users/me/sessions')
    .set('Authorization', `Bearer ${user.accessToken}`)
    .expect(200);
  return { accessToken: user.accessToken, sessionId: (sessions.body as { items: Array<{ id: number }> }).items[0].id };
}

async function stillLoggedIn(accessToken: string): Promise<boolean> {
  const reply = await raw(api.url, {
    method: 'GET',
    path: '/api/v1/users/me',
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  return reply.status === 200;
}

type AuthMode = 'none' | 'valid' | 'garbage' | 'alg-none';

function authHeader(mode: AuthMode, token: string): Record<string, string> {
  switch (mode) {
    case 'none':
      return {};
    case 'valid':
      return { Authorization: `Bearer ${token}` };
    case 'garbage':
      return { Authorization: 'Bearer eyJ.bad.token' };
    case 'alg-none': {
      const [, payload] = token.split('.');
      return { Authorization: `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.` };
    }
  }
}

describe('the checks themselves', () => {
  // The property below can only fail if these do: a 500, a leak, a bare 4xx and a write are caught.
  const reply = (status: number, type: string, text: string) => ({
    status,
    headers: { 'content-type': type },
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    })(),
    ms: 0,
  });
  it('flags 5xx, stack traces, SQL errors and 4xx that are not problem+json', () => {
    expect(
      checkAnswer(reply(500, 'application/problem+json', '{"status":500,"code":"INTERNAL","title":"x"}'), 'x'),
    ).toMatch(/500/);
    expect(
      checkAnswer(
        reply(
          400,
          'application/problem+json',
          '{"status":400,"code":"X","title":"x","detail":"at foo (/app/src/x.ts:1:2)"}',
        ),
        'x',
      ),
    ).toMatch(/leaks/);
    expect(
      checkAnswer(
        reply(409, 'application/problem+json', '{"status":409,"code":"X","title":"x","detail":"ER_DUP_ENTRY"}'),
        'x',
      ),
    ).toMatch(/leaks/);
    expect(checkAnswer(reply(404, 'text/html', 'Cannot GET /'), 'x')).toMatch(/content-type/);
    expect(
      checkAnswer(
        reply(400, 'application/problem+json', '{"status":400,"code":"X","title":"x","errors":[{"path":"email"}]}'),
        'x',
      ),
    ).toMatch(/error path/);
    expect(
      checkAnswer(
        reply(
          400,
          'application/problem+json',
          '{"status":400,"code":"X","title":"x","errors":[{"path":"body.email"}]}',
        ),
        'x',
      ),
    ).toBeNull();
  });

  it('sees a write in the table checksums', async () => {
    const before = await checksum();
    await api.http
      .patch('/api/v1/users/me')
      .set('Authorization', `Bearer ${me.accessToken}`)
      .send({ bio: `changed ${Date.now()}` })
      .expect(200);
    expect(await checksum()).not.toBe(before);
  });
});

describe('every documented route, under random and malformed input', () => {
  it('reads the route list from /openapi.json', () => {
    expect(ops.length).toBeGreaterThan(40);
    expect(ops.some((o) => o.method === 'POST' && o.path === '/api/v1/reservations')).toBe(true);
  });

  it('never answers 5xx, a stack trace or SQL; 4xx are problem+json; refused requests write nothing', async () => {
    const failures: string[] = [];
    let refused = 0;
    let accepted = 0;
    for (const op of ops) {
      const key = `${op.method} ${op.path}`;
      const params = op.path.match(/\{[^}]+\}/g) ?? [];
      const onAccount = ACCOUNT_ROUTES.has(key);
      const modes: AuthMode[] = op.auth ? ['none', 'valid', 'valid', 'garbage', 'alg-none'] : ['none', 'garbage'];
      const arb = fc.record({
        ids: fc.array(
          fc.oneof(
            { weight: 4, arbitrary: hostilePathParam },
            { weight: 1, arbitrary: fc.constantFrom(...otherIds.map(String)) },
            // The spare's own login: ending it is allowed, and a fresh spare takes its place below.
            ...(onAccount ? [{ weight: 1, arbitrary: fc.constant('spare') }] : []),
          ),
          {
            minLength: params.length,
            maxLength: params.length,
          },
        ),
        query: hostileQuery(op.query),
        body: hostileBody(op.bodySchema),
        withBody: fc.boolean(),
        auth: fc.constantFrom(...modes),
      });
      await fc.assert(
        fc.asyncProperty(arb, async (c) => {
          let i = 0;
          const path =
            op.path.replace(/\{[^}]+\}/g, () => {
              const id = c.ids[i++];
              return id === 'spare' ? String(spare.sessionId) : id;
            }) + c.query;
          const sendBody = op.method !== 'GET' && (c.withBody || !!op.bodySchema || op.multipart);
          const before = await checksum();
          const reply = await raw(api.url, {
            method: op.method,
            path,
            headers: {
              ...authHeader(c.auth, onAccount ? spare.accessToken : me.accessToken),
              ...(sendBody && c.body.contentType ? { 'Content-Type': c.body.contentType } : {}),
            },
            body: sendBody ? c.body.text : undefined,
          });
          const what = `${op.method} ${path.slice(0, 200)} [auth ${c.auth}] body ${sendBody ? c.body.text.slice(0, 120) : '-'}`;
          const problem = checkAnswer(reply, what);
          if (problem) failures.push(problem);
          if (reply.status >= 400) {
            refused++;
            const after = await checksum();
            if (after !== before)
              failures.push(`${what}: refused with ${reply.status} but wrote (${diff(before, after)})`);
          } else {
            accepted++;
            await settle();
          }
          if (onAccount && !(await stillLoggedIn(spare.accessToken))) spare = await newSpare();
          // Collect instead of throwing: one run shows every route that misbehaves.
          return true;
        }),
        { numRuns: RUNS, seed: process.env.ABUSE_SEED ? Number(process.env.ABUSE_SEED) : undefined },
      );
    }
    // The fuzzing user's token still works: nothing above ended its login.
    expect(await stillLoggedIn(me.accessToken)).toBe(true);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(refused).toBeGreaterThan(ops.length * RUNS * 0.8);
    // Reported by the run (see docs/RELIABILITY.md): how many hostile requests were tried.
    process.stdout.write(
      `abuse: ${ops.length} routes, ${refused + accepted} requests, ${refused} refused, ${accepted} accepted\n`,
    );
  }, 240_000);
});

function diff(a: string, b: string): string {
  const as = a.split(' ');
  const bs = new Set(b.split(' '));
  return as
    .filter((x) => !bs.has(x))
    .map((x) => x.split('=')[0])
    .join(', ');
}
