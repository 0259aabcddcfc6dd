import { QueryTypes } from 'sequelize';
import { TestContext, ManualClock, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { makeMeetup, type Session } from '../../../test/helpers/fixtures';
import { haversineMeters } from '../../infra/geo';
import { healGeoIndex } from '../../infra/geo-heal';
import { createLogger } from '../../infra/logger';
import { run as reindexCli } from '../../../scripts/reindex-geo';
import type { MeetupsService } from './meetups.service';
import { settleOutbox } from '../../../test/helpers/outbox';

/** Nearby search is exact: every page equals a brute-force haversine over MySQL's truth. */
const T0 = '2027-05-01T00:00:00.000Z';
const HOUR = 3600 * 1000;
const clock = new ManualClock(T0);
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
let ctx: TestContext;
let api: TestInstance;
let service: MeetupsService;

interface Known {
  id: number;
  startsAt: string;
  tags: string[];
  capacity: number;
  participants: number;
  cancelled: boolean;
}
const known: Known[] = [];
const hosts: Session[] = [];

// A deterministic pseudo-random sequence, so a failure can be replayed.
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

const CENTER = { lat: 37.55, lng: 126.98 };
const TAGS = ['walk', 'run', 'playdate', 'corgi'];

beforeAll(async () => {
  ctx = await new TestContext({ clock, env: { ACCESS_TOKEN_TTL_SEC: String(90 * 24 * 3600) } }).setup();
  api = await ctx.instance();
  service = api.pawmate.services.meetups;
  for (let i = 0; i < 6; i++) hosts.push(await signup(api));
  const guests = await Promise.all(Array.from({ length: 3 }, () => signup(api)));
  for (let i = 0; i < 90; i++) {
    const host = hosts[i % hosts.length];
    const tags = TAGS.filter(() => rnd() < 0.4);
    const capacity = rnd() < 0.2 ? 2 : 10;
    const startsAt = at(Math.floor(1 + rnd() * 96) * HOUR);
    // Within ~25 km of the centre; a few exactly on top of each other.
    const location =
      i % 15 === 0 ? CENTER : { lat: CENTER.lat + (rnd() - 0.5) * 0.45, lng: CENTER.lng + (rnd() - 0.5) * 0.55 };
    const m = await makeMeetup(api, host, { location, startsAt, capacity, tags });
    const k: Known = { id: m.id, startsAt, tags, capacity, participants: 1, cancelled: false };
    if (capacity === 2) {
      await api.http
        .post(`/api/v1/meetups/${m.id}/participants`)
        .set(bearer(guests[i % 3].accessToken))
        .expect(201);
      k.participants = 2;
    }
    if (i % 11 === 5) {
      await api.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
      k.cancelled = true;
    }
    known.push(k);
  }
}, 120_000);
afterAll(async () => {
  await ctx.close();
});

const settle = () => settleOutbox(api, clock);

type Item = { id: number; distanceKm: number; startsAt: string; participantCount: number; status: string };

async function allPages(query: Record<string, string | number | boolean>, limit: number): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res: { body: { items: Item[]; nextCursor: string | null } } = await api.http
      .get('/api/v1/meetups/nearby')
      .set(bearer(hosts[0].accessToken))
      .query({ ...query, limit, ...(cursor ? { cursor } : {}) })
      .expect(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) return out;
    expect(res.body.items).toHaveLength(limit);
  }
  throw new Error('too many pages');
}

/** Positions as Redis stores them (52-bit geohash), so distances match Redis's to the millimetre. */
async function positions(): Promise<Map<number, { lat: number; lng: number }>> {
  const ids = known.filter((k) => !k.cancelled).map((k) => String(k.id));
  const pos = (await api.redis.geopos(service.geo.key, ...ids)) as ([string, string] | null)[];
  const out = new Map<number, { lat: number; lng: number }>();
  ids.forEach((id, i) => {
    const p = pos[i];
    if (p) out.set(Number(id), { lng: Number(p[0]), lat: Number(p[1]) });
  });
  return out;
}

