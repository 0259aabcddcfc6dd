import { TestContext, ManualClock, signup, bearer, type TestInstance } from '../../../test/helpers/context';
import { SmtpPeer } from '../../../test/helpers/smtp';
import { inTransaction } from '../../infra/db';

const smtp = new SmtpPeer();
const clock = new ManualClock();
let ctx: TestContext;
let api: TestInstance;

const svc = () => api.pawmate.services.notifications;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mailsTo = (email: string, subject: RegExp) =>
  smtp.mails.filter((m) => m.to.includes(email) && subject.test(m.subject));
/** Lets the outbox and the mail queue finish, so "no (more) mail" can be asserted. */
const settle = async () => {
  await api.pawmate.outbox.drain();
  await sleep(400);
};
const flat = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');

beforeAll(async () => {
  await smtp.start();
  // Access tokens outlive the clock jumps of the digest test.
  ctx = await new TestContext({ smtpUrl: smtp.url, clock, env: { ACCESS_TOKEN_TTL_SEC: String(24 * 3600) } }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});

describe('notification e-mail', () => {
  it('mails reservation notifications by default, with the title as subject and a link', async () => {
    const u = await signup(api, { nickname: 'Sitter Kim' });
    const n = await svc().notify({
      recipientId: u.user.id,
      type: 'reservation.requested',
      title: 'New booking request from Mina',
      body: 'Boarding, 3 days, 1 dog',
    });
    expect(n).not.toBeNull();
    const mail = await smtp.waitFor(u.email, /New booking request from Mina/);
    const text = flat(mail.raw);
    expect(text).toContain('Hi Sitter Kim,');
    expect(text).toContain('Boarding, 3 days, 1 dog');
    expect(text).toContain('http://pawmate.test/notifications');
  });

  it('does not mail other types by default', async () => {
    const u = await signup(api);
    await svc().notify({
      recipientId: u.user.id,
      type: 'comment.new',
      title: 'Someone commented on your post',
      body: 'Nice dog!',
    });
    await settle();
    expect(mailsTo(u.email, /commented/)).toHaveLength(0);
  });

  it('mails without storing a row when e-mail is on and in-app is off', async () => {
    const u = await signup(api);
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'review.new': { inApp: false, email: true } } })
      .expect(200);
    expect(
      await svc().notify({
        recipientId: u.user.id,
        type: 'review.new',
        title: 'You got a 5-star review',
        body: 'Great sitter',
      }),
    ).toBeNull();
    await smtp.waitFor(u.email, /5-star review/);
    const list = await api.http.get('/api/v1/notifications').set(bearer(u.accessToken)).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('stops mailing reservations when the user turns it off', async () => {
    const u = await signup(api);
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'reservation.cancelled': { email: false } } })
      .expect(200);
    await svc().notify({
      recipientId: u.user.id,
      type: 'reservation.cancelled',
      title: 'Booking cancelled by the owner',
    });
    await settle();
    expect(mailsTo(u.email, /Booking cancelled/)).toHaveLength(0);
    const list = await api.http.get('/api/v1/notifications').set(bearer(u.accessToken)).expect(200);
    expect(list.body.items.map((n: { type: string }) => n.type)).toEqual(['reservation.cancelled']);
  });

  it('leaves no row, no mail and no event when the caller rolls back', async () => {
    const u = await signup(api);
    await expect(
      inTransaction(api.sequelize, async (t) => {
        await svc().notifyInTx(t, {
          recipientId: u.user.id,
          type: 'reservation.accepted',
          title: 'Rolled back booking',
        });
        throw new Error('the feature failed after notifying');
      }),
    ).rejects.toThrow('the feature failed');
    await settle();
    expect(mailsTo(u.email, /Rolled back/)).toHaveLength(0);
    expect((await api.http.get('/api/v1/notifications/unread-count').set(bearer(u.accessToken))).body.count).toBe(0);
  });
});

describe('chat e-mail digest', () => {
  it('sends at most one chat e-mail per room per 15 minutes, counting the ones held back', async () => {
    const u = await signup(api, { nickname: 'Chatty' });
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'chat.message': { email: true } } })
      .expect(200);
    const chat = (roomId: number, text: string) =>
      svc().notify({
        recipientId: u.user.id,
        type: 'chat.message',
        title: `New message from Jun (room ${roomId})`,
        body: text,
        data: { roomId, messageId: 1 },
      });

    await chat(5, 'first');
    await chat(5, 'second');
    await chat(6, 'other room');
    await smtp.waitFor(u.email, /room 5/);
    await smtp.waitFor(u.email, /room 6/);
    await settle();
    expect(mailsTo(u.email, /room 5/)).toHaveLength(1);
    expect(flat(mailsTo(u.email, /room 5/)[0].raw)).toContain('http://pawmate.test/chat/rooms/5');
    // Every message is still an in-app notification.
    expect((await api.http.get('/api/v1/notifications/unread-count').set(bearer(u.accessToken))).body.count).toBe(3);

    clock.advance(14 * 60 * 1000);
    await chat(5, 'third');
    await settle();
    expect(mailsTo(u.email, /room 5/)).toHaveLength(1);

    clock.advance(2 * 60 * 1000);
    await chat(5, 'fourth');
    await settle();
    const room5 = mailsTo(u.email, /room 5/);
    expect(room5).toHaveLength(2);
    const text = flat(room5[1].raw);
    expect(text).toContain('fourth');
    expect(text).toMatch(/and 2 more messages/);
  });

  it('digests concurrent chat notifications too (the recipient lock serializes them)', async () => {
    const u = await signup(api);
    await api.http
      .put('/api/v1/notifications/preferences')
      .set(bearer(u.accessToken))
      .send({ preferences: { 'chat.message': { email: true } } })
      .expect(200);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        svc().notify({
          recipientId: u.user.id,
          type: 'chat.message',
          title: 'Burst in room 9',
          body: `m${i}`,
          data: { roomId: 9 },
        }),
      ),
    );
    await smtp.waitFor(u.email, /Burst in room 9/);
    await settle();
    expect(mailsTo(u.email, /Burst in room 9/)).toHaveLength(1);
  });
});
