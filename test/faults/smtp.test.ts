import { TestContext, signup } from '../helpers/context';
import { SmtpPeer } from '../helpers/smtp';
import { HalfCloseProxy } from './proxy';

/**
 * SMTP unreachable (connections refused, not just 4xx answers: test/mail-delivery.test.ts covers
 * those): mails wait in the job queue and each goes out exactly once when the server returns.
 */

const smtp = new SmtpPeer();
let proxy: HalfCloseProxy;
let ctx: TestContext;

beforeAll(async () => {
  await smtp.start();
  proxy = new HalfCloseProxy('127.0.0.1', smtp.port);
  await proxy.start();
  ctx = await new TestContext({ smtpUrl: `smtp://127.0.0.1:${proxy.port}?ignoreTLS=true` }).setup();
}, 60_000);
afterAll(async () => {
  await ctx.close();
  await proxy.cut();
  await smtp.stop();
});

it('delivers every mail once after the SMTP server was unreachable for a few seconds', async () => {
  const api = await ctx.instance();
  await proxy.cut();
  const users = await Promise.all(Array.from({ length: 5 }, () => signup(api)));
  await new Promise((r) => setTimeout(r, 3000));
  expect(smtp.mails.filter((m) => users.some((u) => m.to.includes(u.email)))).toHaveLength(0);
  await proxy.restore();
  for (const u of users) await smtp.waitFor(u.email, /Confirm your Pawmate e-mail/, 30_000);
  // Retries were spent on refused connections; none of them turned into a second copy.
  await new Promise((r) => setTimeout(r, 1000));
  for (const u of users) expect(smtp.mails.filter((m) => m.to.includes(u.email))).toHaveLength(1);
  const metrics = await api.http.get('/metrics').expect(200);
  expect(metrics.text).toMatch(/^pawmate_jobs_failed 0$/m);
}, 60_000);
