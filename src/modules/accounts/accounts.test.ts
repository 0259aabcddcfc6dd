import http from 'node:http';
import type { Socket as ClientSocket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { TestContext, signup, bearer, uniqueEmail, PASSWORD, type TestInstance } from '../../../test/helpers/context';
import { SmtpPeer, linkToken } from '../../../test/helpers/smtp';
import { connectSocket, next } from '../../../test/helpers/socket';
import { ManualClock } from '../../infra/clock';
import { CHANGE_MAILS_PER_ADDRESS_PER_DAY, EMAIL_CHANGES_PER_HOUR, PASSWORD_CHANGES_PER_HOUR } from './accounts.module';

const clock = new ManualClock();
const smtp = new SmtpPeer();
let ctx: TestContext;
let a: TestInstance;
let b: TestInstance;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  await smtp.start();
  ctx = await new TestContext({ clock, smtpUrl: smtp.url, env: { RATE_LIMIT_AUTH_MAX: '3' } }).setup();
  a = await ctx.instance();
  b = await ctx.instance();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await ctx.close();
  await smtp.stop();
});

const login = (inst: TestInstance, email: string, password = PASSWORD, agent = 'jest') =>
  inst.http.post('/api/v1/auth/login').set('User-Agent', agent).send({ email, password });

const connect = (inst: TestInstance, token: string) => connectSocket(inst.url, token, sockets);

