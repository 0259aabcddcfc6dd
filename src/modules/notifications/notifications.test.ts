import { QueryTypes } from 'sequelize';
import http from 'node:http';
import {
  TestContext,
  ManualClock,
  signup,
  bearer,
  PASSWORD,
  type TestInstance,
  startContext,
} from '../../../test/helpers/context';
import { connectRedis } from '../../infra/redis';
import { EventSource } from 'eventsource';
import type { NotifyInput } from './notifications.service';
import type { NotificationsModule } from './notifications.module';
import type { StoredNotification } from './notifications.repository';
import { CHANNEL_USER } from './notifications.stream';
import { NOTIFICATION_TYPES } from './notifications.schemas';

// --- a real SSE client over HTTP ------------------------------------------------------------------

interface SseMessage {
  id?: string;
  event: string;
  data: any;
}

interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseMessage[];
  retries: number[];
  comments: string[];
  ended: boolean;
  /** Body of a non-200 answer (problem+json). */
  body: string;
  res: http.IncomingMessage;
  next(filter?: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  notifications(): any[];
  close(): void;
}

function openStream(
  inst: TestInstance,
  opts: {
    token?: string;
    queryToken?: string;
    lastEventId?: string | number;
    queryLastEventId?: string | number;
    pause?: boolean;
  } = {},
): Promise<SseClient> {
  const params = new URLSearchParams();
  if (opts.queryToken) params.set('access_token', opts.queryToken);
  if (opts.queryLastEventId !== undefined) params.set('lastEventId', String(opts.queryLastEventId));
  const qs = params.toString();
  // Accept-Encoding as browsers send it: the stream must still come uncompressed.
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Accept-Encoding': 'gzip, deflate, br' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.lastEventId !== undefined) headers['Last-Event-ID'] = String(opts.lastEventId);
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${inst.url}/api/v1/notifications/stream${qs ? `?${qs}` : ''}`,
      { headers, agent: false },
      (res) => {
        let buf = '';
        let cursor = 0;
        const client: SseClient = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events: [],
          retries: [],
          comments: [],
          ended: false,
          body: '',
          res,
          async next(filter = () => true, timeoutMs = 3000) {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
              while (cursor < client.events.length) {
                const m = client.events[cursor++];
                if (filter(m)) return m;
              }
              if (client.ended) throw new Error('stream ended while waiting for an event');
              if (Date.now() > deadline)
                throw new Error(
                  `no event within ${timeoutMs} ms; got ${JSON.stringify(client.events.map((e) => e.event))}`,
                );
              await sleep(10);
            }
          },
          async waitFor(pred, timeoutMs = 3000) {
            const deadline = Date.now() + timeoutMs;
            while (!pred()) {
              if (Date.now() > deadline) throw new Error('condition not met in time');
              await sleep(10);
            }
          },
          notifications: () => client.events.filter((e) => e.event === 'notification').map((e) => e.data),
          close: () => {
            req.destroy();
            client.ended = true;
          },
        };
        res.setEncoding('utf8');
        if (opts.pause) res.pause();
        res.on('data', (chunk: string) => {
          if (client.status !== 200) {
            client.body += chunk;
            return;
          }
          buf += chunk;
          let idx: number;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            const msg: Partial<SseMessage> & { dataLines: string[] } = { dataLines: [] };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
              else if (line.startsWith('retry: ')) client.retries.push(Number(line.slice(7)));
              else if (line.startsWith('id: ')) msg.id = line.slice(4);
              else if (line.startsWith('event: ')) msg.event = line.slice(7);
              else if (line.startsWith('data: ')) msg.dataLines.push(line.slice(6));
            }
            if (msg.dataLines.length)
              client.events.push({
                id: msg.id,
                event: msg.event ?? 'message',
                data: JSON.parse(msg.dataLines.join('\n')),
              });
          }
        });
        const end = () => {
          client.ended = true;
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        if (client.status !== 200) res.on('end', () => resolve(client));
        else resolve(client);
      },
    );
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- setup ----------------------------------------------------------------------------------------

let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
const open: SseClient[] = [];
const track = async (p: Promise<SseClient>) => {
  const c = await p;
  open.push(c);
  return c;
};

const svc = (inst: TestInstance) => inst.pawmate.services.notifications;
const mod = (inst: TestInstance) => inst.pawmate.modules.find((m) => m.name === 'notifications') as NotificationsModule;
const note = (recipientId: number, n: number | string, extra: Partial<NotifyInput> = {}): NotifyInput => ({
  recipientId,
  type: 'comment.new',
  title: `Comment ${n}`,
  body: `Body ${n}`,
  data: { n },
  ...extra,
});

beforeAll(async () => {
  [ctx, a, b] = await startContext({}, 2);
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(async () => {
  await ctx.close();
});

// --- tests ----------------------------------------------------------------------------------------

describe('stream authentication and first event', () => {
  it('answers 401 problem+json without a token or with a bad one', async () => {
    const none = await openStream(a);
    expect(none.status).toBe(401);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    const bad = await openStream(a, { queryToken: 'not.a.jwt' });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a ?access_token= past the documented 4096 characters, even one that verifies', async () => {
    const u = await signup(a);
    const jwt = await import('jsonwebtoken');
    const claims = JSON.parse(Buffer.from(u.accessToken.split('.')[1], 'base64url').toString());
    // Signed with the server's own key: only its length is wrong.
    const long = jwt.sign({ ...claims, pad: 'x'.repeat(4000) }, ctx.config.jwtSecret);
    expect(long.length).toBeGreaterThan(4096);
    const res = await openStream(a, { queryToken: long });
    expect(res.status).toBe(401);
    // The same claims at a normal length open the stream.
    const fine = await track(openStream(a, { queryToken: jwt.sign(claims, ctx.config.jwtSecret) }));
    expect(fine.status).toBe(200);
  });

  it('accepts ?access_token= and sends retry, then unread-count first, with streaming headers', async () => {
    const u = await signup(a);
    await svc(a).notify(note(u.user.id, 1));
    await svc(a).notify(note(u.user.id, 2));
    const s = await track(openStream(b, { queryToken: u.accessToken }));
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers['cache-control']).toMatch(/no-cache/);
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['content-encoding']).toBeUndefined();
    expect(s.headers.connection).toBe('keep-alive');
    // Document-only security headers are left out (kept for the stream's life otherwise); nosniff stays.
    expect(s.headers['content-security-policy']).toBeUndefined();
    expect(s.headers['x-frame-options']).toBeUndefined();
    expect(s.headers['x-content-type-options']).toBe('nosniff');
    const first = await s.next();
    expect(first).toEqual({ id: undefined, event: 'unread-count', data: { count: 2 } });
    expect(s.retries.length).toBe(1);
    expect(s.retries[0]).toBeGreaterThanOrEqual(1000);
    // On connect only the count: no replay without Last-Event-ID.
    await sleep(200);
    expect(s.notifications()).toHaveLength(0);
  });

  it('accepts the Bearer header', async () => {
    const u = await signup(a);
    const s = await track(openStream(a, { token: u.accessToken }));
    expect(s.status).toBe(200);
    expect((await s.next()).data).toEqual({ count: 0 });
  });

  it('is documented in /openapi.json', async () => {
    const doc = await a.http.get('/openapi.json').expect(200);
    expect(doc.body.paths['/api/v1/notifications/stream'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['access_token', 'lastEventId']),
    );
  });
});

describe('live delivery', () => {
  it('reaches every stream of the user on every instance within a second, and nobody else', async () => {
    const u = await signup(a);
    const other = await signup(a);
    const onB1 = await track(openStream(b, { token: u.accessToken }));
    const onB2 = await track(openStream(b, { token: u.accessToken }));
    const onA = await track(openStream(a, { token: u.accessToken }));
    const stranger = await track(openStream(b, { token: other.accessToken }));
    for (const s of [onB1, onB2, onA, stranger]) await s.next();

    const started = Date.now();
    const created = await svc(a).notify(note(u.user.id, 'live', { data: { roomId: 7, nested: { ok: true } } }));
    expect(created).not.toBeNull();
    for (const s of [onB1, onB2, onA]) {
      const ev = await s.next((m) => m.event === 'notification', 1000);
      expect(ev.id).toBe(String(created!.id));
      expect(ev.data).toEqual({
        id: created!.id,
        type: 'comment.new',
        title: 'Comment live',
        body: 'Body live',
        data: { roomId: 7, nested: { ok: true } },
        readAt: null,
        createdAt: expect.any(String),
      });
    }
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(150);
    expect(stranger.notifications()).toHaveLength(0);
  });

  it('reaches only the instances that hold a stream of the user: another instance hears nothing', async () => {
    const u = await signup(a);
    const onA = await track(openStream(a, { token: u.accessToken }));
    await onA.next();
    // Earlier tests' streams are gone once their instances have seen the clients leave.
    await onA.waitFor(() => b.pawmate.bus.keyedCountOf(CHANNEL_USER) === 0);
    expect(a.pawmate.bus.keyedCountOf(CHANNEL_USER)).toBeGreaterThanOrEqual(1);
    const heardA = a.pawmate.bus.received;
    const heardB = b.pawmate.bus.received;
    const created = await svc(b).notify(note(u.user.id, 'routed'));
    expect((await onA.next((m) => m.event === 'notification')).id).toBe(String(created!.id));
    await a.http.post(`/api/v1/notifications/${created!.id}/read`).set(bearer(u.accessToken)).expect(204);
    expect((await onA.next((m) => m.event === 'unread-count')).data).toEqual({ count: 0 });
    await sleep(150);
    expect(a.pawmate.bus.received - heardA).toBeGreaterThanOrEqual(2);
    expect(b.pawmate.bus.received - heardB).toBe(0);

    // A stream on B subscribes B as well, and B leaves the channel once that stream is gone.
    const onB = await track(openStream(b, { token: u.accessToken }));
    await onB.next();
    expect(b.pawmate.bus.keyedCountOf(CHANNEL_USER)).toBe(1);
    const second = await svc(a).notify(note(u.user.id, 'both'));
    for (const s of [onA, onB]) expect((await s.next((m) => m.event === 'notification')).id).toBe(String(second!.id));
    onB.close();
    await onA.waitFor(() => b.pawmate.bus.keyedCountOf(CHANNEL_USER) === 0);
    const heardAfter = b.pawmate.bus.received;
    const third = await svc(a).notify(note(u.user.id, 'after'));
    expect((await onA.next((m) => m.event === 'notification')).id).toBe(String(third!.id));
    await sleep(150);
    expect(b.pawmate.bus.received).toBe(heardAfter);
  });

  it('delivers a burst in id order without duplicates', async () => {
    const u = await signup(a);
    const s = await track(openStream(b, { token: u.accessToken }));
    await s.next();
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => svc(i % 2 ? a : b).notify(note(u.user.id, i))),
    );
    const ids = created.map((c) => c!.id).sort((x, y) => x - y);
    await s.waitFor(() => s.notifications().length >= 20, 3000);
    await sleep(100);
    expect(s.notifications().map((n) => n.id)).toEqual(ids);
  });
});

describe('replay after Last-Event-ID', () => {
  it('replays what was missed in order, then continues live, with no duplicate (header form)', async () => {
    const u = await signup(a);
    const s1 = await track(openStream(a, { token: u.accessToken }));
    await s1.next();
    const n1 = await svc(a).notify(note(u.user.id, 1));
    const n2 = await svc(a).notify(note(u.user.id, 2));
    await s1.waitFor(() => s1.notifications().length === 2);
    s1.close();
    const missed = [];
    for (let i = 3; i <= 5; i++) missed.push(await svc(b).notify(note(u.user.id, i)));

    const s2 = await track(openStream(b, { token: u.accessToken, lastEventId: n2!.id }));
    expect((await s2.next()).data).toEqual({ count: 5 });
    await s2.waitFor(() => s2.notifications().length === 3);
    expect(s2.events.filter((e) => e.event === 'notification').map((e) => e.id)).toEqual(
      missed.map((m) => String(m!.id)),
    );
    const n6 = await svc(a).notify(note(u.user.id, 6));
    await s2.waitFor(() => s2.notifications().length === 4);
    await sleep(100);
    expect(s2.notifications().map((n) => n.id)).toEqual([...missed.map((m) => m!.id), n6!.id]);
    expect(n1!.id).toBeLessThan(n2!.id);
  });

  it('supports ?lastEventId= and lets the header win over it', async () => {
    const u = await signup(a);
    const n = [];
    for (let i = 1; i <= 3; i++) n.push(await svc(a).notify(note(u.user.id, i)));
    const q = await track(openStream(a, { queryToken: u.accessToken, queryLastEventId: n[0]!.id }));
    await q.waitFor(() => q.notifications().length === 2);
    expect(q.notifications().map((x) => x.id)).toEqual([n[1]!.id, n[2]!.id]);
    const both = await track(openStream(b, { queryToken: u.accessToken, queryLastEventId: 0, lastEventId: n[1]!.id }));
    await both.waitFor(() => both.notifications().length === 1);
    await sleep(100);
    expect(both.notifications().map((x) => x.id)).toEqual([n[2]!.id]);
  });

  it('has no gap and no duplicate while notifications keep arriving during the replay', async () => {
    const u = await signup(a);
    const before = [];
    for (let i = 0; i < 30; i++) before.push(await svc(a).notify(note(u.user.id, `b${i}`)));
    const from = before[4]!.id;
    // Writers on both instances race the reconnect.
    const writing = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        sleep(i * 3).then(() => svc(i % 2 ? a : b).notify(note(u.user.id, `d${i}`))),
      ),
    );
    const s = await track(openStream(b, { token: u.accessToken, lastEventId: from }));
    const during = await writing;
    const expected = [...before.slice(5), ...during].map((x) => x!.id).sort((x, y) => x - y);
    await s.waitFor(() => s.notifications().length >= expected.length, 5000);
    await sleep(200);
    expect(s.notifications().map((x) => x.id)).toEqual(expected);
  });

  // The outbox is held back so the live events of already-committed rows arrive when the test says.
  const pendingEvents = async (recipientId: number) => {
    const [rows] = await a.sequelize.query(
      "SELECT payload FROM outbox WHERE topic = 'notifications.created-batch' AND processedAt IS NULL ORDER BY id",
    );
    return (rows as Array<{ payload: string }>)
      .flatMap((r) => JSON.parse(r.payload) as StoredNotification[])
      .filter((p) => p.recipientId === recipientId);
  };
  const holdOutbox = async () => {
    await a.pawmate.outbox.stop();
    await b.pawmate.outbox.stop();
  };
  const releaseOutbox = () => {
    a.pawmate.outbox.start();
    b.pawmate.outbox.start();
  };

  it('skips live events of rows the replay already sent', async () => {
    const u = await signup(a);
    const n0 = await svc(a).notify(note(u.user.id, 0));
    await holdOutbox();
    await a.pawmate.outbox.drain(); // n0's own event may still be queued: only the three below are to be held
    let held: StoredNotification[];
    let s: SseClient;
    try {
      for (let i = 1; i <= 3; i++) await svc(a).notify(note(u.user.id, i));
      held = await pendingEvents(u.user.id);
      expect(held).toHaveLength(3);
      s = await track(openStream(b, { token: u.accessToken, lastEventId: n0!.id }));
      await s.waitFor(() => s.notifications().length === 3);
    } finally {
      releaseOutbox();
    }
    await a.pawmate.outbox.drain();
    const n4 = await svc(a).notify(note(u.user.id, 4));
    await s.waitFor(() => s.notifications().length >= 4);
    await sleep(150);
    expect(s.notifications().map((n) => n.id)).toEqual([...held.map((h) => h.notification.id), n4!.id]);
  });

  it('fills a gap from MySQL when a later event arrives first, and never repeats one', async () => {
    const u = await signup(a);
    const s = await track(openStream(a, { token: u.accessToken }));
    await s.next();
    await holdOutbox();
    let held: StoredNotification[];
    try {
      for (let i = 1; i <= 3; i++) await svc(a).notify(note(u.user.id, i));
      held = await pendingEvents(u.user.id);
      // Only the last one reaches the instance: the two before it must come from MySQL, first.
      await b.pawmate.bus.publishKeyed('notifications.user', [[u.user.id, { created: [held[2]] }]]);
      await s.waitFor(() => s.notifications().length === 3);
      expect(s.notifications().map((n) => n.id)).toEqual(held.map((h) => h.notification.id));
    } finally {
      releaseOutbox();
    }
    await a.pawmate.outbox.drain();
    await sleep(150);
    expect(s.notifications()).toHaveLength(3);
  });

  it('delivers, on the periodic sweep, a notification whose pub/sub message was lost', async () => {
    const u = await signup(a);
    const s = await track(openStream(b, { token: u.accessToken }));
    await s.next();
    await holdOutbox();
    let lost: number;
    try {
      lost = (await svc(a).notify(note(u.user.id, 'lost')))!.id;
      // As if it had been published while B's subscriber was reconnecting.
      await a.sequelize.query(
        "UPDATE outbox SET processedAt = NOW(3) WHERE topic = 'notifications.created-batch' AND processedAt IS NULL",
      );
    } finally {
      releaseOutbox();
    }
    await sleep(200);
    expect(s.notifications()).toHaveLength(0);
    await mod(b).streams.sweep();
    await s.waitFor(() => s.notifications().length === 1);
    expect(s.notifications()[0].id).toBe(lost);
    const next = await svc(a).notify(note(u.user.id, 'after'));
    await s.waitFor(() => s.notifications().length === 2);
    expect(s.notifications()[1].id).toBe(next!.id);
  });

  it('works with a standard EventSource client, which reconnects and resumes by itself after a cut', async () => {
    const u = await signup(a);
    const got: number[] = [];
    const counts: number[] = [];
    const es = new EventSource(`${a.url}/api/v1/notifications/stream`, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${u.accessToken}` } }),
    });
    try {
      es.addEventListener('notification', (e) => got.push(JSON.parse(e.data).id));
      es.addEventListener('unread-count', (e) => counts.push(JSON.parse(e.data).count));
      const until = async (pred: () => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        while (!pred()) {
          if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(got)}`);
          await sleep(20);
        }
      };
      await until(() => counts.length === 1, 3000);
      const n1 = await svc(b).notify(note(u.user.id, 1));
      await until(() => got.length === 1, 2000);
      // Cut from the server side (as a proxy or a crash would); these two arrive while it is away.
      mod(a).streams.hub.streamsOf(u.user.id)[0].drop('test');
      const n2 = await svc(b).notify(note(u.user.id, 2));
      const n3 = await svc(b).notify(note(u.user.id, 3));
      await until(() => got.length >= 3, 9000); // the retry hint is 2–5 s
      await sleep(100);
      expect(got).toEqual([n1!.id, n2!.id, n3!.id]);
    } finally {
      es.close();
    }
  }, 20_000);

  it('refuses a malformed Last-Event-ID or lastEventId', async () => {
    const u = await signup(a);
    const h = await openStream(a, { token: u.accessToken, lastEventId: 'abc' });
    expect(h.status).toBe(400);
    expect(JSON.parse(h.body).errors[0].path).toBe('headers.last-event-id');
    const q = await openStream(a, { token: u.accessToken, queryLastEventId: '-1' });
    expect(q.status).toBe(400);
    expect(JSON.parse(q.body).errors[0].path).toBe('query.lastEventId');
  });
});

describe('notify', () => {
  it('stores, streams and counts a notification once per dedupe key and recipient', async () => {
    const u = await signup(a);
    const v = await signup(a);
    const s = await track(openStream(b, { token: u.accessToken }));
    await s.next();
    const first = await svc(a).notify(
      note(u.user.id, 'once', { type: 'chat.message', dedupeKey: 'chat:42', data: { roomId: 1 } }),
    );
    expect(first).not.toBeNull();
    expect(
      await svc(b).notify(
        note(u.user.id, 'twice', { type: 'chat.message', dedupeKey: 'chat:42', data: { roomId: 1 } }),
      ),
    ).toBeNull();
    const again = await svc(a).notifyMany([
      note(v.user.id, 'v', { dedupeKey: 'chat:42' }),
      note(u.user.id, 'u', { dedupeKey: 'chat:42' }),
    ]);
    expect(again[0]).not.toBeNull();
    expect(again[1]).toBeNull();
    await s.waitFor(() => s.notifications().length === 1);
    await sleep(150);
    expect(s.notifications().map((n) => n.id)).toEqual([first!.id]);
    expect((await a.http.get('/api/v1/notifications/unread-count').set(bearer(u.accessToken))).body.count).toBe(1);
    // Without a key nothing is deduplicated.
    await svc(a).notify(note(u.user.id, 'x'));
    await svc(a).notify(note(u.user.id, 'x'));
    expect((await a.http.get('/api/v1/notifications/unread-count').set(bearer(u.accessToken))).body.count).toBe(3);
  });

  it('notifyMany stores what one-by-one calls would: per-recipient order, preferences, deleted accounts, dedupe keys', async () => {
    const [u, v, w, gone, quiet] = [
      await signup(a),
      await signup(a),
      await signup(a),
      await signup(a),
      await signup(a),
    ];
    await a.http.delete('/api/v1/users/me').set(bearer(gone.accessToken)).expect(204);
    await a.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(quiet.accessToken))
      .send({ preferences: { 'comment.new': { inApp: false, email: true } } })
      .expect(200);
    await svc(a).notify(note(u.user.id, 'before')); // u's counter already moved
    const s = await track(openStream(b, { token: u.accessToken }));
    await s.next();
    const [outboxBefore] = await a.sequelize.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM outbox WHERE topic = 'mail.send'",
      { type: QueryTypes.SELECT },
    );
    const out = await svc(a).notifyMany([
      note(w.user.id, 'w1'),
      note(u.user.id, 'u1'),
      note(gone.user.id, 'gone'),
      note(quiet.user.id, 'quiet'),
      note(u.user.id, 'u2', { dedupeKey: 'k:1' }),
      note(u.user.id, 'u3'),
      note(v.user.id, 'v1', { dedupeKey: 'k:1' }),
      note(v.user.id, 'v2', { dedupeKey: 'k:1' }),
    ]);
    expect(out.map((n) => n?.title ?? null)).toEqual([
      'Comment w1',
      'Comment u1',
      null,
      null,
      'Comment u2',
      'Comment u3',
      'Comment v1',
      null,
    ]);
    // Each recipient's rows have consecutive seqs and ids growing with them, and the counter is the last seq.
    const rows = await a.sequelize.query<{ id: number; recipientId: number; seq: number; title: string }>(
      'SELECT id, recipientId, seq, title FROM notifications WHERE recipientId IN (?) ORDER BY recipientId, seq',
      { replacements: [[u.user.id, v.user.id, w.user.id, gone.user.id, quiet.user.id]], type: QueryTypes.SELECT },
    );
    const of = (id: number) => rows.filter((r) => r.recipientId === id);
    expect(of(u.user.id).map((r) => [r.seq, r.title])).toEqual([
      [1, 'Comment before'],
      [2, 'Comment u1'],
      [3, 'Comment u3'],
      [4, 'Comment u2'],
    ]);
    expect(of(u.user.id).map((r) => r.id)).toEqual([...of(u.user.id).map((r) => r.id)].sort((x, y) => x - y));
    expect(of(v.user.id).map((r) => r.seq)).toEqual([1]);
    expect(of(w.user.id).map((r) => r.seq)).toEqual([1]);
    expect(of(gone.user.id).length + of(quiet.user.id).length).toBe(0);
    const counters = await a.sequelize.query<{ userId: number; lastSeq: number }>(
      'SELECT userId, lastSeq FROM notification_counters WHERE userId IN (?)',
      {
        replacements: [[u.user.id, v.user.id, w.user.id]],
        type: QueryTypes.SELECT,
      },
    );
    expect(Object.fromEntries(counters.map((c) => [c.userId, c.lastSeq]))).toEqual({
      [u.user.id]: 4,
      [v.user.id]: 1,
      [w.user.id]: 1,
    });
    // The quiet user asked for e-mail only: one mail row, and nothing in-app.
    const [outboxAfter] = await a.sequelize.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM outbox WHERE topic = 'mail.send'",
      { type: QueryTypes.SELECT },
    );
    expect(Number(outboxAfter.n) - Number(outboxBefore.n)).toBe(1);
    // The stream gets u's three, in seq order, once each.
    await s.waitFor(() => s.notifications().length === 3);
    await sleep(150);
    expect(s.notifications().map((n) => n.title)).toEqual(['Comment u1', 'Comment u3', 'Comment u2']);
  });

  it('notifyMany of one content to many stores it exactly for each, and still refuses a bad input among them', async () => {
    const [u, v] = [await signup(a), await signup(a)];
    // Quotes, backslashes, a NUL-free control mix and an emoji: the batch statement escapes what replacements would.
    const content = {
      type: 'comment.new' as const,
      title: `It's a \\ "test" 🐕`,
      body: "line\n'two'",
      data: { q: "a'b\\c" },
    };
    const out = await svc(a).notifyMany([
      { recipientId: u.user.id, ...content },
      { recipientId: v.user.id, ...content },
    ]);
    expect(out.map((n) => [n?.title, n?.body, n?.data])).toEqual([
      [content.title, content.body, content.data],
      [content.title, content.body, content.data],
    ]);
    const rows = await a.sequelize.query<{ recipientId: number; title: string; body: string; data: string }>(
      'SELECT recipientId, title, body, data FROM notifications WHERE recipientId IN (?) ORDER BY recipientId',
      { replacements: [[u.user.id, v.user.id]], type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => [r.recipientId, r.title, r.body, JSON.parse(r.data)])).toEqual([
      [u.user.id, content.title, content.body, content.data],
      [v.user.id, content.title, content.body, content.data],
    ]);
    // The same content with a null body (absent is fine, null is not) and a string id are still checked.
    await expect(
      svc(a).notifyMany([
        { recipientId: u.user.id, ...content },
        { recipientId: v.user.id, ...content, body: null as never },
      ]),
    ).rejects.toThrow(/body/);
    await expect(
      svc(a).notifyMany([
        { recipientId: u.user.id, ...content },
        { recipientId: '0' as never, ...content },
      ]),
    ).rejects.toThrow(/recipientId/);
    const [count] = await a.sequelize.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM notifications WHERE recipientId IN (?)',
      {
        replacements: [[u.user.id, v.user.id]],
        type: QueryTypes.SELECT,
      },
    );
    expect(Number(count.n)).toBe(2);
  });

  it('refuses bad input from a calling module and truncates long text', async () => {
    const u = await signup(a);
    await expect(svc(a).notify({ recipientId: u.user.id, type: 'nope' as 'chat.message', title: 'x' })).rejects.toThrow(
      /type/,
    );
    await expect(svc(a).notify(note(u.user.id, 1, { data: { big: 'x'.repeat(9000) } }))).rejects.toThrow(/data/);
    const long = await svc(a).notify(
      note(u.user.id, 1, { title: `multi\nline ${'t'.repeat(300)}`, body: 'b'.repeat(2500) }),
    );
    expect(long!.title).toHaveLength(200);
    expect(long!.title.startsWith('multi line')).toBe(true);
    expect(long!.body).toHaveLength(2000);
    expect(await svc(a).notify(note(999999999, 'ghost'))).toBeNull();
  });
});

