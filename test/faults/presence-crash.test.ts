import { io as connectClient } from 'socket.io-client';
import { TestContext, bearer, signup, type TestInstance } from '../helpers/context';
import { openDirectRoom } from '../helpers/fixtures';
import { entryPointEnv, startEntryPoint } from '../helpers/server-process';
import { ack } from '../helpers/socket';
import type { ChatService } from '../../src/modules/chat/chat.service';

/**
 * The contract: a socket whose server instance died counts as joined for at most 45 s. The real
 * entry point holds a member's joined socket and is SIGKILLed (no shutdown code runs); another
 * instance must stop counting that member as present, and notify them of new messages, within 45 s.
 */
let ctx: TestContext;
let api: TestInstance;
beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance();
}, 60_000);
afterAll(() => ctx.close());

it('forgets the sockets of a SIGKILLed instance within 45 s, and notifies their users again', async () => {
  const chat = api.pawmate.services.chat as ChatService;
  const [x, y] = [await signup(api), await signup(api)];
  const roomId = await openDirectRoom(api, x, y);

  const srv = await startEntryPoint(entryPointEnv(ctx));
  const socket = connectClient(`http://127.0.0.1:${srv.port}`, {
    transports: ['websocket'],
    auth: { token: y.accessToken },
    forceNew: true,
    reconnection: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    expect(await ack(socket, 'room:join', { roomId })).toEqual({ ok: true });
    expect([...(await chat.presentUsers(roomId))]).toEqual([y.user.id]);

    srv.child.kill('SIGKILL');
    const killedAt = performance.now();
    await srv.exited;
    while ((await chat.presentUsers(roomId)).has(y.user.id)) {
      expect(performance.now() - killedAt).toBeLessThan(45_000);
      await new Promise((r) => setTimeout(r, 500));
    }
    const goneAfterMs = Math.round(performance.now() - killedAt);
    process.stdout.write(`presence: a SIGKILLed instance's socket stopped counting after ${goneAfterMs} ms\n`);
    expect(goneAfterMs).toBeLessThanOrEqual(45_000);

    // Absent again, so a new message notifies them.
    await api.http
      .post(`/api/v1/chat/rooms/${roomId}/messages`)
      .set(bearer(x.accessToken))
      .send({ body: 'still there?', clientId: 'after-crash' })
      .expect(201);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const notes = await api.http.get('/api/v1/notifications').set(bearer(y.accessToken)).expect(200);
      if (notes.body.items.some((n: { type: string; body: string }) => n.type === 'chat.message')) break;
      if (Date.now() > deadline) throw new Error('no chat.message notification after the crash');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    socket.disconnect();
    if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
  }
}, 90_000);
