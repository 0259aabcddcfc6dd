import { TestContext, bearer, type TestInstance } from './helpers/context';
import { makeSitter } from './helpers/fixtures';
import { eventually } from './helpers/faults';
import { sittersGeoIndex } from '../src/modules/sitters/sitters.module';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
});
afterAll(() => ctx.close());

describe('deleting an account that is a sitter', () => {
  it('takes the sitter out of search, the public profile and the geo index', async () => {
    const location = { lat: 33.4996, lng: 126.5312 };
    const { user, sitter } = await makeSitter(api, { location });
    const geo = sittersGeoIndex({ redis: api.redis, config: ctx.config });
    await eventually(() => geo.has(sitter.id), 5000, 'sitter indexed');
    const search = () => api.http.get(`/api/v1/sitters/search?lat=${location.lat}&lng=${location.lng}&radiusKm=1`).expect(200);
    expect((await search()).body.items.map((s: { id: number }) => s.id)).toContain(sitter.id);

    await api.http.delete('/api/v1/users/me').set(bearer(user.accessToken)).expect(204);

    await eventually(async () => !(await geo.has(sitter.id)), 5000, 'sitter removed from the index');
    expect((await search()).body.items.map((s: { id: number }) => s.id)).not.toContain(sitter.id);
    await api.http.get(`/api/v1/sitters/${sitter.id}`).expect(404);
  });
});
