import { QueryTypes } from 'sequelize';
import { EventSource } from 'eventsource';
import type { TestInstance } from '../../../test/helpers/context';
import { TestContext, ManualClock, bearer, signup, uniqueEmail } from '../../../test/helpers/context';
import type { Session } from '../../../test/helpers/fixtures';
import { SmtpPeer, linkToken } from '../../../test/helpers/smtp';
import { joinGroup } from '../../../test/helpers/groups';

const smtp = new SmtpPeer();
const clock = new ManualClock('2027-03-01T03:00:00.000Z');
const DAY = 24 * 3600 * 1000;
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  await smtp.start();
  ctx = await new TestContext({
    smtpUrl: smtp.url,
    clock,
    env: { ACCESS_TOKEN_TTL_SEC: String(90 * 24 * 3600) },
  }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const auth = (s: Session) => bearer(s.accessToken);
const get = (s: Session, p: string) => api.http.get(`/api/v1${p}`).set(auth(s));
const post = (s: Session, p: string, body: object = {}) => api.http.post(`/api/v1${p}`).set(auth(s)).send(body);
const put = (s: Session, p: string) => api.http.put(`/api/v1${p}`).set(auth(s));
const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);
const flat = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');

/** A signed-up user whose address is verified through the real link in the real mail. */
async function verifiedUser(nickname = 'Member') {
  const s = await signup(api, { nickname });
  const mail = await smtp.waitFor(s.email, /Confirm your Pawmate e-mail/);
  await api.http
    .post('/api/v1/auth/verify-email')
    .send({ token: linkToken(mail.raw, 'verify-email') })
    .expect(204);
  return s;
}

async function makeGroup(s: Session, name = 'Family') {
  const res = await post(s, '/groups', { name }).expect(201);
  return res.body as { id: number; chatRoomId: number };
}

const join = (groupId: number, s: Session) => joinGroup(api, groupId, s);

async function notificationsOf(s: Session, type: string) {
  const res = await get(s, '/notifications?limit=100').expect(200);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((n) => n.type === type);
}

