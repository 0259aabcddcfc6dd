import bcrypt from 'bcrypt';
import { QueryTypes } from 'sequelize';
import type { TestContext, TestInstance } from '../../../test/helpers/context';
import { keysMatching, signup, bearer, startContext } from '../../../test/helpers/context';
import { bullPrefix } from '../../infra/jobs';
import { SmtpPeer, linkToken, type ReceivedMail } from '../../../test/helpers/smtp';
import { eventually } from '../../../test/helpers/faults';

/** Reset and verification links: single use, newest wins, nothing usable at rest, no account probing. */
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

const mailsTo = (email: string, subject: RegExp) =>
  smtp.mails.filter((m) => m.to.includes(email) && subject.test(m.subject));

/** Waits until `email` has received `n` mails matching `subject`; returns them in arrival order. */
async function nthMail(email: string, subject: RegExp, n: number): Promise<ReceivedMail> {
  await eventually(async () => mailsTo(email, subject).length >= n, 10_000, `mail ${n} to ${email}`);
  return mailsTo(email, subject)[n - 1];
}

const RESET = /Reset your Pawmate password/;
const forgot = (email: string) => api.http.post('/api/v1/auth/password/forgot').send({ email }).expect(202);
const reset = (token: string, password = 'a brand new secret') =>
  api.http.post('/api/v1/auth/password/reset').send({ token, password });

describe('a newer link spends the older ones', () => {
  it('refuses the older reset link even when it is tried before the newer one', async () => {
    const s = await signup(api);
    await forgot(s.email);
    const older = linkToken((await nthMail(s.email, RESET, 1)).raw, '/reset-password');
    await forgot(s.email);
    const newer = linkToken((await nthMail(s.email, RESET, 2)).raw, '/reset-password');

    const refused = await reset(older).expect(400);
    expect(refused.body.errors).toEqual([{ path: 'body.token', message: expect.any(String) }]);
    await reset(newer).expect(204);
  });

  it('refuses the older verification link even when it is tried before the newer one', async () => {
    const s = await signup(api);
    const older = linkToken((await nthMail(s.email, /Confirm/, 1)).raw, '/verify-email');
    await api.http.post('/api/v1/auth/verify-email/resend').set(bearer(s.accessToken)).expect(202);
    const newer = linkToken((await nthMail(s.email, /Confirm/, 2)).raw, '/verify-email');

    await api.http.post('/api/v1/auth/verify-email').send({ token: older }).expect(400);
    await api.http.post('/api/v1/auth/verify-email').send({ token: newer }).expect(204);
  });
});

describe('password/forgot', () => {
  it('answers before doing the work (its timing tells nothing about the account)', async () => {
    const s = await signup(api);
    // Hold the account's row: any work on it in the request would wait for this transaction.
    const t = await api.sequelize.transaction();
    try {
      await api.sequelize.query('SELECT id FROM users WHERE id = ? FOR UPDATE', {
        replacements: [s.user.id],
        transaction: t,
      });
      await api.http.post('/api/v1/auth/password/forgot').timeout(10_000).send({ email: s.email }).expect(202);
      expect(mailsTo(s.email, RESET)).toHaveLength(0);
    } finally {
      await t.rollback();
    }
    await nthMail(s.email, RESET, 1); // the work went on after the answer
  });

  it('sends at most 3 reset mails an hour to one address', async () => {
    const s = await signup(api);
    for (let i = 0; i < 5; i++) await forgot(s.email);
    const limiterKey = `${ctx.config.redisPrefix}rl:reset-mail:${s.email.toLowerCase()}`;
    // All five requests have been through the limiter...
    await eventually(async () => Number(await api.redis.get(limiterKey)) === 5, 10_000, 'five requests counted');
    const issued = async () => {
      const [row] = await api.sequelize.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM email_tokens WHERE userId = ? AND purpose = 'reset_password'",
        { replacements: [s.user.id], type: QueryTypes.SELECT },
      );
      return Number(row.n);
    };
    // ...and the three it let through have written their token.
    await eventually(async () => (await issued()) >= 3, 10_000, 'three tokens issued');
    expect(await issued()).toBe(3);
  });
});

describe('password/reset', () => {
  it('checks the token before spending time on hashing the new password', async () => {
    const hash = jest.spyOn(bcrypt, 'hash');
    try {
      const res = await reset('x'.repeat(43)).expect(400);
      expect(res.body.errors).toEqual([{ path: 'body.token', message: expect.any(String) }]);
      expect(hash).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
    }
  });
});

describe('secrets at rest', () => {
  it('keeps no working link in the outbox or the mail queue', async () => {
    const s = await signup(api);
    await forgot(s.email);
    const token = linkToken((await nthMail(s.email, RESET, 1)).raw, '/reset-password');
    await api.pawmate.outbox.drain();

    const rows = await api.sequelize.query<{ payload: string }>('SELECT payload FROM outbox', {
      type: QueryTypes.SELECT,
    });
    expect(rows.filter((r) => r.payload.includes(token))).toEqual([]);
    const jobKeys = await keysMatching(api.redis, `${bullPrefix(api.redis, ctx.config.redisPrefix)}:mail:*`);
    expect(jobKeys.length).toBeGreaterThan(0);
    for (const key of jobKeys) {
      if ((await api.redis.type(key)) !== 'hash') continue;
      const fields = await api.redis.hgetall(key);
      expect(JSON.stringify(fields)).not.toContain(token);
    }
    // The link still works: it was sealed, not lost.
    await reset(token).expect(204);
  });
});
