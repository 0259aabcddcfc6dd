import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { family as makeFamily } from '../../../test/helpers/groups';
import type { MissionCompleted } from '../events';

let ctx: TestContext;
let api: TestInstance;
const completed: MissionCompleted[] = [];

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
  api.pawmate.events.on('mission.completed', async (e) => {
    completed.push(e);
  });
});
afterAll(() => ctx.close());

const auth = (s: Session) => bearer(s.accessToken);
const get = (s: Session, p: string) => api.http.get(`/api/v1${p}`).set(auth(s));
const post = (s: Session, p: string, body: object = {}) => api.http.post(`/api/v1${p}`).set(auth(s)).send(body);
const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);

const family = (size: number) => makeFamily(api, size);

async function notificationsOf(s: Session, type: string) {
  await api.pawmate.outbox.drain();
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((n) => n.type === type);
}

describe('missions', () => {
  it('assignees complete once; the last one makes it done and notifies the others once; 403 and 409', async () => {
    const { g, people } = await family(4);
    const [owner, a, b, c] = people;
    const created = await post(owner, `/groups/${g.id}/missions`, {
      title: 'Walk Coco',
      dueDate: '2027-03-02',
      assigneeIds: [a.user.id, b.user.id],
    }).expect(201);
    expect(created.body).toMatchObject({
      title: 'Walk Coco',
      dueDate: '2027-03-02',
      status: 'open',
      // In user id order.
      assignees: [a, b]
        .map((x) => x.user.id)
        .sort((x, y) => x - y)
        .map((id) => expect.objectContaining({ id })),
      completedBy: [],
    });
    const m = created.body.id as number;
    await post(c, `/groups/${g.id}/missions/${m}/complete`).expect(403);
    const first = await post(a, `/groups/${g.id}/missions/${m}/complete`).expect(200);
    expect(first.body).toMatchObject({ status: 'open', completedBy: [expect.objectContaining({ id: a.user.id })] });
    await post(a, `/groups/${g.id}/missions/${m}/complete`).expect(409);
    const last = await post(b, `/groups/${g.id}/missions/${m}/complete`).expect(200);
    expect(last.body.status).toBe('done');
    for (const s of [owner, a, c]) expect(await notificationsOf(s, 'group.mission_done')).toHaveLength(1);
    expect(await notificationsOf(b, 'group.mission_done')).toHaveLength(0);
    expect(completed.filter((e) => e.missionId === m).map((e) => e.userId)).toEqual([a.user.id, b.user.id]);
    expect(completed.find((e) => e.missionId === m)).toMatchObject({ groupId: g.id, completedAt: expect.any(Date) });

    const open = await get(owner, `/groups/${g.id}/missions?status=open`).expect(200);
    expect(open.body.items).toEqual([]);
    const done = await get(owner, `/groups/${g.id}/missions?status=done`).expect(200);
    expect(done.body.items.map((x: { id: number }) => x.id)).toEqual([m]);
  });

  it('bad input names the field; outsiders get 404; assignees must be members', async () => {
    const { g, people } = await family(2);
    const outsider = await signup(api);
    const bad = await post(people[0], `/groups/${g.id}/missions`, { title: '', dueDate: '2027-02-30' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.dueDate', 'body.title']);
    const notMember = await post(people[0], `/groups/${g.id}/missions`, {
      title: 'x',
      assigneeIds: [outsider.user.id],
    }).expect(400);
    expect(notMember.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.assigneeIds']);
    const m = (await post(people[0], `/groups/${g.id}/missions`, { title: 'Feed' }).expect(201)).body.id;
    await get(outsider, `/groups/${g.id}/missions`).expect(404);
    await post(outsider, `/groups/${g.id}/missions/${m}/complete`).expect(404);
    const other = await family(1);
    await post(other.people[0], `/groups/${other.g.id}/missions/${m}/complete`).expect(404);
  });

  it('under concurrent completes by every member of an everyone-mission: done exactly once, one notification each', async () => {
    const { g, people } = await family(8);
    const m = (await post(people[0], `/groups/${g.id}/missions`, { title: 'Everyone brushes Coco' }).expect(201)).body
      .id as number;
    expect((await get(people[0], `/groups/${g.id}/missions`).expect(200)).body.items[0].assignees).toEqual([]);
    // Everyone at once, and each twice: 8 × 200, 8 × 409.
    const answers = await Promise.all(
      [...people, ...people].map((s) => post(s, `/groups/${g.id}/missions/${m}/complete`)),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(8);
    expect(answers.filter((r) => r.status === 409)).toHaveLength(8);
    expect(await count("SELECT COUNT(*) AS n FROM group_missions WHERE id = ? AND status = 'done'", [m])).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM group_mission_completions WHERE missionId = ?', [m])).toBe(8);
    expect(completed.filter((e) => e.missionId === m)).toHaveLength(8);
    // The one whose completion finished it hears nothing; every other member hears once.
    const counts = await Promise.all(people.map(async (s) => (await notificationsOf(s, 'group.mission_done')).length));
    expect(counts.sort()).toEqual([0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('a mission that waited only for a member who left is done, and the others hear of it once', async () => {
    const { g, people } = await family(3);
    const [owner, a, b] = people;
    const m = (
      await post(owner, `/groups/${g.id}/missions`, { title: 'Vet run', assigneeIds: [a.user.id, b.user.id] }).expect(
        201,
      )
    ).body.id as number;
    const untouched = (
      await post(owner, `/groups/${g.id}/missions`, { title: 'Nobody yet', assigneeIds: [b.user.id] }).expect(201)
    ).body.id as number;
    await post(a, `/groups/${g.id}/missions/${m}/complete`).expect(200);
    await api.http.delete(`/api/v1/groups/${g.id}/members/${b.user.id}`).set(auth(b)).expect(204);
    const done = await get(owner, `/groups/${g.id}/missions?status=done`).expect(200);
    expect(done.body.items.map((x: { id: number }) => x.id)).toEqual([m]);
    const open = await get(owner, `/groups/${g.id}/missions?status=open`).expect(200);
    expect(open.body.items.map((x: { id: number }) => x.id)).toEqual([untouched]);
    expect(await notificationsOf(owner, 'group.mission_done')).toHaveLength(1);
    expect(await notificationsOf(a, 'group.mission_done')).toHaveLength(1);
  });
});
