import { QueryTypes } from 'sequelize';
import { TestContext, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { run as reindexCli } from '../../../scripts/reindex-geo';
import type { SittersService } from './sitters.service';
import { settleOutbox } from '../../../test/helpers/outbox';

/** The geo index follows MySQL: after commits only, in commit order, through rebuilds. */
let ctx: TestContext;
let api: TestInstance;
let sitters: SittersService;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  sitters = api.pawmate.services.sitters;
});
afterAll(async () => {
  await ctx.close();
});

const body = (lat: number, lng: number) => ({
  headline: 'Walks',
  services: ['walking'],
  prices: { walking: 10000 },
  acceptedSizes: ['small'],
  maxPets: 1,
  location: { lat, lng },
  address: 'Somewhere',
});

const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);

const settle = () => settleOutbox(api, ctx.clock);

/** The index holds exactly the active sitters, each where MySQL says. */
async function expectIndexMatchesMysql() {
  const rows = await api.sequelize.query<{ id: number; lat: number; lng: number }>(
    'SELECT id, lat, lng FROM sitters WHERE active = 1 ORDER BY id',
    { type: QueryTypes.SELECT },
  );
  const members = (await api.redis.zrange(sitters.geo.key, 0, -1)).map(Number).sort((a, b) => a - b);
  expect(members).toEqual(rows.map((r) => r.id));
  const positions = (await api.redis.geopos(sitters.geo.key, ...rows.map((r) => String(r.id)))) as [string, string][];
  rows.forEach((r, i) => {
    expect(Math.abs(Number(positions[i][1]) - r.lat)).toBeLessThan(1e-5);
    expect(Math.abs(Number(positions[i][0]) - r.lng)).toBeLessThan(1e-5);
  });
}

async function newSitter(lat: number, lng: number) {
  const s = await signup(api);
  const res = await api.http.put('/api/v1/sitters/me').set(bearer(s.accessToken)).send(body(lat, lng)).expect(200);
  return { ...s, id: res.body.id as number };
}

describe('index consistency', () => {
  it('a rolled-back create or update never reaches the index', async () => {
    const users = api.pawmate.services.users;
    const s = await signup(api);
    const original = users.setSitterFlag.bind(users);
    const sizeBefore = await sitters.geo.size();
    const outboxBefore = await count("SELECT COUNT(*) AS n FROM outbox WHERE topic = 'geo.sitter'");
    // The sitter row and its outbox row are written, then the transaction fails and rolls back.
    users.setSitterFlag = async () => {
      throw new Error('boom');
    };
    try {
      await expect(sitters.putMine(s.user.id, { ...body(-1.2921, 36.8219), bio: '' } as never)).rejects.toThrow('boom');
    } finally {
      users.setSitterFlag = original;
    }
    await settle();
    expect(await count('SELECT COUNT(*) AS n FROM sitters WHERE userId = ?', [s.user.id])).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM outbox WHERE topic = 'geo.sitter'")).toBe(outboxBefore);
    expect(await sitters.geo.size()).toBe(sizeBefore);
    expect(
      (await api.http.get('/api/v1/sitters/search').query({ lat: -1.2921, lng: 36.8219, radiusKm: 1 })).body.items,
    ).toEqual([]);

    // An existing sitter whose move rolls back stays where it was.
    const t = await newSitter(48.8566, 2.3522);
    users.setSitterFlag = async () => {
      throw new Error('boom');
    };
    try {
      await expect(sitters.putMine(t.user.id, { ...body(51.5072, -0.1276), bio: '' } as never)).rejects.toThrow('boom');
    } finally {
      users.setSitterFlag = original;
    }
    await settle();
    expect((await sitters.geo.position(t.id))!.lat).toBeCloseTo(48.8566, 4);
    await expectIndexMatchesMysql();
  });

  it('when the fast path fails, the outbox row still indexes the sitter', async () => {
    const realApply = sitters.geo.apply.bind(sitters.geo);
    let calls = 0;
    sitters.geo.apply = async (changes) => {
      if (calls++ === 0) throw new Error('Redis is unavailable');
      return realApply(changes);
    };
    try {
      const s = await newSitter(40.4168, -3.7038);
      await settle();
      expect(await sitters.geo.has(s.id)).toBe(true);
      expect(calls).toBeGreaterThanOrEqual(2);
    } finally {
      sitters.geo.apply = realApply;
    }
  });

  it('concurrent moves and deactivations of one sitter end in the last committed state', async () => {
    const s = await newSitter(0, 0);
    const auth = bearer(s.accessToken);
    const ops = Array.from({ length: 24 }, (_, i) =>
      i % 5 === 4
        ? api.http.delete('/api/v1/sitters/me').set(auth)
        : api.http.put('/api/v1/sitters/me').set(auth).send(body(i, i)),
    );
    const results = await Promise.all(ops);
    for (const r of results) expect([200, 204, 409]).toContain(r.status);
    await settle();
    await expectIndexMatchesMysql();
  });

  it('a reindex while sitters are created, moved and deactivated loses no write', async () => {
    const crew = await Promise.all(Array.from({ length: 12 }, (_, i) => newSitter(10 + i * 0.01, 10)));
    // Rows behind the service's back (no outbox): only a rebuild can index them.
    const now = new Date();
    for (let i = 0; i < 150; i++) {
      const [uid] = await api.sequelize.query(
        'INSERT INTO users (email, passwordHash, nickname, bio, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
        {
          replacements: [`bulk${i}.${process.pid}.${Date.now()}@example.com`, 'x', 'Bulk', '', now, now],
          type: QueryTypes.INSERT,
        },
      );
      await api.sequelize.query(
        `INSERT INTO sitters (userId, headline, bio, walkingPrice, minPrice, acceptsSmall, maxPets, lat, lng, address, active, createdAt, updatedAt)
         VALUES (?, 'Bulk', '', 10000, 10000, 1, 1, ?, ?, 'x', 1, ?, ?)`,
        { replacements: [uid, 20 + i * 0.001, 20, now, now], type: QueryTypes.INSERT },
      );
    }
    let done = false;
    let writes = 0;
    const writer = (async () => {
      let k = 0;
      while (!done || writes < 20) {
        const who = crew[k++ % crew.length];
        const auth = bearer(who.accessToken);
        if (k % 4 === 0) await api.http.delete('/api/v1/sitters/me').set(auth);
        else
          await api.http
            .put('/api/v1/sitters/me')
            .set(auth)
            .send(body(30 + Math.random(), 30 + Math.random()));
        if (k % 7 === 0) crew.push(await newSitter(40 + Math.random(), 40));
        writes++;
      }
    })();
    const progress: number[] = [];
    const result = await sitters.reindexGeo({ batchSize: 4, onProgress: (p) => progress.push(p.done) });
    done = true;
    await writer;
    await settle();
    expect(result.count).toBeGreaterThanOrEqual(150);
    expect(progress.length).toBeGreaterThan(30);
    expect(writes).toBeGreaterThanOrEqual(20);
    await expectIndexMatchesMysql();
  }, 60_000);
});