describe('invites', () => {
  it('invites a verified account: invite.new arrives on the SSE stream and by e-mail; accepting joins group and room', async () => {
    const owner = await verifiedUser('Mom');
    const other = await verifiedUser('Dad');
    const kid = await verifiedUser('Kid');
    const g = await makeGroup(owner, 'Kim family');
    await join(g.id, other);
    const live: { type: string; data: { inviteId: number } }[] = [];
    const es = new EventSource(`${api.url}/api/v1/notifications/stream?access_token=${kid.accessToken}`);
    es.addEventListener('notification', (e) => live.push(JSON.parse(e.data)));
    try {
      await sleep(300);
      const res = await post(owner, `/groups/${g.id}/invites`, { email: kid.email.toUpperCase() }).expect(201);
      expect(res.body).toMatchObject({
        group: { id: g.id, name: 'Kim family', memberCount: 2 },
        invitedBy: { id: owner.user.id, nickname: 'Mom' },
        email: kid.email,
        status: 'pending',
      });
      expect(Date.parse(res.body.expiresAt) - clock.now().getTime()).toBe(7 * DAY);
      for (let i = 0; i < 100 && !live.length; i++) await sleep(50);
      expect(live).toEqual([
        expect.objectContaining({ type: 'invite.new', data: expect.objectContaining({ inviteId: res.body.id }) }),
      ]);
      const mail = await smtp.waitFor(kid.email, /Mom invited you to Kim family/);
      expect(flat(mail.raw)).toContain('Hi Kid,');

      const mine = await get(kid, '/invites').expect(200);
      expect(mine.body.items.map((i: { id: number }) => i.id)).toEqual([res.body.id]);
      await get(kid, `/groups/${g.id}`).expect(404);
      const accepted = await post(kid, `/invites/${res.body.id}/accept`).expect(200);
      expect(accepted.body).toMatchObject({ status: 'accepted', group: { memberCount: 3 } });
      expect((await get(kid, `/groups/${g.id}`).expect(200)).body.myRole).toBe('member');
      expect((await get(kid, `/chat/rooms/${g.chatRoomId}`).expect(200)).body.memberCount).toBe(3);
      expect((await get(kid, '/invites').expect(200)).body.items).toEqual([]);
      await post(kid, `/invites/${res.body.id}/accept`).expect(409);
      // The other members hear of it; the one who joined does not.
      await api.pawmate.outbox.drain();
      const kidJoined = (n: { data: Record<string, unknown> }) => n.data.userId === kid.user.id;
      expect((await notificationsOf(owner, 'group.joined')).filter(kidJoined)).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ groupId: g.id, userId: kid.user.id }) }),
      ]);
      expect((await notificationsOf(other, 'group.joined')).filter(kidJoined)).toHaveLength(1);
      expect(await notificationsOf(kid, 'group.joined')).toHaveLength(0);
    } finally {
      es.close();
    }
  });

  it('an address without an account gets a sign-up link; the invite appears once that address signs up and verifies', async () => {
    const owner = await verifiedUser('Grandma');
    const g = await makeGroup(owner, 'Park family');
    const email = uniqueEmail('newcomer');
    const res = await post(owner, `/groups/${g.id}/invites`, { email }).expect(201);
    expect(res.body).toMatchObject({ email, status: 'pending' });
    const mail = await smtp.waitFor(email, /Grandma invited you to Park family/);
    expect(flat(mail.raw)).toContain(`/signup?email=${encodeURIComponent(email)}`);

    const newcomer = await signup(api, { email, nickname: 'Newcomer' });
    // Signed up but not verified: nothing yet (anyone could type an address at sign-up).
    expect((await get(newcomer, '/invites').expect(200)).body.items).toEqual([]);
    await post(newcomer, `/invites/${res.body.id}/accept`).expect(404);
    const verify = await smtp.waitFor(email, /Confirm your Pawmate e-mail/);
    await api.http
      .post('/api/v1/auth/verify-email')
      .send({ token: linkToken(verify.raw, 'verify-email') })
      .expect(204);

    const mine = await get(newcomer, '/invites').expect(200);
    expect(mine.body.items).toEqual([expect.objectContaining({ id: res.body.id, status: 'pending' })]);
    expect(await notificationsOf(newcomer, 'invite.new')).toHaveLength(1);
    await post(newcomer, `/invites/${res.body.id}/accept`).expect(200);
    expect((await get(newcomer, `/groups/${g.id}`).expect(200)).body.memberCount).toBe(2);
  });

  it('409 for a member, a pending invite and a blocked pair; 403 for plain members, 404 for outsiders; 400 names the field', async () => {
    const owner = await verifiedUser();
    const member = await verifiedUser();
    const blocked = await verifiedUser();
    const outsider = await verifiedUser();
    const g = await makeGroup(owner);
    await join(g.id, member);
    await post(owner, `/groups/${g.id}/invites`, { email: member.email }).expect(409);
    await post(owner, `/groups/${g.id}/invites`, { email: owner.email }).expect(409);
    const email = uniqueEmail('twice');
    await post(owner, `/groups/${g.id}/invites`, { email }).expect(201);
    const again = await post(owner, `/groups/${g.id}/invites`, { email }).expect(409);
    expect(again.body.code).toBe('CONFLICT');
    await put(blocked, `/users/${owner.user.id}/block`).expect(204);
    await post(owner, `/groups/${g.id}/invites`, { email: blocked.email }).expect(409);
    await post(member, `/groups/${g.id}/invites`, { email: outsider.email }).expect(403);
    await post(outsider, `/groups/${g.id}/invites`, { email: uniqueEmail() }).expect(404);
    const bad = await post(owner, `/groups/${g.id}/invites`, { email: 'not-an-address' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.email']);
    expect(await count('SELECT COUNT(*) AS n FROM group_invites WHERE groupId = ?', [g.id])).toBe(1);
  });

  it('declines; a stranger cannot see or answer my invite; expiry after 7 days is swept and frees the address', async () => {
    const owner = await verifiedUser();
    const a = await verifiedUser();
    const b = await verifiedUser();
    const g = await makeGroup(owner);
    const ia = (await post(owner, `/groups/${g.id}/invites`, { email: a.email }).expect(201)).body;
    const ib = (await post(owner, `/groups/${g.id}/invites`, { email: b.email }).expect(201)).body;
    await post(b, `/invites/${ia.id}/decline`).expect(404);
    expect((await post(a, `/invites/${ia.id}/decline`).expect(200)).body.status).toBe('declined');
    await post(a, `/invites/${ia.id}/accept`).expect(409);

    clock.advance(7 * DAY + 1000);
    try {
      expect((await get(b, '/invites').expect(200)).body.items).toEqual([]);
      await post(b, `/invites/${ib.id}/accept`).expect(409);
      // Two sweeps at once: each row expires once.
      const [n1, n2] = await Promise.all([
        api.pawmate.services.groups.invites.sweep(),
        api.pawmate.services.groups.invites.sweep(),
      ]);
      expect(n1 + n2).toBeGreaterThanOrEqual(1);
      expect(await count("SELECT COUNT(*) AS n FROM group_invites WHERE id = ? AND status = 'expired'", [ib.id])).toBe(
        1,
      );
      const again = await post(owner, `/groups/${g.id}/invites`, { email: b.email }).expect(201);
      await post(b, `/invites/${again.body.id}/accept`).expect(200);
    } finally {
      clock.advance(-(7 * DAY + 1000));
    }
  });

  it('concurrent accepts past the 50-member cap: exactly the free places succeed', async () => {
    const owner = await verifiedUser();
    const g = await makeGroup(owner);
    // 47 members: the owner and 46 joined directly.
    const fillers = await Promise.all(Array.from({ length: 46 }, () => signup(api)));
    for (const s of fillers) await join(g.id, s);
    const invitees = await Promise.all(Array.from({ length: 6 }, () => verifiedUser()));
    const ids: number[] = [];
    for (const s of invitees)
      ids.push((await post(owner, `/groups/${g.id}/invites`, { email: s.email }).expect(201)).body.id);
    // An instance with a pool for every accept at once: with the helper's 4 connections, two accepts
    // wait for a connection while four queue on the group's lock, and on a loaded machine the wait can
    // pass the pool's 5 s acquire timeout (503, nothing written) — a pool limit, not the cap.
    const wide = await ctx.instance({ dbPoolMax: 8 });
    const answers = await Promise.all(
      invitees.map((s, i) => wide.http.post(`/api/v1/invites/${ids[i]}/accept`).set(auth(s))),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 409, 409, 409]);
    expect(await count('SELECT memberCount AS n FROM `groups` WHERE id = ?', [g.id])).toBe(50);
    expect(await count('SELECT COUNT(*) AS n FROM group_members WHERE groupId = ?', [g.id])).toBe(50);
    expect(await count('SELECT COUNT(*) AS n FROM chat_members WHERE roomId = ?', [g.chatRoomId])).toBe(50);
    await post(owner, `/groups/${g.id}/invites`, { email: uniqueEmail() }).expect(409);
  }, 180_000);

  it('limits invites per person (429 with Retry-After)', async () => {
    const owner = await verifiedUser();
    const g = await makeGroup(owner);
    for (let i = 0; i < 30; i++) await post(owner, `/groups/${g.id}/invites`, { email: uniqueEmail('rl') }).expect(201);
    const res = await post(owner, `/groups/${g.id}/invites`, { email: uniqueEmail('rl') }).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('limits invites per group, whoever sends them (429 with Retry-After)', async () => {
    const owner = await verifiedUser();
    const admin = await verifiedUser();
    const g = await makeGroup(owner);
    await join(g.id, admin);
    await api.http
      .patch(`/api/v1/groups/${g.id}/members/${admin.user.id}`)
      .set(auth(owner))
      .send({ role: 'admin' })
      .expect(200);
    // 30 + 20 = the group's 50 a day, each sender within their own 30 an hour.
    for (let i = 0; i < 30; i++) await post(owner, `/groups/${g.id}/invites`, { email: uniqueEmail('pg') }).expect(201);
    for (let i = 0; i < 20; i++) await post(admin, `/groups/${g.id}/invites`, { email: uniqueEmail('pg') }).expect(201);
    const res = await post(admin, `/groups/${g.id}/invites`, { email: uniqueEmail('pg') }).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(3600);
  }, 120_000);
});