describe('REST: list, count, read', () => {
  it('lists newest first with a cursor and an unread filter', async () => {
    const u = await signup(a);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await svc(a).notify(note(u.user.id, i)))!.id);
    const p1 = await a.http.get('/api/v1/notifications?limit=2').set(bearer(u.accessToken)).expect(200);
    expect(p1.body.items.map((n: { id: number }) => n.id)).toEqual([ids[4], ids[3]]);
    expect(p1.body.items[0]).toEqual({
      id: ids[4],
      type: 'comment.new',
      title: 'Comment 4',
      body: 'Body 4',
      data: { n: 4 },
      readAt: null,
      createdAt: expect.any(String),
    });
    expect(typeof p1.body.nextCursor).toBe('string');
    const p2 = await a.http
      .get(`/api/v1/notifications?limit=2&cursor=${p1.body.nextCursor}`)
      .set(bearer(u.accessToken))
      .expect(200);
    expect(p2.body.items.map((n: { id: number }) => n.id)).toEqual([ids[2], ids[1]]);
    const p3 = await a.http
      .get(`/api/v1/notifications?limit=2&cursor=${p2.body.nextCursor}`)
      .set(bearer(u.accessToken))
      .expect(200);
    expect(p3.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    await a.http.post(`/api/v1/notifications/${ids[3]}/read`).set(bearer(u.accessToken)).expect(204);
    const unread = await a.http.get('/api/v1/notifications?unread=true').set(bearer(u.accessToken)).expect(200);
    expect(unread.body.items.map((n: { id: number }) => n.id)).toEqual([ids[4], ids[2], ids[1], ids[0]]);
    const all = await a.http.get('/api/v1/notifications').set(bearer(u.accessToken)).expect(200);
    expect(all.body.items.find((n: { id: number }) => n.id === ids[3]).readAt).toEqual(expect.any(String));
    const count = await b.http.get('/api/v1/notifications/unread-count').set(bearer(u.accessToken)).expect(200);
    expect(count.body).toEqual({ count: 4 });
  });

  it("answers 404 for someone else's notification and changes nothing; reading twice is fine", async () => {
    const owner = await signup(a);
    const other = await signup(a);
    const n = await svc(a).notify(note(owner.user.id, 'mine'));
    const res = await a.http.post(`/api/v1/notifications/${n!.id}/read`).set(bearer(other.accessToken)).expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
    await a.http.post('/api/v1/notifications/999999999/read').set(bearer(other.accessToken)).expect(404);
    expect((await a.http.get('/api/v1/notifications/unread-count').set(bearer(owner.accessToken))).body.count).toBe(1);
    const theirs = await a.http.get('/api/v1/notifications').set(bearer(other.accessToken)).expect(200);
    expect(theirs.body.items).toEqual([]);
    await a.http.post(`/api/v1/notifications/${n!.id}/read`).set(bearer(owner.accessToken)).expect(204);
    await a.http.post(`/api/v1/notifications/${n!.id}/read`).set(bearer(owner.accessToken)).expect(204);
    expect((await a.http.get('/api/v1/notifications/unread-count').set(bearer(owner.accessToken))).body.count).toBe(0);
  });

  it('validates queries and params and needs a token', async () => {
    const u = await signup(a);
    const cases: Array<[string, string]> = [
      ['/api/v1/notifications?limit=0', 'query.limit'],
      ['/api/v1/notifications?limit=101', 'query.limit'],
      ['/api/v1/notifications?cursor=garbage', 'query.cursor'],
      ['/api/v1/notifications?unread=maybe', 'query.unread'],
    ];
    for (const [url, path] of cases) {
      const res = await a.http.get(url).set(bearer(u.accessToken)).expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const bad = await a.http.post('/api/v1/notifications/abc/read').set(bearer(u.accessToken)).expect(400);
    expect(bad.body.errors[0].path).toBe('params.id');
    await a.http.get('/api/v1/notifications').expect(401);
    await a.http.post('/api/v1/notifications/read-all').expect(401);
  });

  it('sends a fresh unread-count to every stream of the user on every instance after a read', async () => {
    const u = await signup(a);
    const n1 = await svc(a).notify(note(u.user.id, 1));
    await svc(a).notify(note(u.user.id, 2));
    await svc(a).notify(note(u.user.id, 3));
    const sa = await track(openStream(a, { token: u.accessToken }));
    const sb = await track(openStream(b, { token: u.accessToken }));
    expect((await sa.next()).data).toEqual({ count: 3 });
    expect((await sb.next()).data).toEqual({ count: 3 });

    await a.http.post(`/api/v1/notifications/${n1!.id}/read`).set(bearer(u.accessToken)).expect(204);
    for (const s of [sa, sb])
      expect((await s.next((m) => m.event === 'unread-count', 1000)).data).toEqual({ count: 2 });

    await b.http.post('/api/v1/notifications/read-all').set(bearer(u.accessToken)).expect(204);
    for (const s of [sa, sb])
      expect((await s.next((m) => m.event === 'unread-count', 1000)).data).toEqual({ count: 0 });
    expect((await a.http.get('/api/v1/notifications?unread=true').set(bearer(u.accessToken))).body.items).toEqual([]);
  });
});

