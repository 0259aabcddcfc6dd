import { QueryTypes } from 'sequelize';
import { TestContext, signup, uniqueEmail, PASSWORD } from './helpers/context';
import { SmtpPeer } from './helpers/smtp';
import { PrivateRedis, eventually } from './helpers/faults';

const smtp = new SmtpPeer();
let ctx: TestContext;

beforeAll(async () => {
  await smtp.start();
  ctx = await new TestContext({ smtpUrl: smtp.url }).setup();
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});

describe('mail delivery through the outbox and the job queue', () => {
  it('keeps retrying while the SMTP server refuses, and delivers once it accepts', async () => {
    const api = await ctx.instance();
    smtp.refuse = true;
    const s = await signup(api);
    await new Promise((r) => setTimeout(r, 1500));
    expect(smtp.mails.filter((m) => m.to.includes(s.email))).toHaveLength(0);
    smtp.refuse = false;
    await smtp.waitFor(s.email, /Confirm your Pawmate e-mail/, 20_000);
    expect(smtp.mails.filter((m) => m.to.includes(s.email))).toHaveLength(1);
    // Its dispatcher would otherwise race the next test's hand-driven one for the same rows.
    await api.close();
  }, 30_000);

  it('loses no mail when Redis is down at dispatch time: the outbox row waits and goes out later', async () => {
    const redis = await PrivateRedis.create();
    await redis.start();
    const api = await ctx.instance({ redisUrl: redis.url });
    try {
      await api.pawmate.outbox.stop(); // dispatch by hand, at the moments this test chooses
      const email = uniqueEmail('outage');
      const created = await api.http
        .post('/api/v1/auth/signup')
        .send({ email, password: PASSWORD, nickname: 'Outage' })
        .expect(201);
      await redis.stop();

      await api.pawmate.outbox.drain();
      // The verification mail is a link mail: its row names the user, and holds the token only sealed.
      const [pending] = await api.sequelize.query<{ attempts: number; processedAt: Date | null }>(
        "SELECT attempts, processedAt FROM outbox WHERE topic = 'auth.link-mail' AND payload LIKE ?",
        { replacements: [`%"userId":${created.body.user.id},%`], type: QueryTypes.SELECT },
      );
      expect(pending).toMatchObject({ attempts: 1, processedAt: null });

      await redis.start();
      await eventually(
        async () => {
          await api.pawmate.outbox.drain();
          return smtp.mails.some((m) => m.to.includes(email));
        },
        20_000,
        'mail delivered after Redis returned',
      );
      expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
    } finally {
      await api.close();
      await redis.stop();
    }
  }, 40_000);

  it('writes no mail for a signup that failed (rolled back)', async () => {
    const api = await ctx.instance();
    const s = await signup(api);
    await api.http
      .post('/api/v1/auth/signup')
      .send({ email: s.email, password: PASSWORD, nickname: 'Dup' })
      .expect(409);
    await smtp.waitFor(s.email, /Confirm/);
    await api.pawmate.outbox.drain();
    await eventually(
      async () => {
        const c = await api.pawmate.jobs.mail.counts();
        return c.waiting + c.active + c.delayed === 0;
      },
      10_000,
      'mail queue settled',
    );
    expect(smtp.mails.filter((m) => m.to.includes(s.email))).toHaveLength(1);
  });
});