async function expected(q: {
  lat: number;
  lng: number;
  radiusKm: number;
  tag?: string;
  hasFreePlaces?: boolean;
  from?: string;
  to?: string;
}) {
  const pos = await positions();
  const now = clock.now().toISOString();
  const from = q.from && q.from > now ? q.from : now;
  const rows: { id: number; d: number; startsAt: string; boundary: boolean }[] = [];
  for (const k of known) {
    if (k.cancelled || k.startsAt <= now || k.startsAt < from || (q.to && k.startsAt > q.to)) continue;
    if (q.tag && !k.tags.includes(q.tag)) continue;
    if (q.hasFreePlaces && k.participants >= k.capacity) continue;
    const p = pos.get(k.id)!;
    const d = haversineMeters(q, p) / 1000;
    if (d > q.radiusKm + 0.001) continue;
    rows.push({ id: k.id, d, startsAt: k.startsAt, boundary: Math.abs(d - q.radiusKm) < 0.001 });
  }
  return rows;
}

function compareDistance(items: Item[], rows: Awaited<ReturnType<typeof expected>>) {
  const sure = rows.filter((r) => !r.boundary).map((r) => r.id);
  const got = items.map((i) => i.id);
  for (const id of sure) expect(got).toContain(id);
  for (const id of got) expect(rows.map((r) => r.id)).toContain(id);
  expect(new Set(got).size).toBe(got.length);
  const byId = new Map(rows.map((r) => [r.id, r.d]));
  for (const item of items) expect(Math.abs(item.distanceKm - byId.get(item.id)!)).toBeLessThan(0.0005);
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1], items[i]];
    expect(a.distanceKm < b.distanceKm || (a.distanceKm === b.distanceKm && a.id < b.id)).toBe(true);
  }
}