describe('preferences', () => {
  it('has defaults: in-app on for all, e-mail on for reservations and invites only', async () => {
    const u = await signup(a);
    const res = await a.http.get('/api/v1/notifications/preferences').set(bearer(u.accessToken)).expect(200);
    // Every type, whichever features added theirs.
    expect(Object.keys(res.body.preferences).sort()).toEqual([...NOTIFICATION_TYPES].sort());
    expect(res.body.preferences['reservation.requested']).toEqual({ inApp: true, email: true });
    expect(res.body.preferences['reservation.completed']).toEqual({ inApp: true, email: true });
    expect(res.body.preferences['chat.message']).toEqual({ inApp: true, email: false });
    expect(res.body.preferences['invite.new']).toEqual({ inApp: true, email: true });
    expect(res.body.preferences['badge.earned']).toEqual({ inApp: true, email: false });
    expect(res.body.preferences['comment.new']).toEqual({ inApp: true, email: false });
    expect(res.body.preferences['comment.reply']).toEqual({ inApp: true, email: false });
  });

  it('updates partially and keeps other flags and types', async () => {
    const u = await signup(a);
    await a.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'chat.message': { email: true } } })
      .expect(200);
    const res = await a.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'chat.message': { inApp: false }, 'reservation.accepted': { email: false } } })
      .expect(200);
    expect(res.body.preferences['chat.message']).toEqual({ inApp: false, email: true });
    expect(res.body.preferences['reservation.accepted']).toEqual({ inApp: true, email: false });
    expect(res.body.preferences['reservation.requested']).toEqual({ inApp: true, email: true });
    const again = await b.http.get('/api/v1/notifications/preferences').set(bearer(u.accessToken)).expect(200);
    expect(again.body).toEqual(res.body);
  });

  it.each([
    [{ preferences: { 'chat.mesage': { email: true } } }, 'body.preferences.chat.mesage'],
    [{ preferences: { 'chat.message': { email: 'yes please' } } }, 'body.preferences.chat.message.email'],
    [{ preferences: { 'chat.message': {} } }, 'body.preferences.chat.message'],
    [{ preferences: {} }, 'body.preferences'],
    [{}, 'body.preferences'],
  ])('refuses %j naming %s', async (body, path) => {
    const u = await signup(a);
    const res = await a.http.put('/api/v1/notifications/preferences').set(bearer(u.accessToken)).send(body).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    const prefs = await a.http.get('/api/v1/notifications/preferences').set(bearer(u.accessToken)).expect(200);
    expect(prefs.body.preferences['chat.message']).toEqual({ inApp: true, email: false });
  });

  it('stores no row and streams nothing when in-app is off for that type', async () => {
    const u = await signup(a);
    await a.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'comment.new': { inApp: false } } })
      .expect(200);
    const s = await track(openStream(b, { token: u.accessToken }));
    await s.next();
    expect(await svc(a).notify(note(u.user.id, 'muted'))).toBeNull();
    const kept = await svc(a).notify(note(u.user.id, 'review', { type: 'review.new' }));
    const ev = await s.next((m) => m.event === 'notification', 1000);
    expect(ev.data.id).toBe(kept!.id);
    const list = await a.http.get('/api/v1/notifications').set(bearer(u.accessToken)).expect(200);
    expect(list.body.items.map((n: { type: string }) => n.type)).toEqual(['review.new']);
    expect(s.notifications()).toHaveLength(1);
  });
});