describe('self-healing', () => {
  it('an instance that starts with the index missing rebuilds it from MySQL', async () => {
    await settle();
    await api.redis.del(sitters.geo.key);
    const second = await ctx.instance();
    const until = Date.now() + 10_000;
    while ((await sitters.geo.size()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await second.close();
    await expectIndexMatchesMysql();
  });
});

describe('Redis outage', () => {
  it('search answers 503 (not 500) while the index cannot be reached', async () => {
    const cut = await ctx.instance();
    cut.redis.disconnect();
    const res = await cut.http.get('/api/v1/sitters/search').query({ lat: 10, lng: 10 }).expect(503);
    expect(res.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(res.headers['retry-after']).toBeDefined();
    await cut.close();
  });
});

describe('npm run geo:reindex', () => {
  const env = () => ({
    DATABASE_URL: ctx.config.databaseUrl,
    REDIS_URL: ctx.config.redisUrl,
    REDIS_PREFIX: ctx.config.redisPrefix,
  });

  it('prints help, refuses bad options and missing configuration', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await reindexCli(['--help'], {}, io)).toBe(0);
    expect(out.join('\n')).toMatch(/Usage: npm run geo:reindex/);
    expect(await reindexCli(['--batch', '0'], env(), io)).toBe(2);
    expect(await reindexCli(['--frobnicate'], env(), io)).toBe(2);
    expect(await reindexCli([], { REDIS_URL: 'redis://127.0.0.1:6379' }, io)).toBe(1);
    expect(err.join('\n')).toMatch(/DATABASE_URL is required/);
  });

  it('rebuilds the index from MySQL with a progress line', async () => {
    // Drift the index: a stray member and a missing one.
    const [victim] = await api.sequelize.query<{ id: number }>('SELECT id FROM sitters WHERE active = 1 LIMIT 1', {
      type: QueryTypes.SELECT,
    });
    await api.redis.zrem(sitters.geo.key, String(victim.id));
    await api.redis.geoadd(sitters.geo.key, 1, 1, '999999');
    const out: string[] = [];
    const code = await reindexCli(['--batch', '50'], env(), { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    const active = await count('SELECT COUNT(*) AS n FROM sitters WHERE active = 1');
    expect(out.join('\n')).toMatch(new RegExp(`geo:sitters ${active}/${active} \\(100%\\) indexed`));
    expect(out[out.length - 1]).toMatch(new RegExp(`^done: ${active} sitters`));
    await expectIndexMatchesMysql();
  });
});
