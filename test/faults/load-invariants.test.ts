import { TestContext, bearer } from '../helpers/context';
import { makeOwner, makeSitter } from '../helpers/fixtures';
import { checkInvariants, waitForOutbox } from '../../scripts/load/invariants';

/**
 * The checks `npm run load` ends with must be able to fail: a database made consistent through the
 * API passes them, and the same database with an overbooking or a lost notification written behind
 * the API's back does not.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await new TestContext().setup();
}, 60_000);
afterAll(() => ctx.close());

const day = new Date(Date.now() + 12 * 86_400_000).toISOString().slice(0, 10);

it('passes on a consistent database and catches overbooking and lost notifications', async () => {
  const api = await ctx.instance();
  const { user: sitterUser, sitter } = await makeSitter(api, { maxPets: 1 });
  const ids: number[] = [];
  for (let i = 0; i < 2; i++) {
    const { owner, pet } = await makeOwner(api);
    const r = await api.http
      .post('/api/v1/reservations')
      .set(bearer(owner.accessToken))
      .send({ sitterId: sitter.id, service: 'boarding', petIds: [pet.id], startDate: day, endDate: day })
      .expect(201);
    ids.push(r.body.id);
  }
  await api.http.post(`/api/v1/reservations/${ids[0]}/accept`).set(bearer(sitterUser.accessToken)).expect(200);
  // The second accept is past capacity: the API refuses it.
  await api.http.post(`/api/v1/reservations/${ids[1]}/accept`).set(bearer(sitterUser.accessToken)).expect(409);
  expect(await waitForOutbox(ctx.config.databaseUrl, 15_000)).toBe(0);

  const good = await checkInvariants(ctx.config.databaseUrl, [], []);
  expect(good.filter((c) => !c.ok)).toEqual([]);

  // Behind the API's back: the refused reservation accepted anyway, and one notification lost.
  await api.sequelize.query("UPDATE reservations SET status = 'accepted' WHERE id = ?", { replacements: [ids[1]] });
  await api.sequelize.query("DELETE FROM notifications WHERE type = 'reservation.requested' ORDER BY id DESC LIMIT 1");
  const bad = await checkInvariants(ctx.config.databaseUrl, [], []);
  const broken = bad.filter((c) => !c.ok).map((c) => c.name);
  expect(broken).toEqual(expect.arrayContaining(['no overbooked day', 'notifications match reservations']));
});