describe('GET /meetups/nearby', () => {
  it.each([
    [{ radiusKm: 5 }, 3],
    [{ radiusKm: 12 }, 7],
    [{ radiusKm: 50 }, 10],
    [{ radiusKm: 12, tag: 'walk' }, 4],
    [{ radiusKm: 20, hasFreePlaces: true }, 6],
    [{ radiusKm: 20, from: at(24 * HOUR), to: at(48 * HOUR) }, 5],
    [{ radiusKm: 0.5 }, 2],
  ])('by distance equals brute force for %j (pages of %d)', async (filters, limit) => {
    const q = { lat: CENTER.lat, lng: CENTER.lng, ...filters };
    const items = await allPages(q, limit);
    const rows = await expected(q);
    expect(rows.length).toBeGreaterThan(0);
    compareDistance(items, rows);
    for (const item of items) expect(item.status).toBe('scheduled');
  });

  describe("a vocabulary tag's own index", () => {
    const members = async (tag: string) => {
      const geo = (await service.tagIndexes.forSearch(tag))!;
      return (await api.redis.zrange(geo.key, 0, -1)).map(Number).sort((a, b) => a - b);
    };
    const truth = async (tag: string) =>
      (
        await api.sequelize.query<{ id: number }>(
          `SELECT t.meetupId AS id FROM meetup_tags t JOIN meetups m ON m.id = t.meetupId
            WHERE t.tag = ? AND m.geoIndexed = 1 ORDER BY t.meetupId`,
          { replacements: [tag], type: QueryTypes.SELECT },
        )
      ).map((r) => r.id);

    it('holds exactly the upcoming meetups with the tag; a free tag has none', async () => {
      await settle();
      expect(await service.tagIndexes.ready(true)).toBe(true);
      for (const tag of ['walk', 'run', 'playdate']) {
        expect((await truth(tag)).length).toBeGreaterThan(5);
        expect(await members(tag)).toEqual(await truth(tag));
      }
      expect(await service.tagIndexes.forSearch('corgi')).toBeNull();
    });

    it('is what a tag search reads: a meetup missing from it is missing from the pages', async () => {
      await settle();
      const q = { lat: CENTER.lat, lng: CENTER.lng, radiusKm: 50, tag: 'playdate' };
      const full = await allPages(q, 7);
      compareDistance(full, await expected(q));
      const geo = (await service.tagIndexes.forSearch('playdate'))!;
      const victim = full[3].id;
      const pos = (await service.geo.position(victim))!;
      await geo.remove([victim]);
      try {
        expect((await allPages(q, 7)).map((i) => i.id)).toEqual(full.map((i) => i.id).filter((id) => id !== victim));
      } finally {
        await geo.upsert([{ id: victim, ...pos }]);
      }
    });

    it('follows retags, moves and cancels, and old changes without tags', async () => {
      const host = hosts[3];
      const far = { lat: 35.1, lng: 129.0 };
      const m = await makeMeetup(api, host, { location: far, startsAt: at(200 * HOUR), tags: ['walk', 'corgi'] });
      await settle();
      const walk = (await service.tagIndexes.forSearch('walk'))!;
      const run = (await service.tagIndexes.forSearch('run'))!;
      expect(await walk.has(m.id)).toBe(true);
      expect(await run.has(m.id)).toBe(false);
      const search = async (tag: string) =>
        (
          await api.http
            .get('/api/v1/meetups/nearby')
            .set(bearer(host.accessToken))
            .query({ ...far, radiusKm: 1, tag })
            .expect(200)
        ).body.items.map((i: Item) => i.id);
      expect(await search('walk')).toEqual([m.id]);
      await api.http
        .patch(`/api/v1/meetups/${m.id}`)
        .set(bearer(host.accessToken))
        .send({ tags: ['run'] })
        .expect(200);
      await settle();
      expect(await walk.has(m.id)).toBe(false);
      expect(await run.has(m.id)).toBe(true);
      expect(await search('run')).toEqual([m.id]);
      expect(await search('walk')).toEqual([]);
      // A change recorded before tags travelled with it still lands, with MySQL's tags; an older one is ignored.
      const { version } = await api.sequelize
        .query<{ version: number }>('SELECT geoVersion AS version FROM meetups WHERE id = ?', {
          replacements: [m.id],
          type: QueryTypes.SELECT,
        })
        .then((r) => r[0]);
      await service.applyGeo({
        meetupId: m.id,
        version: version - 1,
        indexed: true,
        lat: far.lat,
        lng: far.lng,
        tags: ['walk'],
      });
      expect(await walk.has(m.id)).toBe(false);
      await api.http
        .patch(`/api/v1/meetups/${m.id}`)
        .set(bearer(host.accessToken))
        .send({ location: { lat: 35.2, lng: 129.1 } })
        .expect(200);
      await settle();
      expect((await run.position(m.id))!.lat).toBeCloseTo(35.2, 5);
      await service.applyGeo({ meetupId: m.id, version: version + 1, indexed: true, lat: 35.2, lng: 129.1 });
      expect(await run.has(m.id)).toBe(true);
      expect(await walk.has(m.id)).toBe(false);
      await api.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
      await settle();
      expect(await run.has(m.id)).toBe(false);
    });

    it("holds a free tag MySQL's collation finds under a vocabulary tag (wâlk is walk)", async () => {
      const host = hosts[4];
      const far = { lat: 35.3, lng: 129.2 };
      const m = await makeMeetup(api, host, { location: far, startsAt: at(200 * HOUR), tags: ['wâlk'] });
      await settle();
      expect(await (await service.tagIndexes.forSearch('walk'))!.has(m.id)).toBe(true);
      const found = await api.http
        .get('/api/v1/meetups/nearby')
        .set(bearer(host.accessToken))
        .query({ ...far, radiusKm: 1, tag: 'walk' })
        .expect(200);
      expect(found.body.items.map((i: Item) => i.id)).toEqual([m.id]);
      await api.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
    });

    it('is not read until rebuilt whole: pages stay exact, and a cursor carries across', async () => {
      await settle();
      const q = { lat: CENTER.lat, lng: CENTER.lng, radiusKm: 50, tag: 'walk', hasFreePlaces: true };
      const want = await expected(q);
      const tags = service.tagIndexes;
      // Redis lost them (and the marker with them): searches read the main index meanwhile.
      // One key per DEL: on a Redis Cluster the keys live in different slots.
      for (const key of [tags.readyKey, ...tags.all().map((g) => g.key)]) await api.redis.del(key);
      expect(await tags.ready(true)).toBe(false);
      expect(await tags.forSearch('walk')).toBeNull();
      const first = await api.http
        .get('/api/v1/meetups/nearby')
        .set(bearer(hosts[0].accessToken))
        .query({ ...q, limit: 3 })
        .expect(200);
      expect(first.body.items).toHaveLength(3);
      // The sweep's heal rebuilds them; the cursor issued before reads on through the tag's index.
      expect(await healGeoIndex(tags.healable(), createLogger('silent'))).toBe(true);
      expect(await healGeoIndex(tags.healable(), createLogger('silent'))).toBe(false);
      expect(await tags.ready(true)).toBe(true);
      expect(await members('walk')).toEqual(await truth('walk'));
      const rest: Item[] = [];
      let cursor: string | null = first.body.nextCursor;
      while (cursor) {
        const res: { body: { items: Item[]; nextCursor: string | null } } = await api.http
          .get('/api/v1/meetups/nearby')
          .set(bearer(hosts[0].accessToken))
          .query({ ...q, limit: 3, cursor })
          .expect(200);
        rest.push(...res.body.items);
        cursor = res.body.nextCursor;
      }
      compareDistance([...first.body.items, ...rest], want);
    });

    it('signs its cursors with the tag: the search without it refuses them', async () => {
      const q = { lat: CENTER.lat, lng: CENTER.lng, radiusKm: 50, tag: 'walk' };
      const first = await api.http
        .get('/api/v1/meetups/nearby')
        .set(bearer(hosts[0].accessToken))
        .query({ ...q, limit: 2 })
        .expect(200);
      const cursor = first.body.nextCursor as string;
      expect(cursor).toEqual(expect.any(String));
      await api.http
        .get('/api/v1/meetups/nearby')
        .set(bearer(hosts[0].accessToken))
        .query({ ...q, limit: 2, cursor })
        .expect(200);
      const { tag: _tag, ...untagged } = q;
      const refused = await api.http
        .get('/api/v1/meetups/nearby')
        .set(bearer(hosts[0].accessToken))
        .query({ ...untagged, limit: 2, cursor });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain('query.cursor');
    });
  });

  it('by start time equals brute force, soonest first with ties by id', async () => {
    const q = { lat: CENTER.lat + 0.05, lng: CENTER.lng - 0.05, radiusKm: 15, sort: 'startsAt' };
    const items = await allPages(q, 6);
    const rows = (await expected(q)).filter((r) => !r.boundary);
    const got = items.map((i) => i.id);
    for (const r of rows) expect(got).toContain(r.id);
    for (let i = 1; i < items.length; i++) {
      const [a, b] = [items[i - 1], items[i]];
      expect(a.startsAt < b.startsAt || (a.startsAt === b.startsAt && a.id < b.id)).toBe(true);
    }
  });

  it.each([
    [{ radiusKm: 15 }, 6],
    [{ radiusKm: 50, tag: 'walk' }, 4],
    [{ radiusKm: 20, hasFreePlaces: true, from: at(12 * HOUR), to: at(60 * HOUR) }, 5],
    [{ radiusKm: 0.3 }, 1],
  ])(
    "by start time, the dense-circle plan (an index walk) gives the ids plan's pages for %j",
    async (filters, limit) => {
      const q = { lat: CENTER.lat, lng: CENTER.lng, sort: 'startsAt', ...filters };
      const listed = await allPages(q, limit);
      service.search.denseAt = 1; // every non-empty circle counts as dense
      try {
        const walked = await allPages(q, limit);
        expect(listed.length).toBeGreaterThan(0);
        expect(walked.map((i) => i.id)).toEqual(listed.map((i) => i.id));
        walked.forEach((w, i) => expect(Math.abs(w.distanceKm - listed[i].distanceKm)).toBeLessThan(0.002)); // Redis rounds positions to its geohash
        service.search.walkBudget = 2; // every walk cut short: each page falls back to the ids plan
        expect((await allPages(q, limit)).map((i) => i.id)).toEqual(listed.map((i) => i.id));
      } finally {
        service.search.denseAt = null;
        service.search.walkBudget = null;
      }
    },
  );

  it('never shows started meetups, and the sweep takes them out of the index', async () => {
    clock.set(at(30 * HOUR));
    try {
      const q = { lat: CENTER.lat, lng: CENTER.lng, radiusKm: 50 };
      const items = await allPages(q, 20);
      compareDistance(items, await expected(q));
      for (const item of items) expect(item.startsAt > clock.now().toISOString()).toBe(true);
      const { unindexed } = await service.sweep();
      expect(unindexed).toBeGreaterThan(0);
      await settle();
      const members = new Set((await api.redis.zrange(service.geo.key, 0, -1)).map(Number));
      const now = clock.now().toISOString();
      expect(known.filter((k) => members.has(k.id) !== (!k.cancelled && k.startsAt > now))).toEqual([]);
      compareDistance(await allPages(q, 20), await expected(q));
    } finally {
      clock.set(T0);
    }
  });

  it('a cancelled meetup leaves the index at once; a moved one moves', async () => {
    const host = hosts[1];
    const m = await makeMeetup(api, host, { location: { lat: 35.1, lng: 129.0 }, startsAt: at(200 * HOUR) });
    expect(await service.geo.has(m.id)).toBe(true);
    await api.http
      .patch(`/api/v1/meetups/${m.id}`)
      .set(bearer(host.accessToken))
      .send({ location: { lat: 35.2, lng: 129.1 } })
      .expect(200);
    const pos = await service.geo.position(m.id);
    expect(pos!.lat).toBeCloseTo(35.2, 5);
    const found = await api.http
      .get('/api/v1/meetups/nearby')
      .set(bearer(host.accessToken))
      .query({ lat: 35.2, lng: 129.1, radiusKm: 1 })
      .expect(200);
    expect(found.body.items.map((i: Item) => i.id)).toEqual([m.id]);
    expect(found.body.items[0].distanceKm).toBeLessThan(0.001);
    await api.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
    expect(await service.geo.has(m.id)).toBe(false);
    const gone = await api.http
      .get('/api/v1/meetups/nearby')
      .set(bearer(host.accessToken))
      .query({ lat: 35.2, lng: 129.1, radiusKm: 1 })
      .expect(200);
    expect(gone.body.items).toEqual([]);
  });

  it('a rolled-back create never reaches the index, and a replayed old change cannot resurrect a cancelled meetup', async () => {
    await settle();
    const host = hosts[2];
    const chat = api.pawmate.services.chat;
    const original = chat.createRoomInTx;
    const sizeBefore = await service.geo.size();
    const maxId = async () =>
      Number(
        (
          await api.sequelize.query<{ n: number }>('SELECT COALESCE(MAX(id), 0) AS n FROM meetups', {
            type: QueryTypes.SELECT,
          })
        )[0].n,
      );
    const lastId = await maxId();
    chat.createRoomInTx = async () => {
      throw new Error('boom');
    };
    try {
      const res = await api.http
        .post('/api/v1/meetups')
        .set(bearer(host.accessToken))
        .send({ title: 'x', location: CENTER, address: 'x', startsAt: at(5 * HOUR), capacity: 3 });
      expect(res.status).toBe(500);
    } finally {
      chat.createRoomInTx = original;
    }
    await settle();
    expect(await maxId()).toBe(lastId);
    expect(await service.geo.size()).toBe(sizeBefore);

    const m = await makeMeetup(api, host, { location: CENTER, startsAt: at(5 * HOUR) });
    await settle();
    await api.http.delete(`/api/v1/meetups/${m.id}`).set(bearer(host.accessToken)).expect(204);
    await settle();
    await service.applyGeo({ meetupId: m.id, version: 1, indexed: true, lat: CENTER.lat, lng: CENTER.lng });
    expect(await service.geo.has(m.id)).toBe(false);
  });

  it('leaves out meetups whose host deleted the account; they cannot be joined', async () => {
    const host = await signup(api);
    const m = await makeMeetup(api, host, { location: { lat: -33.86, lng: 151.2 }, startsAt: at(5 * HOUR) });
    const q = { lat: -33.86, lng: 151.2, radiusKm: 1 };
    const before = await api.http.get('/api/v1/meetups/nearby').set(bearer(hosts[0].accessToken)).query(q).expect(200);
    expect(before.body.items.map((i: Item) => i.id)).toEqual([m.id]);
    await api.http.delete('/api/v1/users/me').set(bearer(host.accessToken)).expect(204);
    const after = await api.http.get('/api/v1/meetups/nearby').set(bearer(hosts[0].accessToken)).query(q).expect(200);
    expect(after.body.items).toEqual([]);
    const view = await api.http.get(`/api/v1/meetups/${m.id}`).set(bearer(hosts[0].accessToken)).expect(200);
    expect(view.body.host).toMatchObject({ id: host.user.id, nickname: 'Deleted user', avatarUrl: null });
    await api.http.post(`/api/v1/meetups/${m.id}/participants`).set(bearer(hosts[0].accessToken)).expect(409);
  });

  it('is rebuilt from MySQL by reindexGeo', async () => {
    await settle();
    await api.redis.del(service.geo.key);
    const { count } = await service.reindexGeo({ batchSize: 7 });
    const rows = await api.sequelize.query<{ id: number }>('SELECT id FROM meetups WHERE geoIndexed = 1 ORDER BY id', {
      type: QueryTypes.SELECT,
    });
    expect(count).toBe(rows.length);
    const members = (await api.redis.zrange(service.geo.key, 0, -1)).map(Number).sort((a, b) => a - b);
    expect(members).toEqual(rows.map((r) => r.id));
  });

  it('is rebuilt by the reindex CLI with --kind meetups', async () => {
    await settle();
    const stray = 4_000_000;
    await service.geo.upsert([{ id: stray, lat: 1, lng: 1 }]);
    const walk = (await service.tagIndexes.forSearch('walk'))!;
    await walk.upsert([{ id: stray, lat: 1, lng: 1 }]);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    expect(await reindexCli(['--kind', 'bogus'], {}, io)).toBe(2);
    const env = {
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      REDIS_PREFIX: ctx.config.redisPrefix,
    };
    expect(await reindexCli(['--kind', 'meetups', '--batch', '9'], env, io)).toBe(0);
    const rows = await api.sequelize.query<{ id: number }>('SELECT id FROM meetups WHERE geoIndexed = 1 ORDER BY id', {
      type: QueryTypes.SELECT,
    });
    expect(out[out.length - 1]).toMatch(new RegExp(`^done: ${rows.length} meetups in ${service.geo.key}`));
    const members = (await api.redis.zrange(service.geo.key, 0, -1)).map(Number).sort((x, y) => x - y);
    expect(members).toEqual(rows.map((r) => r.id));
    const walkers = await api.sequelize.query<{ id: number }>(
      `SELECT t.meetupId AS id FROM meetup_tags t JOIN meetups m ON m.id = t.meetupId
        WHERE t.tag = 'walk' AND m.geoIndexed = 1 ORDER BY t.meetupId`,
      { type: QueryTypes.SELECT },
    );
    const walkMembers = (await api.redis.zrange(walk.key, 0, -1)).map(Number).sort((x, y) => x - y);
    expect(walkMembers).toEqual(walkers.map((r) => r.id));
  });

  it.each([
    [{ lat: 37.5, lng: 127, radiusKm: 51 }, 'query.radiusKm'],
    [{ lat: 37.5, lng: 127, radiusKm: 0 }, 'query.radiusKm'],
    [{ lat: 86, lng: 127 }, 'query.lat'],
    [{ lng: 127 }, 'query.lat'],
    [{ lat: 37.5, lng: 127, sort: 'rating' }, 'query.sort'],
    [{ lat: 37.5, lng: 127, tag: 'two words' }, 'query.tag'],
    [{ lat: 37.5, lng: 127, limit: 101 }, 'query.limit'],
    [{ lat: 37.5, lng: 127, cursor: 'garbage' }, 'query.cursor'],
    [{ lat: 37.5, lng: 127, from: at(48 * HOUR), to: at(24 * HOUR) }, 'query.to'],
    [{ lat: 37.5, lng: 127, from: 'soon' }, 'query.from'],
    [{ lat: 37.5, lng: 127, to: '1999-12-31T00:00:00Z' }, 'query.to'],
    [
      {
        lat: 37.5,
        lng: 127,
        sort: 'startsAt',
        cursor: Buffer.from(JSON.stringify({ s: 'startsAt', t: '0001-01-01T00:00:00Z', i: 1 })).toString('base64url'),
      },
      'query.cursor',
    ],
  ])('validates %j (%s)', async (query, path) => {
    const res = await api.http.get('/api/v1/meetups/nearby').set(bearer(hosts[0].accessToken)).query(query).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses a cursor of the other sort', async () => {
    const first = await api.http
      .get('/api/v1/meetups/nearby')
      .set(bearer(hosts[0].accessToken))
      .query({ ...CENTER, radiusKm: 50, limit: 1 })
      .expect(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const res = await api.http
      .get('/api/v1/meetups/nearby')
      .set(bearer(hosts[0].accessToken))
      .query({ ...CENTER, radiusKm: 50, sort: 'startsAt', cursor: first.body.nextCursor })
      .expect(400);
    expect(res.body.errors[0].path).toBe('query.cursor');
  });
});
