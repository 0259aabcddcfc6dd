import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { signup, bearer, uniqueEmail, PASSWORD, startContext } from '../../../test/helpers/context';
import { SmtpPeer, linkToken } from '../../../test/helpers/smtp';

const smtp = new SmtpPeer();
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  await smtp.start();
  [ctx, api] = await startContext({ smtpUrl: smtp.url });
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});

describe('signup', () => {
  it('creates the account, logs in, and mails a verification link that verifies it once', async () => {
    const s = await signup(api, { nickname: 'Mina' });
    expect(s.user).toMatchObject({
      email: s.email,
      nickname: 'Mina',
      bio: '',
      avatarUrl: null,
      emailVerified: false,
      isSitter: false,
    });
    expect(typeof s.user.id).toBe('number');
    expect(s.accessToken).toEqual(expect.any(String));
    expect(s.refreshToken).toEqual(expect.any(String));
    expect(s.user).not.toHaveProperty('passwordHash');

    const mail = await smtp.waitFor(s.email, /Confirm your Pawmate e-mail/);
    expect(mail.raw).toContain('http://pawmate.test/verify-email?token=');
    const token = linkToken(mail.raw, '/verify-email');

    await api.http.post('/api/v1/auth/verify-email').send({ token }).expect(204);
    const me = await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(200);
    expect(me.body.emailVerified).toBe(true);

    const again = await api.http.post('/api/v1/auth/verify-email').send({ token }).expect(400);
    expect(again.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.token' }] });
  });

  it('answers 409 for a taken e-mail, whatever its case', async () => {
    const s = await signup(api);
    const res = await api.http
      .post('/api/v1/auth/signup')
      .send({ email: s.email.toUpperCase(), password: PASSWORD, nickname: 'Other' })
      .expect(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 409,
      code: 'CONFLICT',
      title: expect.any(String),
      type: expect.any(String),
    });
  });

  it.each([
    [{ password: PASSWORD, nickname: 'Ok' }, 'body.email'],
    [{ email: 'not-an-email', password: PASSWORD, nickname: 'Ok' }, 'body.email'],
    [{ email: 'a@example.com', password: 'short', nickname: 'Ok' }, 'body.password'],
    [{ email: 'a@example.com', password: 'x'.repeat(73), nickname: 'Ok' }, 'body.password'],
    // 25 three-byte characters: 25 characters but 75 bytes, past bcrypt's 72.
    [{ email: 'a@example.com', password: '가'.repeat(25), nickname: 'Ok' }, 'body.password'],
    [{ email: 'a@example.com', password: PASSWORD, nickname: 'x' }, 'body.nickname'],
    [{ email: 'a@example.com', password: PASSWORD, nickname: 'x'.repeat(31) }, 'body.nickname'],
    [{ email: 'a@example.com', password: PASSWORD, nickname: 'bad\u0001name' }, 'body.nickname'],
    [{ email: 'a@example.com', password: 12345678, nickname: 'Ok' }, 'body.password'],
  ])('refuses %j naming %s', async (body, path) => {
    const res = await api.http.post('/api/v1/auth/signup').send(body).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('ignores unknown fields instead of writing them (no mass assignment)', async () => {
    const email = uniqueEmail();
    const res = await api.http
      .post('/api/v1/auth/signup')
      .send({
        email,
        password: PASSWORD,
        nickname: 'Sneaky',
        isSitter: true,
        emailVerified: true,
        emailVerifiedAt: '2020-01-01',
        id: 1,
      })
      .expect(201);
    expect(res.body.user).toMatchObject({ isSitter: false, emailVerified: false });
    expect(res.body.user.id).not.toBe(1);
  });

  it('accepts a 72-byte multi-byte password', async () => {
    await signup(api, { password: '가'.repeat(24) }); // 72 bytes exactly
  });
});

describe('login', () => {
  it('logs in with the right password and answers the same 401 for a wrong password or unknown e-mail', async () => {
    const s = await signup(api);
    const ok = await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    expect(ok.body.user.id).toBe(s.user.id);
    const wrong = await api.http
      .post('/api/v1/auth/login')
      .send({ email: s.email, password: 'wrong password' })
      .expect(401);
    const unknown = await api.http
      .post('/api/v1/auth/login')
      .send({ email: uniqueEmail(), password: 'wrong password' })
      .expect(401);
    expect(wrong.body).toEqual({ ...unknown.body, requestId: wrong.body.requestId });
    expect(wrong.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('refresh rotation', () => {
  it('spends the presented token and issues a working new pair', async () => {
    const s = await signup(api);
    const r1 = await api.http.post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    expect(r1.body.refreshToken).not.toBe(s.refreshToken);
    await api.http.get('/api/v1/users/me').set(bearer(r1.body.accessToken)).expect(200);
    const r2 = await api.http.post('/api/v1/auth/refresh').send({ refreshToken: r1.body.refreshToken }).expect(200);
    await api.http.get('/api/v1/users/me').set(bearer(r2.body.accessToken)).expect(200);
  });

  it('treats a spent token as theft: 401 and every token of that login is revoked at once', async () => {
    const s = await signup(api);
    const other = await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    const r1 = await api.http.post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    const r2 = await api.http.post('/api/v1/auth/refresh').send({ refreshToken: r1.body.refreshToken }).expect(200);

    // Not the token spent last (that one has a few seconds' grace, see auth.refresh.test.ts): theft.
    await api.http.post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);

    await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(401);
    await api.http.get('/api/v1/users/me').set(bearer(r2.body.accessToken)).expect(401);
    await api.http.post('/api/v1/auth/refresh').send({ refreshToken: r2.body.refreshToken }).expect(401);
    // Another login of the same user is untouched.
    await api.http.get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(200);
  });

  it('refuses an unknown refresh token', async () => {
    await api.http
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: 'a'.repeat(43) })
      .expect(401);
  });
});

describe('logout', () => {
  it('revokes that access token and its refresh token at once, and only that login', async () => {
    const s = await signup(api);
    const other = await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(200);
    await api.http.post('/api/v1/auth/logout').set(bearer(s.accessToken)).send({}).expect(204);
    await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(401);
    await api.http.post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);
    await api.http.get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(200);
  });

  it('needs a token', async () => {
    const res = await api.http.post('/api/v1/auth/logout').send({}).expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('password reset', () => {
  it('mails a link; the reset changes the password and revokes every login', async () => {
    const s = await signup(api, { nickname: 'Forgetful' });
    await api.http.post('/api/v1/auth/password/forgot').send({ email: s.email }).expect(202);
    const mail = await smtp.waitFor(s.email, /Reset your Pawmate password/);
    const token = linkToken(mail.raw, '/reset-password');

    await api.http.post('/api/v1/auth/password/reset').send({ token, password: 'a brand new secret' }).expect(204);
    await api.http.get('/api/v1/users/me').set(bearer(s.accessToken)).expect(401);
    await api.http.post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);
    await api.http.post('/api/v1/auth/login').send({ email: s.email, password: PASSWORD }).expect(401);
    await api.http.post('/api/v1/auth/login').send({ email: s.email, password: 'a brand new secret' }).expect(200);
    await smtp.waitFor(s.email, /password was changed/);

    // Single use.
    await api.http.post('/api/v1/auth/password/reset').send({ token, password: 'yet another secret' }).expect(400);
  });

  it('answers 202 for an unknown e-mail and sends nothing', async () => {
    const email = uniqueEmail('ghost');
    await api.http.post('/api/v1/auth/password/forgot').send({ email }).expect(202);
    await api.pawmate.outbox.drain();
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(0);
  });

  it('validates the new password', async () => {
    const res = await api.http
      .post('/api/v1/auth/password/reset')
      .send({ token: 'x'.repeat(43), password: 'short' })
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.password');
  });
});

describe('verification resend', () => {
  it('mails a fresh link; the older one stops working', async () => {
    const s = await signup(api);
    const first = linkToken((await smtp.waitFor(s.email, /Confirm/)).raw, '/verify-email');
    await api.http.post('/api/v1/auth/verify-email/resend').set(bearer(s.accessToken)).expect(202);
    await new Promise((r) => setTimeout(r, 50));
    const deadline = Date.now() + 10_000;
    while (smtp.mails.filter((m) => m.to.includes(s.email)).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    const mails = smtp.mails.filter((m) => m.to.includes(s.email));
    expect(mails).toHaveLength(2);
    const second = linkToken(mails[1].raw, '/verify-email');
    expect(second).not.toBe(first);
    // The older link first: tried after the newer one, it would be refused even if resending had not spent it.
    await api.http.post('/api/v1/auth/verify-email').send({ token: first }).expect(400);
    await api.http.post('/api/v1/auth/verify-email').send({ token: second }).expect(204);
  });
});