/** Opens the notification stream; resolves `ended` when the server closes it. */
function openStream(inst: TestInstance, token: string): Promise<{ ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${inst.url}/api/v1/notifications/stream`,
      { headers: { Accept: 'text/event-stream', ...bearer(token) }, agent: false },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
        res.resume();
        resolve({ ended: new Promise((done) => res.once('close', () => done())) });
      },
    );
    req.on('error', reject);
  });
}

/** Makes the account password-less, as an account made from a provider is. */
async function dropPassword(userId: number) {
  await a.sequelize.query('UPDATE users SET passwordHash = NULL WHERE id = ?', { replacements: [userId] });
}

describe('sessions', () => {
  it('lists my open logins with their user agents and marks the current one', async () => {
    const me = await signup(a);
    const phone = (await login(a, me.email, PASSWORD, 'Pawmate-iOS/2.1').expect(200)).body;
    const list = await a.http.get('/api/v1/users/me/sessions').set(bearer(phone.accessToken)).expect(200);
    expect(list.body.items).toHaveLength(2);
    const [first, second] = list.body.items;
    expect(first).toEqual({
      id: expect.any(Number),
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      userAgent: 'Pawmate-iOS/2.1',
      current: true,
    });
    expect(second.current).toBe(false);
    // Someone else sees none of them.
    const other = await signup(a);
    const theirs = await a.http.get('/api/v1/users/me/sessions').set(bearer(other.accessToken)).expect(200);
    expect(theirs.body.items.map((s: { id: number }) => s.id)).not.toContain(first.id);
  });

  it('ends one login at once on every instance: tokens, sockets and streams; others stay', async () => {
    const me = await signup(a);
    const laptop = (await login(a, me.email).expect(200)).body;
    const sessions = await a.http.get('/api/v1/users/me/sessions').set(bearer(me.accessToken)).expect(200);
    const laptopId = sessions.body.items.find((s: { current: boolean }) => !s.current).id;

    const socketOnB = await connect(b, laptop.accessToken);
    const keptSocket = await connect(b, me.accessToken);
    const stream = await openStream(b, laptop.accessToken);
    const gone = next<string>(socketOnB, 'disconnect');

    await a.http.delete(`/api/v1/users/me/sessions/${laptopId}`).set(bearer(me.accessToken)).expect(204);

    expect(await gone).toBe('io server disconnect');
    await stream.ended;
    await b.http.get('/api/v1/users/me').set(bearer(laptop.accessToken)).expect(401);
    await b.http.post('/api/v1/auth/refresh').send({ refreshToken: laptop.refreshToken }).expect(401);
    await b.http.get('/api/v1/users/me').set(bearer(me.accessToken)).expect(200);
    expect(keptSocket.connected).toBe(true);
    const after = await a.http.get('/api/v1/users/me/sessions').set(bearer(me.accessToken)).expect(200);
    expect(after.body.items.map((s: { id: number }) => s.id)).not.toContain(laptopId);
  });

  it("answers 404 for someone else's login, an ended one and an unknown id", async () => {
    const me = await signup(a);
    const other = await signup(a);
    const theirs = await a.http.get('/api/v1/users/me/sessions').set(bearer(other.accessToken)).expect(200);
    const res = await a.http
      .delete(`/api/v1/users/me/sessions/${theirs.body.items[0].id}`)
      .set(bearer(me.accessToken))
      .expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
    await a.http.get('/api/v1/users/me').set(bearer(other.accessToken)).expect(200);
    await a.http.delete('/api/v1/users/me/sessions/4294967295').set(bearer(me.accessToken)).expect(404);
    const bad = await a.http.delete('/api/v1/users/me/sessions/x').set(bearer(me.accessToken)).expect(400);
    expect(bad.body.errors[0].path).toBe('params.id');
  });
});

describe('password change', () => {
  it('needs the current password, then ends my other logins and mails me', async () => {
    const me = await signup(a);
    const other = (await login(a, me.email).expect(200)).body;
    const missing = await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ newPassword: 'a brand new secret' })
      .expect(400);
    expect(missing.body.errors).toEqual([{ path: 'body.currentPassword', message: 'is required' }]);
    await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ currentPassword: 'not the password', newPassword: 'a brand new secret' })
      .expect(401);
    await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ currentPassword: PASSWORD, newPassword: 'a brand new secret' })
      .expect(204);

    await a.http.get('/api/v1/users/me').set(bearer(other.accessToken)).expect(401);
    await a.http.get('/api/v1/users/me').set(bearer(me.accessToken)).expect(200);
    await login(a, me.email).expect(401);
    await login(a, me.email, 'a brand new secret').expect(200);
    await smtp.waitFor(me.email, /password was changed/);
  });

  it('refuses a stolen token as a password oracle: 429 after repeated wrong current passwords', async () => {
    const me = await signup(a);
    const attempt = (currentPassword: string) =>
      a.http
        .post('/api/v1/users/me/password')
        .set(bearer(me.accessToken))
        .send({ currentPassword, newPassword: 'whatever it is 1' });
    for (let i = 0; i < 3; i++) await attempt(`wrong ${i}`).expect(401);
    const limited = await attempt(PASSWORD).expect(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('limits changes per account per hour (429 + Retry-After)', async () => {
    const me = await signup(a);
    let current = PASSWORD;
    for (let i = 0; i < PASSWORD_CHANGES_PER_HOUR; i++) {
      const next = `${PASSWORD}-${i}`;
      await a.http
        .post('/api/v1/users/me/password')
        .set(bearer(me.accessToken))
        .send({ currentPassword: current, newPassword: next })
        .expect(204);
      current = next;
    }
    const res = await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ currentPassword: current, newPassword: `${PASSWORD}-last` })
      .expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    await login(a, me.email, current).expect(200); // the refused change changed nothing
  });

  it('lets a password-less account set one without currentPassword, and then sign in with it', async () => {
    const me = await signup(a);
    await dropPassword(me.user.id);
    const self = await a.http.get('/api/v1/users/me').set(bearer(me.accessToken)).expect(200);
    expect(self.body.hasPassword).toBe(false);
    await login(a, me.email).expect(401); // no password: the old one no longer works
    await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ newPassword: 'my first password' })
      .expect(204);
    await login(a, me.email, 'my first password').expect(200);
  });
});

describe('e-mail change', () => {
  it('changes the address only once the new one confirms, and tells the old one', async () => {
    const me = await signup(a);
    const newEmail = uniqueEmail('moved');
    await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail, password: 'wrong password' })
      .expect(401);
    const noPassword = await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail })
      .expect(400);
    expect(noPassword.body.errors[0].path).toBe('body.password');
    await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail: newEmail.toUpperCase(), password: PASSWORD })
      .expect(202);
    // Nothing changed yet.
    expect((await a.http.get('/api/v1/users/me').set(bearer(me.accessToken))).body.email).toBe(me.email);

    const token = linkToken((await smtp.waitFor(newEmail, /Confirm your new/)).raw, '/confirm-email');
    // No stored row holds the working link (it was sealed until the worker built the mail).
    const [stored] = await a.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE payload LIKE ?', {
      replacements: [`%${token}%`],
      type: QueryTypes.SELECT,
    });
    expect(Number(stored.n)).toBe(0);
    await a.http.post('/api/v1/auth/email/confirm').send({ token }).expect(204);
    const self = await a.http.get('/api/v1/users/me').set(bearer(me.accessToken)).expect(200);
    expect(self.body).toMatchObject({ email: newEmail, emailVerified: true });
    await smtp.waitFor(me.email, /e-mail was changed/);

    const replay = await a.http.post('/api/v1/auth/email/confirm').send({ token }).expect(400);
    expect(replay.body.errors[0].path).toBe('body.token');
    await login(a, newEmail).expect(200);
    await login(a, me.email).expect(401);
    await a.http.get('/api/v1/users/me').set(bearer(me.accessToken)).expect(200); // existing logins stay
  });

  it('refuses an address another account has, and a link older than 24 h', async () => {
    const me = await signup(a);
    const taken = await signup(a);
    await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail: taken.email, password: PASSWORD })
      .expect(409);
    const newEmail = uniqueEmail('late');
    await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail, password: PASSWORD })
      .expect(202);
    const token = linkToken((await smtp.waitFor(newEmail, /Confirm your new/)).raw, '/confirm-email');
    clock.advance(24 * 3600 * 1000 + 1000);
    try {
      await a.http.post('/api/v1/auth/email/confirm').send({ token }).expect(400);
    } finally {
      clock.set(new Date());
    }
  });

  it('limits requests per account (429 + Retry-After) and confirmation mails per new address', async () => {
    const me = await signup(a);
    const ask = (token: string, newEmail: string) =>
      a.http.post('/api/v1/users/me/email').set(bearer(token)).send({ newEmail, password: PASSWORD });
    for (let i = 0; i < EMAIL_CHANGES_PER_HOUR; i++) await ask(me.accessToken, uniqueEmail(`many${i}`)).expect(202);
    const limited = await ask(me.accessToken, uniqueEmail('one-more')).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    // A stranger's address: at most CHANGE_MAILS_PER_ADDRESS_PER_DAY mails, whichever accounts ask.
    const target = uniqueEmail('stranger');
    for (let i = 0; i < CHANGE_MAILS_PER_ADDRESS_PER_DAY; i++)
      await ask((await signup(a)).accessToken, target).expect(202);
    const flooded = await ask((await signup(a)).accessToken, target.toUpperCase()).expect(429);
    expect(Number(flooded.headers['retry-after'])).toBeGreaterThan(0);
  });

  const askChange = (token: string, newEmail: string) =>
    a.http.post('/api/v1/users/me/email').set(bearer(token)).send({ newEmail, password: PASSWORD }).expect(202);
  const changeLink = async (newEmail: string) =>
    linkToken((await smtp.waitFor(newEmail, /Confirm your new/)).raw, '/confirm-email');

  it('a newer request spends the links of earlier ones', async () => {
    const me = await signup(a);
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    await askChange(me.accessToken, first);
    const older = await changeLink(first);
    await askChange(me.accessToken, second);
    const newer = await changeLink(second);
    const refused = await a.http.post('/api/v1/auth/email/confirm').send({ token: older }).expect(400);
    expect(refused.body.errors).toEqual([{ path: 'body.token', message: expect.any(String) }]);
    await a.http.post('/api/v1/auth/email/confirm').send({ token: newer }).expect(204);
    expect((await a.http.get('/api/v1/users/me').set(bearer(me.accessToken))).body.email).toBe(second);
  });

  it('confirming spends the reset links mailed to the old address', async () => {
    const me = await signup(a);
    await a.http.post('/api/v1/auth/password/forgot').send({ email: me.email }).expect(202);
    const reset = linkToken((await smtp.waitFor(me.email, /Reset your Pawmate password/)).raw, '/reset-password');
    const newEmail = uniqueEmail('reset-spent');
    await askChange(me.accessToken, newEmail);
    await a.http
      .post('/api/v1/auth/email/confirm')
      .send({ token: await changeLink(newEmail) })
      .expect(204);
    // Whoever still reads the old mailbox cannot take the account over with the link sent there.
    const refused = await a.http
      .post('/api/v1/auth/password/reset')
      .send({ token: reset, password: 'another password 123' })
      .expect(400);
    expect(refused.body.errors).toEqual([{ path: 'body.token', message: expect.any(String) }]);
    await login(a, newEmail).expect(200);
  });

  it('answers 400 naming body.token, not 401, when the account was deleted before the confirmation', async () => {
    const me = await signup(a);
    const newEmail = uniqueEmail('gone');
    await askChange(me.accessToken, newEmail);
    const token = await changeLink(newEmail);
    await a.http.delete('/api/v1/users/me').set(bearer(me.accessToken)).expect(204);
    const res = await a.http.post('/api/v1/auth/email/confirm').send({ token }).expect(400);
    expect(res.body.errors).toEqual([{ path: 'body.token', message: expect.any(String) }]);
  });

  it('answers 409 when the address was taken between the request and the confirmation', async () => {
    const me = await signup(a);
    const newEmail = uniqueEmail('race');
    await a.http
      .post('/api/v1/users/me/email')
      .set(bearer(me.accessToken))
      .send({ newEmail, password: PASSWORD })
      .expect(202);
    const token = linkToken((await smtp.waitFor(newEmail, /Confirm your new/)).raw, '/confirm-email');
    await signup(a, { email: newEmail });
    const res = await a.http.post('/api/v1/auth/email/confirm').send({ token }).expect(409);
    expect(res.body.code).toBe('CONFLICT');
    expect((await a.http.get('/api/v1/users/me').set(bearer(me.accessToken))).body.email).toBe(me.email);
  });
});

describe('identities', () => {
  async function link(userId: number, provider: string) {
    await a.sequelize.query(
      `INSERT INTO user_identities (userId, provider, subject, email, emailVerified, createdAt, updatedAt)
       VALUES (?, ?, ?, NULL, 0, NOW(3), NOW(3))`,
      { replacements: [userId, provider, `sub-${userId}-${provider}`], type: QueryTypes.INSERT },
    );
  }

  it('will not unlink the last way to sign in; a password makes it possible', async () => {
    const me = await signup(a);
    await dropPassword(me.user.id);
    await link(me.user.id, 'kakao');
    const list = await a.http.get('/api/v1/users/me/identities').set(bearer(me.accessToken)).expect(200);
    expect(list.body).toEqual({ items: [{ provider: 'kakao', email: null, linkedAt: expect.any(String) }] });
    const refused = await a.http.delete('/api/v1/users/me/identities/kakao').set(bearer(me.accessToken)).expect(409);
    expect(refused.body.code).toBe('CONFLICT');
    await a.http.delete('/api/v1/users/me/identities/naver').set(bearer(me.accessToken)).expect(404);

    await a.http
      .post('/api/v1/users/me/password')
      .set(bearer(me.accessToken))
      .send({ newPassword: 'now I have one' })
      .expect(204);
    await a.http.delete('/api/v1/users/me/identities/kakao').set(bearer(me.accessToken)).expect(204);
    expect((await a.http.get('/api/v1/users/me/identities').set(bearer(me.accessToken))).body.items).toEqual([]);
  });
});