describe('stream lifecycle', () => {
  it('closes the streams of a revoked login at once, and only those', async () => {
    const u = await signup(a);
    const second = await a.http.post('/api/v1/auth/login').send({ email: u.email, password: PASSWORD }).expect(200);
    const revoked = await track(openStream(b, { token: u.accessToken }));
    const kept = await track(openStream(b, { token: second.body.accessToken }));
    await revoked.next();
    await kept.next();
    await a.http.post('/api/v1/auth/logout').set(bearer(u.accessToken)).send({}).expect(204);
    await revoked.waitFor(() => revoked.ended, 2000);
    await sleep(100);
    expect(kept.ended).toBe(false);
    // Reconnecting needs a valid token.
    expect((await openStream(a, { token: u.accessToken })).status).toBe(401);
  });

  it('caps open streams per user with 429', async () => {
    const u = await signup(a);
    for (let i = 0; i < 10; i++) expect((await track(openStream(a, { token: u.accessToken }))).status).toBe(200);
    const over = await openStream(a, { token: u.accessToken });
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect(JSON.parse(over.body).code).toBe('RATE_LIMITED');
    // Another instance has its own room; closing one here frees a slot.
    open.pop()!.close();
    await sleep(100);
    expect((await track(openStream(a, { token: u.accessToken }))).status).toBe(200);
  });

  it('limits connections per user per minute across instances with 429', async () => {
    const u = await signup(a);
    for (let i = 0; i < 60; i++) {
      const c = await openStream(i % 2 ? a : b, { token: u.accessToken });
      expect(c.status).toBe(200);
      c.close();
    }
    const over = await openStream(a, { token: u.accessToken });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Someone else is not affected.
    const other = await signup(a);
    expect((await track(openStream(a, { token: other.accessToken }))).status).toBe(200);
  });

  it('cuts a client that does not read once its buffer passes the cap; it then replays what it missed', async () => {
    const u = await signup(a);
    const slow = await track(openStream(a, { token: u.accessToken, pause: true }));
    const metric = async () => {
      const text = (await a.http.get('/metrics')).text;
      // Cut by the buffer cap, or (when its events arrived out of order) while catching up.
      return [...text.matchAll(/pawmate_sse_drops_total\{hub="notifications",reason="\w+"\} (\d+)/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    };
    const dropsBefore = await metric();
    const big = 'x'.repeat(7000);
    let created: number[] = [];
    // Loopback kernel buffers take a few MB before the process has to queue anything.
    for (let round = 0; round < 20 && mod(a).streams.hub.streamsOf(u.user.id).length > 0; round++) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, i) => svc(a).notify(note(u.user.id, `${round}-${i}`, { data: { big } }))),
      );
      created = created.concat(batch.map((n) => n!.id));
      await sleep(100);
    }
    created.sort((x, y) => x - y);
    expect(mod(a).streams.hub.streamsOf(u.user.id)).toHaveLength(0);
    expect(await metric()).toBeGreaterThan(dropsBefore);
    slow.close();
    // Reconnecting from the start replays everything, at most 500 rows per connection: a longer
    // backlog ends with `retry: 0` and the client continues from the last id it got.
    const seen: number[] = [];
    let from = 0;
    let connections = 0;
    while (seen.length < created.length && connections < 10) {
      const c = await track(openStream(b, { token: u.accessToken, lastEventId: from }));
      connections++;
      await c.waitFor(() => c.ended || seen.length + c.notifications().length >= created.length, 10_000);
      const got = c.notifications().map((n) => n.id);
      if (c.ended) expect(c.retries[c.retries.length - 1]).toBe(0);
      seen.push(...got);
      if (got.length) from = got[got.length - 1];
      c.close();
    }
    expect(seen).toEqual(created);
    if (created.length > 500) expect(connections).toBeGreaterThan(1);
  }, 60_000);

  // Reconnects the client it disconnected, which ioredis 5.11's Cluster does not do once it has ended
  // (npm run test:cluster covers a cluster outage with its failover drill instead).
  const reconnectable = process.env.TEST_REDIS_CLUSTER ? it.skip : it;
  reconnectable(
    'delays, never loses, a live event while Redis is unreachable for the instance that publishes it',
    async () => {
      const u = await signup(a);
      const s = await track(openStream(b, { token: u.accessToken }));
      await s.next();
      await b.pawmate.outbox.stop(); // only instance A may carry the row out
      a.redis.disconnect();
      let created;
      try {
        created = await svc(a).notify(note(u.user.id, 'outage'));
        await sleep(400);
        expect(s.notifications()).toHaveLength(0);
        const [rows] = await a.sequelize.query(
          "SELECT attempts, lastError FROM outbox WHERE topic = 'notifications.created-batch' AND processedAt IS NULL",
        );
        expect((rows as Array<{ attempts: number }>)[0].attempts).toBeGreaterThanOrEqual(1);
      } finally {
        await connectRedis(a.redis);
        b.pawmate.outbox.start();
      }
      await s.waitFor(() => s.notifications().length === 1, 5000);
      expect(s.notifications()[0].id).toBe(created!.id);
    },
  );

  it("outlives its access token's expiry; reconnecting needs a valid token", async () => {
    const clock = new ManualClock();
    const timed = await new TestContext({ clock }).setup();
    try {
      const inst = await timed.instance();
      const u = await signup(inst);
      const s = await openStream(inst, { token: u.accessToken });
      await s.next();
      clock.advance(16 * 60 * 1000); // past the 15-minute access token
      const n = await svc(inst).notify(note(u.user.id, 'late'));
      expect((await s.next((m) => m.event === 'notification', 2000)).data.id).toBe(n!.id);
      expect((await openStream(inst, { token: u.accessToken })).status).toBe(401);
      s.close();
    } finally {
      await timed.close();
    }
  });

  it('reports open streams in /metrics', async () => {
    const u = await signup(a);
    await track(openStream(b, { token: u.accessToken }));
    const text = (await b.http.get('/metrics')).text;
    const m = /pawmate_sse_open_streams\{hub="notifications"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/pawmate_sse_events_sent_total\{hub="notifications",event="unread-count"\} \d+/);
  });

  it('ends every stream with a retry hint when the instance stops', async () => {
    const c = await ctx.instance();
    const u = await signup(c);
    const s = await track(openStream(c, { token: u.accessToken }));
    await s.next();
    await c.close();
    await s.waitFor(() => s.ended, 2000);
    expect(s.retries.length).toBe(2);
    expect(s.retries[1]).toBeGreaterThanOrEqual(1000);
  });
});
