import fs from 'node:fs';
import path from 'node:path';
import { API_PREFIX } from '../src/app';
import type { RouteSpec } from '../src/http/routes';
import { NOTIFICATION_TYPES } from '../src/modules/notifications/notifications.schemas';
import { SOCKET_EVENT_DOCS, STREAM_DOCS } from '../src/modules/realtime.docs';
import { TestContext, type TestInstance } from './helpers/context';

/**
 * docs/API.md is the client guide: every route the app serves has an entry there, a heading
 * `#### METHOD /path` (relative to /api/v1), and every entry is a route the app serves. The routes
 * come from the app's own route table (what mountRoutes mounts), so a route added without its
 * entry, or removed while its entry stays, fails here.
 */
const GUIDE = path.join(__dirname, '..', 'docs', 'API.md');
const ENTRY = /^#{2,6}\s+`?(GET|POST|PUT|PATCH|DELETE) (\/[^\s`]*)`?\s*$/;

/** `/posts/:id/photos/:photoId` and `/posts/{id}/photos/{photoId}` are one route: parameter names aside. */
const normalize = (method: string, p: string) =>
  `${method.toUpperCase()} ${p.replace(/:[A-Za-z_]+|\{[A-Za-z_]+\}/g, '{}').replace(/\/$/, '')}`;

interface Entry {
  key: string;
  line: number;
  heading: string;
  text: string;
}

/** The route entries of the guide, each with the text up to the next heading. */
function guideEntries(markdown: string): Entry[] {
  const lines = markdown.split('\n');
  const out: Entry[] = [];
  let current: Entry | null = null;
  let fence = false;
  lines.forEach((line, i) => {
    if (line.startsWith('```')) fence = !fence;
    if (fence) {
      if (current) current.text += `${line}\n`;
      return;
    }
    const m = ENTRY.exec(line);
    if (m) {
      current = { key: normalize(m[1], m[2]), line: i + 1, heading: line, text: '' };
      out.push(current);
    } else if (/^#{1,6}\s/.test(line)) current = null;
    else if (current) current.text += `${line}\n`;
  });
  return out;
}

/** The app's route table: every declared route of every module, as mounted under the API prefix. */
function appRoutes(inst: TestInstance): Array<{ key: string; spec: RouteSpec }> {
  return inst.pawmate.modules.flatMap((f) =>
    (f.routes ?? []).map((spec) => ({ key: normalize(spec.method, spec.path), spec })),
  );
}

describe('docs/API.md lists every route the app serves', () => {
  const ctx = new TestContext();
  let inst: TestInstance;
  const entries = guideEntries(fs.readFileSync(GUIDE, 'utf8'));

  beforeAll(async () => {
    await ctx.setup();
    inst = await ctx.instance();
  }, 60_000);
  afterAll(() => ctx.close());

  it('reads entries from the guide (the format this test expects is in use)', () => {
    expect(entries.length).toBeGreaterThan(50);
    expect(guideEntries('#### GET /pets/{id}\nBearer\n### Other\ntext').map((e) => [e.key, e.text.trim()])).toEqual([
      ['GET /pets/{}', 'Bearer'],
    ]);
  });

  it('has an entry for every route of the app', () => {
    const documented = new Set(entries.map((e) => e.key));
    const missing = appRoutes(inst)
      .filter((r) => !documented.has(r.key))
      .map(
        (r) => `${r.spec.method.toUpperCase()} ${r.spec.path.replace(/:([A-Za-z]+)/g, '{$1}')}  (${r.spec.summary})`,
      );
    // Add a `#### METHOD /path` entry under its module's section of docs/API.md for each of these.
    expect(missing).toEqual([]);
  });

  it('lists no route the app does not serve, and each route once', () => {
    const served = new Set(appRoutes(inst).map((r) => r.key));
    expect(entries.filter((e) => !served.has(e.key)).map((e) => `line ${e.line}: ${e.heading}`)).toEqual([]);
    const seen = new Set<string>();
    expect(entries.filter((e) => (seen.has(e.key) ? true : (seen.add(e.key), false))).map((e) => e.heading)).toEqual(
      [],
    );
  });

  it('says Bearer for the routes that need a token and Public for the others', () => {
    const byKey = new Map(entries.map((e) => [e.key, e]));
    const wrong: string[] = [];
    for (const { key, spec } of appRoutes(inst)) {
      const entry = byKey.get(key);
      if (!entry) continue;
      // The notification stream checks its token itself (header or ?access_token= for EventSource).
      const says = spec.auth ? /\bBearer\b/ : /\bPublic\b|access_token/;
      if (!says.test(entry.text)) wrong.push(`${entry.heading} should say ${spec.auth ? 'Bearer' : 'Public'}`);
    }
    expect(wrong).toEqual([]);
  });

  it('names every notification type, Socket.io event and SSE event the server has', () => {
    const guide = fs.readFileSync(GUIDE, 'utf8');
    const names = [
      ...NOTIFICATION_TYPES,
      ...Object.keys(SOCKET_EVENT_DOCS.client),
      ...Object.keys(SOCKET_EVENT_DOCS.server),
      ...STREAM_DOCS.flatMap((d) => Object.keys(d.events)),
    ];
    expect(names.filter((n) => !guide.includes(`\`${n}\``))).toEqual([]);
  });

  it('mounts every route under the prefix the guide names', () => {
    expect(fs.readFileSync(GUIDE, 'utf8')).toContain(`Base path** \`${API_PREFIX}\``);
  });
});
