import { QueryTypes } from 'sequelize';
import { type TestContext, bearer, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { joinGroup } from '../../../test/helpers/groups';

let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  [ctx, api] = await startContext();
});
afterAll(() => ctx.close());

const auth = (s: Session) => bearer(s.accessToken);
const get = (s: Session, p: string) => api.http.get(`/api/v1${p}`).set(auth(s));
const post = (s: Session, p: string, body: object = {}) => api.http.post(`/api/v1${p}`).set(auth(s)).send(body);
const patch = (s: Session, p: string, body: object) => api.http.patch(`/api/v1${p}`).set(auth(s)).send(body);
const del = (s: Session, p: string) => api.http.delete(`/api/v1${p}`).set(auth(s));
const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);

async function makeGroup(s: Session, name = 'Family') {
  const res = await post(s, '/groups', { name });
  if (res.status !== 201) throw new Error(`group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; chatRoomId: number; memberCount: number; myRole: string };
}

/** Joins without an invite (the invite flow has its own tests). */
const join = (groupId: number, s: Session) => joinGroup(api, groupId, s);

describe('groups', () => {
  it('creates a group with its owner and a group chat room; reads and lists it', async () => {
    const a = await signup(api);
    const res = await post(a, '/groups', { name: '  Kim family ', description: 'Walks and vets', extra: 1 }).expect(
      201,
    );
    expect(res.body).toMatchObject({
      name: 'Kim family',
      description: 'Walks and vets',
      avatarUrl: null,
      memberCount: 1,
      myRole: 'owner',
    });
    expect(res.body.chatRoomId).toEqual(expect.any(Number));
    const room = await get(a, `/chat/rooms/${res.body.chatRoomId}`).expect(200);
    expect(room.body).toMatchObject({ type: 'group', groupId: res.body.id, memberCount: 1 });
    expect((await get(a, `/groups/${res.body.id}`).expect(200)).body).toEqual(res.body);
    const list = await get(a, '/groups').expect(200);
    expect(list.body.items.map((g: { id: number }) => g.id)).toEqual([res.body.id]);
    expect(list.body.nextCursor).toBeNull();
  });

  it('answers 404 to non-members and 403 to members without the role; bad input names the field', async () => {
    const a = await signup(api);
    const b = await signup(api);
    const c = await signup(api);
    const g = await makeGroup(a);
    await join(g.id, b);
    await get(c, `/groups/${g.id}`).expect(404);
    await get(c, `/groups/${g.id}/members`).expect(404);
    await patch(c, `/groups/${g.id}`, { name: 'x' }).expect(404);
    await del(c, `/groups/${g.id}`).expect(404);
    await get(c, `/chat/rooms/${g.chatRoomId}`).expect(404);
    await patch(b, `/groups/${g.id}`, { name: 'Mine now' }).expect(403);
    await del(b, `/groups/${g.id}`).expect(403);
    const bad = await post(a, '/groups', { name: 'x'.repeat(41) }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.name']);
    const edited = await patch(a, `/groups/${g.id}`, { description: 'Our dogs' }).expect(200);
    expect(edited.body).toMatchObject({ description: 'Our dogs', memberCount: 2 });
  });

  it('caps groups owned per user at 10 (409)', async () => {
    const a = await signup(api);
    await Promise.all(Array.from({ length: 12 }, (_, i) => post(a, '/groups', { name: `G${i}` })));
    expect(await count('SELECT COUNT(*) AS n FROM `groups` WHERE ownerId = ?', [a.user.id])).toBe(10);
    const res = await post(a, '/groups', { name: 'One more' }).expect(409);
    expect(res.body.code).toBe('CONFLICT');
  });

  it('roles: the owner promotes, admins remove plain members, the owner hands over before leaving', async () => {
    const [a, b, c, d] = await Promise.all([signup(api), signup(api), signup(api), signup(api)]);
    const g = await makeGroup(a);
    for (const s of [b, c, d]) await join(g.id, s);
    await patch(b, `/groups/${g.id}/members/${c.user.id}`, { role: 'admin' }).expect(403);
    const promoted = await patch(a, `/groups/${g.id}/members/${b.user.id}`, { role: 'admin' }).expect(200);
    expect(promoted.body).toMatchObject({ user: { id: b.user.id }, role: 'admin' });
    await patch(a, `/groups/${g.id}/members/${a.user.id}`, { role: 'member' }).expect(409);
    await del(c, `/groups/${g.id}/members/${b.user.id}`).expect(403);
    await del(b, `/groups/${g.id}/members/${c.user.id}`).expect(204);
    await get(c, `/groups/${g.id}`).expect(404);
    await del(d, `/groups/${g.id}/members/${d.user.id}`).expect(204);
    await del(a, `/groups/${g.id}/members/${a.user.id}`).expect(409);
    await post(a, `/groups/${g.id}/owner`, { userId: c.user.id }).expect(404);
    const handed = await post(a, `/groups/${g.id}/owner`, { userId: b.user.id }).expect(200);
    expect(handed.body.myRole).toBe('admin');
    expect((await get(b, `/groups/${g.id}`).expect(200)).body.myRole).toBe('owner');
    await del(a, `/groups/${g.id}/members/${a.user.id}`).expect(204);
    const members = await get(b, `/groups/${g.id}/members`).expect(200);
    expect(members.body.items).toEqual([
      expect.objectContaining({ user: expect.objectContaining({ id: b.user.id }), role: 'owner' }),
    ]);
    const room = await get(b, `/chat/rooms/${g.chatRoomId}`).expect(200);
    expect(room.body.memberCount).toBe(1);
  });

  it('deleting a group removes its rows and empties its chat room', async () => {
    const [a, b] = await Promise.all([signup(api), signup(api)]);
    const g = await makeGroup(a);
    await join(g.id, b);
    await del(a, `/groups/${g.id}`).expect(204);
    await get(a, `/groups/${g.id}`).expect(404);
    expect(await count('SELECT COUNT(*) AS n FROM group_members WHERE groupId = ?', [g.id])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM chat_members WHERE roomId = ?', [g.chatRoomId])).toBe(0);
  });

  it('a deleted account leaves its groups: an owned group passes to the admin, a group it was alone in goes', async () => {
    const [owner, member, admin] = await Promise.all([signup(api), signup(api), signup(api)]);
    const shared = await makeGroup(owner, 'Shared');
    const alone = await makeGroup(owner, 'Alone');
    await join(shared.id, member);
    await join(shared.id, admin);
    await patch(owner, `/groups/${shared.id}/members/${admin.user.id}`, { role: 'admin' }).expect(200);
    await api.http.delete('/api/v1/users/me').set(auth(owner)).send({ password: owner.password }).expect(204);
    const seen = await get(admin, `/groups/${shared.id}`).expect(200);
    expect(seen.body).toMatchObject({ myRole: 'owner', memberCount: 2 });
    const room = await get(admin, `/chat/rooms/${shared.chatRoomId}`).expect(200);
    expect(room.body.memberCount).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM `groups` WHERE id = ?', [alone.id])).toBe(0);
  });
});
