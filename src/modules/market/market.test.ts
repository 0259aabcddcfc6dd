import { QueryTypes } from 'sequelize';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { ManualClock, bearer, signup, startContext, LONG_TOKENS } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { image } from '../../../test/helpers/images';
import { SseClient } from '../../../test/faults/sse-client';
import { bulkUsers } from '../../../scripts/bench/bulk-users';
import { settleOutbox } from '../../../test/helpers/outbox';
import { apiOf, errorPaths as paths } from '../../../test/helpers/api';

const clock = new ManualClock('2027-03-01T03:00:00.000Z');
let ctx: TestContext;
let api: TestInstance;
let api2: TestInstance;

beforeAll(async () => {
  [ctx, api, api2] = await startContext({ clock, env: LONG_TOKENS }, 2);
});
afterAll(() => ctx.close());

const { auth, get, post, put, patch, del, count } = apiOf(() => api);

const HERE = { lat: 37.5547, lng: 126.9707 };

async function makeListing(s: Session, o: Record<string, unknown> = {}) {
  const res = await post(s, '/market/listings', {
    title: '강아지 이동장',
    description: 'Used twice',
    category: 'furniture',
    price: 20000,
    location: HERE,
    address: 'Seoul Station',
    ...o,
  });
  if (res.status !== 201) throw new Error(`listing failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; price: number; favoriteCount: number; offerCount: number };
}

const settle = () => settleOutbox(api, clock, { allowDead: true });

async function notificationsOf(s: Session, type: string) {
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((n) => n.type === type);
}

const nearbyIds = async (s: Session, query: Record<string, unknown> = {}) =>
  (
    await get(s, '/market/listings/nearby')
      .query({ ...HERE, limit: 100, ...query })
      .expect(200)
  ).body.items.map((i: { id: number }) => i.id) as number[];

describe('listings', () => {
  it('creates, reads, edits and deletes a listing; bounds are 400 naming the field; no mass assignment', async () => {
    const a = await signup(api, { nickname: 'Seller' });
    const b = await signup(api);
    const created = await post(a, '/market/listings', {
      title: '  고양이 캣타워  ',
      category: 'furniture',
      price: 0,
      location: HERE,
      address: 'Yongsan',
      sellerId: b.user.id,
      favoriteCount: 99,
      status: 'sold',
    }).expect(201);
    expect(created.body).toMatchObject({
      seller: { id: a.user.id, nickname: 'Seller', avatarUrl: null },
      title: '고양이 캣타워',
      description: '',
      category: 'furniture',
      price: 0,
      status: 'on_sale',
      photos: [],
      location: HERE,
      address: 'Yongsan',
      favoriteCount: 0,
      favoritedByMe: false,
      offerCount: 0,
      buyerId: null,
      deleted: false,
    });
    const id = created.body.id;
    expect((await get(b, `/market/listings/${id}`).expect(200)).body.title).toBe('고양이 캣타워');
    await patch(b, `/market/listings/${id}`, { price: 1 }).expect(403);
    const edited = await patch(a, `/market/listings/${id}`, { price: 5000, title: 'Cat tower' }).expect(200);
    expect(edited.body).toMatchObject({ price: 5000, title: 'Cat tower', address: 'Yongsan' });

    const bad = await post(a, '/market/listings', {
      title: 'x'.repeat(61),
      description: 'y'.repeat(5001),
      category: 'cars',
      price: 100_000_001,
      location: { lat: 91, lng: 0 },
    }).expect(400);
    expect(paths(bad).sort()).toEqual(
      ['body.address', 'body.category', 'body.description', 'body.location.lat', 'body.price', 'body.title'].sort(),
    );
    expect(paths(await patch(a, `/market/listings/${id}`, { price: -1 }).expect(400))).toEqual(['body.price']);
    expect(paths(await patch(a, `/market/listings/${id}`, {}).expect(400))).toEqual(['body']);

    await del(b, `/market/listings/${id}`).expect(403);
    await del(a, `/market/listings/${id}`).expect(204);
    await get(a, `/market/listings/${id}`).expect(404);
    await get(b, `/market/listings/${id}`).expect(404);
    await settle();
    expect(await nearbyIds(a)).not.toContain(id);
  });

  it('at most 50 listings on sale per seller (409), counted under the seller lock', async () => {
    const a = await signup(api);
    const now = new Date();
    await api.sequelize.query(
      `INSERT INTO market_listings (sellerId, title, description, category, price, lat, lng, address, searchText, createdAt, updatedAt)
       VALUES ${Array.from({ length: 49 }, () => "(?, 't', '', 'food', 1, 37.5, 127, 'a', 'zqt', ?, ?)").join(', ')}`,
      { replacements: Array.from({ length: 49 }, () => [a.user.id, now, now]).flat() },
    );
    // Two at once for the 50th place: exactly one gets it.
    const both = await Promise.all([
      api.http.post('/api/v1/market/listings').set(auth(a)).send({
        title: 'a',
        category: 'food',
        price: 1,
        location: HERE,
        address: 'x',
      }),
      api2.http.post('/api/v1/market/listings').set(auth(a)).send({
        title: 'b',
        category: 'food',
        price: 1,
        location: HERE,
        address: 'x',
      }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(
      await count("SELECT COUNT(*) AS n FROM market_listings WHERE sellerId = ? AND status = 'on_sale'", [a.user.id]),
    ).toBe(50);
  });

  it('listing creation is rate limited: 429 with Retry-After', async () => {
    const a = await signup(api);
    for (let i = 0; i < 20; i++) await makeListing(a, { title: `item ${i}` });
    const res = await post(a, '/market/listings', {
      title: 'one more',
      category: 'food',
      price: 1,
      location: HERE,
      address: 'x',
    }).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body.code).toBe('RATE_LIMITED');
  });

  it('photos: WebP through the one pipeline, at most 10 (409), none once sold', async () => {
    const a = await signup(api);
    const l = await makeListing(a);
    const up = await api.http
      .post(`/api/v1/market/listings/${l.id}/photos`)
      .set(auth(a))
      .attach('image', await image('jpeg'), 'p.jpg')
      .expect(201);
    expect(up.body.url).toMatch(/\.webp$/);
    expect(up.body.thumbnailUrl).toMatch(/\.webp$/);
    expect((await get(a, `/market/listings/${l.id}`).expect(200)).body.photos).toEqual([up.body]);
    await api.sequelize.query('UPDATE market_listings SET photoCount = 10 WHERE id = ?', { replacements: [l.id] });
    await api.http
      .post(`/api/v1/market/listings/${l.id}/photos`)
      .set(auth(a))
      .attach('image', await image('png'), 'p.png')
      .expect(409);
    await api.sequelize.query('UPDATE market_listings SET photoCount = 1 WHERE id = ?', { replacements: [l.id] });
    await del(a, `/market/listings/${l.id}/photos/${up.body.id}`).expect(204);
    expect((await get(a, `/market/listings/${l.id}`).expect(200)).body.photos).toEqual([]);
  });
});

describe('favourites and price drops', () => {
  it('favourite is idempotent; the count is exact under 400 concurrent users over two instances', async () => {
    const a = await signup(api);
    const l = await makeListing(a);
    const me = await signup(api);
    expect((await put(me, `/market/listings/${l.id}/favorite`).expect(200)).body).toEqual({
      favoriteCount: 1,
      favoritedByMe: true,
    });
    expect((await put(me, `/market/listings/${l.id}/favorite`).expect(200)).body.favoriteCount).toBe(1);
    const users = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 400, 'fav', 90 * 24 * 3600);
    const send = (i: number, on: boolean) => {
      const inst = i % 2 ? api2 : api;
      const req = on
        ? inst.http.put(`/api/v1/market/listings/${l.id}/favorite`)
        : inst.http.delete(`/api/v1/market/listings/${l.id}/favorite`);
      return req.set('authorization', `Bearer ${users[i].token}`);
    };
    // A request that waited past the pool's acquire timeout is a 503 that changed nothing: the
    // expected set follows the 200s.
    const favored = new Set<number>([me.user.id]);
    const first = await Promise.all(users.map((_, i) => send(i, true)));
    first.forEach((r, i) => r.status === 200 && favored.add(users[i].id));
    const second = await Promise.all(users.map((_, i) => send(i, i % 3 !== 0)));
    second.forEach((r, i) => {
      if (r.status !== 200) return;
      if (i % 3 !== 0) favored.add(users[i].id);
      else favored.delete(users[i].id);
    });
    expect([...new Set([...first, ...second].map((r) => r.status))].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(second.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    const rows = await api.sequelize.query<{ userId: number }>(
      'SELECT userId FROM market_favorites WHERE listingId = ? ORDER BY userId',
      { replacements: [l.id], type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => Number(r.userId))).toEqual([...favored].sort((x, y) => x - y));
    expect((await get(me, `/market/listings/${l.id}`).expect(200)).body).toMatchObject({
      favoriteCount: rows.length,
      favoritedByMe: true,
    });
    const mine = await get(me, '/market/favorites').expect(200);
    expect(mine.body.items.map((i: { id: number }) => i.id)).toEqual([l.id]);
    await del(me, `/market/listings/${l.id}/favorite`).expect(200);
    expect((await get(me, '/market/favorites').expect(200)).body.items).toEqual([]);
  }, 60_000);

  it('a price drop reaches 2500 favourites in batches from the outbox, live on their streams, once each', async () => {
    const seller = await signup(api);
    const l = await makeListing(seller, { price: 50000 });
    const users = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 2500, 'drop', 90 * 24 * 3600);
    const blocker = users[7];
    const now = new Date();
    await api.sequelize.query(
      `INSERT INTO market_favorites (listingId, userId, createdAt) VALUES ${users.map(() => '(?, ?, ?)').join(', ')}`,
      { replacements: users.flatMap((u) => [l.id, u.id, now]) },
    );
    await api.sequelize.query('UPDATE market_listings SET favoriteCount = ? WHERE id = ?', {
      replacements: [users.length, l.id],
    });
    await api.http.put(`/api/v1/users/${seller.user.id}/block`).set(bearer(blocker.token)).expect(204);
    // 40 streams open on both instances, among them the last favourite (the last batch).
    const watched = [...users.slice(0, 20), ...users.slice(-20)].filter((u) => u !== blocker);
    const streams = watched.map((u) => new SseClient(u.token));
    await Promise.all(streams.map((s, i) => s.connect(i % 2 ? api2.url : api.url)));
    try {
      const before = await count('SELECT COUNT(*) AS n FROM notifications');
      await patch(seller, `/market/listings/${l.id}`, { price: 45000 }).expect(200);
      await settle();
      const drops = await api.sequelize.query<{ notified: number; doneAt: Date | null; afterUserId: number }>(
        'SELECT notified, doneAt, afterUserId FROM market_price_drops WHERE listingId = ?',
        { replacements: [l.id], type: QueryTypes.SELECT },
      );
      expect(drops).toHaveLength(1);
      expect(Number(drops[0].notified)).toBe(users.length - 1);
      expect(drops[0].doneAt).not.toBeNull();
      expect((await count('SELECT COUNT(*) AS n FROM notifications')) - before).toBe(users.length - 1);
      expect(
        await count("SELECT COUNT(*) AS n FROM notifications WHERE type = 'market.price_drop' AND recipientId = ?", [
          blocker.id,
        ]),
      ).toBe(0);
      // Running the handler again (an outbox row carried out twice) notifies nobody again.
      expect(
        await api.pawmate.services.market.favorites.fanOutPriceDrop(
          Number(
            (
              await api.sequelize.query<{ id: number }>('SELECT id FROM market_price_drops WHERE listingId = ?', {
                replacements: [l.id],
                type: QueryTypes.SELECT,
              })
            )[0].id,
          ),
        ),
      ).toBe(0);
      for (let i = 0; i < 100 && streams.some((s) => !s.notifications().length); i++)
        await new Promise((r) => setTimeout(r, 50));
      for (const s of streams) {
        const got = s.notifications() as unknown as { type: string; data: { listingId: number; newPrice: number } }[];
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({ type: 'market.price_drop', data: { listingId: l.id, newPrice: 45000 } });
      }
      // A raise notifies nobody.
      await patch(seller, `/market/listings/${l.id}`, { price: 60000 }).expect(200);
      expect(await count('SELECT COUNT(*) AS n FROM market_price_drops WHERE listingId = ?', [l.id])).toBe(1);
    } finally {
      streams.forEach((s) => s.close());
    }
  }, 120_000);
});

describe('offers, trade chat, moves and reviews', () => {
  it('concurrent offers over two instances: one listing room per buyer, exact offerCount, the seller notified live', async () => {
    const seller = await signup(api);
    const l = await makeListing(seller);
    const [b1, b2] = [await signup(api), await signup(api)];
    const stream = new SseClient(seller.accessToken);
    await stream.connect(api2.url);
    try {
      const offers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? api2 : api).http
            .post(`/api/v1/market/listings/${l.id}/offers`)
            .set(auth(i % 3 ? b1 : b2))
            .send({ price: 15000 + i, message: `offer ${i}` }),
        ),
      );
      expect(offers.map((o) => o.status)).toEqual(Array(12).fill(201));
      const roomOf = (b: Session) =>
        new Set(offers.filter((o) => o.body.buyer.id === b.user.id).map((o) => o.body.chatRoomId));
      expect(roomOf(b1).size).toBe(1);
      expect(roomOf(b2).size).toBe(1);
      expect([...roomOf(b1)][0]).not.toBe([...roomOf(b2)][0]);
      expect(await count("SELECT COUNT(*) AS n FROM chat_rooms WHERE type = 'listing' AND listingId = ?", [l.id])).toBe(
        2,
      );
      expect((await get(seller, `/market/listings/${l.id}`).expect(200)).body.offerCount).toBe(12);

      const room = [...roomOf(b1)][0];
      const rooms = await get(seller, '/chat/rooms').expect(200);
      expect(rooms.body.items.find((r: { id: number }) => r.id === room)).toMatchObject({
        type: 'listing',
        listingId: l.id,
      });
      const msg = await post(b1, `/chat/rooms/${room}/messages`, { body: '내일 가능해요?', clientId: 'c-1' }).expect(
        201,
      );
      const again = await post(b1, `/chat/rooms/${room}/messages`, { body: '내일 가능해요?', clientId: 'c-1' }).expect(
        200,
      );
      expect(again.body.id).toBe(msg.body.id);
      await get(b2, `/chat/rooms/${room}/messages`).expect(404);

      await settle();
      for (let i = 0; i < 100 && stream.notifications().length < 12; i++) await new Promise((r) => setTimeout(r, 50));
      const live = stream.notifications().filter((n) => n.type === 'market.offer');
      expect(live).toHaveLength(12);

      const list = await get(seller, `/market/listings/${l.id}/offers?limit=5`).expect(200);
      expect(list.body.items).toHaveLength(5);
      expect(list.body.nextCursor).not.toBeNull();
      await get(b1, `/market/listings/${l.id}/offers`).expect(404);
      await post(seller, `/market/listings/${l.id}/offers`, {}).expect(403);
      expect(paths(await post(b1, `/market/listings/${l.id}/offers`, { price: -5 }).expect(400))).toEqual([
        'body.price',
      ]);
    } finally {
      stream.close();
    }
  });

  it('offers are rate limited per buyer: the 31st in 10 minutes is 429 with Retry-After, and writes nothing', async () => {
    const seller = await signup(api);
    const l = await makeListing(seller);
    const buyer = await signup(api);
    for (let i = 0; i < 30; i++) await post(buyer, `/market/listings/${l.id}/offers`, { price: 1000 + i }).expect(201);
    const res = await post(buyer, `/market/listings/${l.id}/offers`, { price: 1 }).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(await count('SELECT COUNT(*) AS n FROM market_offers WHERE listingId = ?', [l.id])).toBe(30);
  });

  it('the seller moves: reserve, reopen, sell; other moves 409; concurrent sells: exactly one 200; buyerId private', async () => {
    const seller = await signup(api);
    const l = await makeListing(seller);
    const [b1, b2, stranger] = [await signup(api), await signup(api), await signup(api)];
    expect(paths(await post(seller, `/market/listings/${l.id}/reserve`, { buyerId: b1.user.id }).expect(400))).toEqual([
      'body.buyerId',
    ]);
    await post(b1, `/market/listings/${l.id}/offers`, { price: 18000 }).expect(201);
    await post(b2, `/market/listings/${l.id}/offers`, {}).expect(201);
    await post(b1, `/market/listings/${l.id}/reserve`, { buyerId: b1.user.id }).expect(403);
    await post(seller, `/market/listings/${l.id}/reopen`).expect(409);
    const reserved = await post(seller, `/market/listings/${l.id}/reserve`, { buyerId: b1.user.id }).expect(200);
    expect(reserved.body).toMatchObject({ status: 'reserved', buyerId: b1.user.id });
    expect((await get(b1, `/market/listings/${l.id}`).expect(200)).body.buyerId).toBe(b1.user.id);
    expect((await get(b2, `/market/listings/${l.id}`).expect(200)).body.buyerId).toBeNull();
    await post(seller, `/market/listings/${l.id}/reserve`, { buyerId: b2.user.id }).expect(409);
    await post(seller, `/market/listings/${l.id}/sell`, { buyerId: b2.user.id }).expect(409);
    expect((await post(seller, `/market/listings/${l.id}/reopen`).expect(200)).body).toMatchObject({
      status: 'on_sale',
      buyerId: null,
    });
    // Back on sale: in the default search again.
    await settle();
    expect(await nearbyIds(stranger)).toContain(l.id);

    const sells = await Promise.all([
      api.http.post(`/api/v1/market/listings/${l.id}/sell`).set(auth(seller)).send({ buyerId: b1.user.id }),
      api2.http.post(`/api/v1/market/listings/${l.id}/sell`).set(auth(seller)).send({ buyerId: b2.user.id }),
      api.http.post(`/api/v1/market/listings/${l.id}/sell`).set(auth(seller)).send({ buyerId: b2.user.id }),
    ]);
    expect(sells.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const winner = sells.find((r) => r.status === 200)!.body.buyerId as number;
    const [buyer, loser] = winner === b1.user.id ? [b1, b2] : [b2, b1];
    await post(seller, `/market/listings/${l.id}/reopen`).expect(409);
    await patch(seller, `/market/listings/${l.id}`, { title: 'changed' }).expect(409);
    expect(await nearbyIds(stranger)).not.toContain(l.id);
    expect(await nearbyIds(stranger, { status: 'sold' })).toContain(l.id);
    expect((await get(stranger, `/market/listings/${l.id}`).expect(200)).body).toMatchObject({
      status: 'sold',
      buyerId: null,
    });
    await settle();
    expect(await notificationsOf(buyer, 'market.sold')).toHaveLength(1);
    expect(await notificationsOf(loser, 'market.sold')).toHaveLength(0);
  });

  it('reviews: after sold, once per direction (concurrent repeats: one 201), trade-rating exact; history survives deletion', async () => {
    const seller = await signup(api);
    const [buyer, other] = [await signup(api), await signup(api)];
    const l = await makeListing(seller);
    const offer = await post(buyer, `/market/listings/${l.id}/offers`, { message: '살게요' }).expect(201);
    await post(buyer, `/market/listings/${l.id}/review`, { rating: 5 }).expect(409);
    await post(seller, `/market/listings/${l.id}/sell`, { buyerId: buyer.user.id }).expect(200);
    await post(other, `/market/listings/${l.id}/review`, { rating: 1 }).expect(403);
    expect(paths(await post(buyer, `/market/listings/${l.id}/review`, { rating: 6 }).expect(400))).toEqual([
      'body.rating',
    ]);
    const twice = await Promise.all([
      api.http.post(`/api/v1/market/listings/${l.id}/review`).set(auth(buyer)).send({ rating: 4, comment: '친절' }),
      api2.http.post(`/api/v1/market/listings/${l.id}/review`).set(auth(buyer)).send({ rating: 2 }),
    ]);
    expect(twice.map((r) => r.status).sort()).toEqual([201, 409]);
    const given = twice.find((r) => r.status === 201)!.body.rating as number;
    await post(seller, `/market/listings/${l.id}/review`, { rating: 3 }).expect(201);
    // A second trade of the same seller: the rating is the exact average of both.
    const l2 = await makeListing(seller);
    await post(other, `/market/listings/${l2.id}/offers`, {}).expect(201);
    await post(seller, `/market/listings/${l2.id}/sell`, { buyerId: other.user.id }).expect(200);
    await post(other, `/market/listings/${l2.id}/review`, { rating: 5 }).expect(201);
    expect((await get(other, `/users/${seller.user.id}/trade-rating`).expect(200)).body).toEqual({
      average: Math.round(((given + 5) / 2) * 100) / 100,
      count: 2,
    });
    expect((await get(other, `/users/${buyer.user.id}/trade-rating`).expect(200)).body).toEqual({
      average: 3,
      count: 1,
    });
    expect((await get(other, `/users/${other.user.id}/trade-rating`).expect(200)).body).toEqual({
      average: null,
      count: 0,
    });

    await del(seller, `/market/listings/${l.id}`).expect(204);
    await get(other, `/market/listings/${l.id}`).expect(404);
    for (const party of [seller, buyer]) {
      expect((await get(party, `/market/listings/${l.id}`).expect(200)).body).toMatchObject({
        deleted: true,
        status: 'sold',
      });
      expect((await get(party, `/market/listings/${l.id}/reviews`).expect(200)).body.items).toHaveLength(2);
      await get(party, `/chat/rooms/${offer.body.chatRoomId}/messages`).expect(200);
    }
    await get(other, `/market/listings/${l.id}/reviews`).expect(404);
  });
});

describe('safety and accounts', () => {
  it('a blocked pair does not see each other’s listings and cannot make offers (409)', async () => {
    const seller = await signup(api);
    const [blocked, fan] = [await signup(api), await signup(api)];
    const l = await makeListing(seller, { title: 'Dog bed' });
    await put(fan, `/market/listings/${l.id}/favorite`).expect(200);
    await api.http.put(`/api/v1/users/${blocked.user.id}/block`).set(auth(seller)).expect(204);
    await settle();
    await get(blocked, `/market/listings/${l.id}`).expect(404);
    expect(await nearbyIds(blocked)).not.toContain(l.id);
    expect(await nearbyIds(fan)).toContain(l.id);
    await post(blocked, `/market/listings/${l.id}/offers`, {}).expect(409);
    await put(blocked, `/market/listings/${l.id}/favorite`).expect(404);
    // The fan blocks the seller: the favourite leaves the fan's list.
    await api.http.put(`/api/v1/users/${seller.user.id}/block`).set(auth(fan)).expect(204);
    expect((await get(fan, '/market/favorites').expect(200)).body.items).toEqual([]);
  });

  it('an offer on a deleted listing is 404 even for a blocked pair: the block does not reveal the id', async () => {
    const seller = await signup(api);
    const blocked = await signup(api);
    const l = await makeListing(seller, { title: 'Old crate' });
    await del(seller, `/market/listings/${l.id}`).expect(204);
    await api.http.put(`/api/v1/users/${blocked.user.id}/block`).set(auth(seller)).expect(204);
    // The same answer as for an id that never existed.
    await post(blocked, `/market/listings/${l.id}/offers`, {}).expect(404);
    await post(blocked, '/market/listings/999999999/offers', {}).expect(404);
  });

  it('listings are reportable; five reporters take one out of search, its seller still sees it', async () => {
    const seller = await signup(api);
    const l = await makeListing(seller);
    await settle();
    const reporters = await Promise.all(Array.from({ length: 5 }, () => signup(api)));
    for (const r of reporters)
      await post(r, '/reports', { targetType: 'listing', targetId: l.id, reason: 'scam' }).expect(202);
    await settle();
    await get(reporters[0], `/market/listings/${l.id}`).expect(404);
    expect(await nearbyIds(reporters[0])).not.toContain(l.id);
    await get(seller, `/market/listings/${l.id}`).expect(200);
    await post(reporters[0], '/reports', { targetType: 'listing', targetId: 999999, reason: 'scam' }).expect(404);
  });

  it('account deletion: unsold listings go, sold ones stay for the buyer; favourites and reservations released', async () => {
    const seller = await signup(api);
    const buyer = await signup(api);
    const onSale = await makeListing(seller);
    const sold = await makeListing(seller);
    await post(buyer, `/market/listings/${sold.id}/offers`, {}).expect(201);
    await post(seller, `/market/listings/${sold.id}/sell`, { buyerId: buyer.user.id }).expect(200);
    const other = await signup(api);
    const theirs = await makeListing(other);
    await put(seller, `/market/listings/${theirs.id}/favorite`).expect(200);
    await post(seller, `/market/listings/${theirs.id}/offers`, {}).expect(201);
    await post(other, `/market/listings/${theirs.id}/reserve`, { buyerId: seller.user.id }).expect(200);

    await api.http.delete('/api/v1/users/me').set(auth(seller)).expect(204);
    await settle();
    await get(buyer, `/market/listings/${onSale.id}`).expect(404);
    expect(await nearbyIds(buyer)).not.toContain(onSale.id);
    expect((await get(buyer, `/market/listings/${sold.id}`).expect(200)).body).toMatchObject({
      status: 'sold',
      seller: { id: seller.user.id, nickname: 'Deleted user' },
    });
    expect((await get(other, `/market/listings/${theirs.id}`).expect(200)).body).toMatchObject({
      favoriteCount: 0,
      status: 'on_sale',
      buyerId: null,
    });
  });
});
