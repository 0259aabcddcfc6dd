import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { io, type Socket } from 'socket.io-client';
import { TestContext, signup, type TestInstance } from './helpers/context';
import { ack } from './helpers/socket';

/**
 * /asyncapi.json: a valid AsyncAPI 3 document (checked by the AsyncAPI parser, with its rules) that
 * documents the realtime API as the server runs it: every client event's documented required fields
 * are exactly those its handler refuses a `{}` payload for.
 */
describe('GET /asyncapi.json', () => {
  const ctx = new TestContext();
  let inst: TestInstance;
  let doc: any;
  let socket: Socket;

  beforeAll(async () => {
    await ctx.setup();
    inst = await ctx.instance();
    doc = (await inst.http.get('/asyncapi.json').set('Host', 'pawmate.lan:3000').expect(200)).body;
    const user = await signup(inst);
    socket = io(inst.url, { path: '/socket.io', auth: { token: user.accessToken }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
  }, 60_000);
  afterAll(async () => {
    socket?.disconnect();
    await ctx.close();
  });

  it('is valid AsyncAPI 3 for the AsyncAPI parser', async () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    const diagnostics = await new Parser().validate(JSON.stringify(doc));
    const errors = diagnostics
      .filter((d) => d.severity === DiagnosticSeverity.Error)
      .map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
  });

  it('names the host and scheme the client used in its servers', () => {
    expect(doc.servers.socketio).toMatchObject({ host: 'pawmate.lan:3000', protocol: 'ws', pathname: '/socket.io' });
    expect(doc.servers.http).toMatchObject({ host: 'pawmate.lan:3000', protocol: 'http' });
  });

  it('documents the chat, live-location and connection events with their payloads', () => {
    const messages = doc.channels.socketio.messages;
    const names = (prefix: string) =>
      Object.entries(messages)
        .filter(([id]) => id.startsWith(prefix))
        .map(([, m]: [string, any]) => m.name)
        .sort();
    expect(names('client-')).toEqual(
      ['location:stop', 'location:update', 'message:read', 'message:send', 'room:join', 'room:leave', 'typing'].sort(),
    );
    expect(names('server-')).toEqual(
      [
        'auth:expired',
        'auth:revoked',
        'location:nearby',
        'message:new',
        'message:read',
        'server:shutdown',
        'typing',
      ].sort(),
    );
    // A named schema shared with /openapi.json, with its fields.
    expect(messages['server-message-new'].payload).toEqual({ $ref: '#/components/schemas/Message' });
    expect(Object.keys(doc.components.schemas.Message.properties)).toEqual(
      expect.arrayContaining(['body', 'clientId', 'createdAt', 'id', 'roomId', 'senderId']),
    );
    // message:send is acknowledged with the stored message; a refusal with the shared error shape.
    expect(messages['ack-message-send'].payload.properties.message).toMatchObject({
      $ref: '#/components/schemas/Message',
    });
    expect(doc.operations['receive-message-send'].reply.messages).toEqual([
      { $ref: '#/channels/socketio/messages/ack-message-send' },
      { $ref: '#/channels/socketio/messages/ack-error' },
    ]);
  });

  it('documents the notification stream: events, resume id and the query token', () => {
    const channel = doc.channels['notifications.stream'];
    expect(channel.address).toBe('/api/v1/notifications/stream');
    expect(Object.values(channel.messages).map((m: any) => m.name)).toEqual(['unread-count', 'notification']);
    expect(channel.messages.notification.payload).toEqual({ $ref: '#/components/schemas/Notification' });
    const op = doc.operations['stream-notifications.stream'];
    expect(Object.keys(op.bindings.http.query.properties).sort()).toEqual(['access_token', 'lastEventId']);
    expect(doc.components.securitySchemes.queryToken).toMatchObject({ in: 'query', name: 'access_token' });
  });

  it("lists as required exactly the fields each client event's handler refuses to go without", async () => {
    for (const [id, message] of Object.entries<any>(doc.channels.socketio.messages)) {
      if (!id.startsWith('client-')) continue;
      const reply = await ack(socket, message.name, {});
      expect({ event: message.name, code: reply.code }).toEqual({ event: message.name, code: 'VALIDATION_FAILED' });
      const refused = reply.errors.map((e: { path: string }) => e.path).sort();
      expect({ event: message.name, required: refused }).toEqual({
        event: message.name,
        required: [...message.payload.required].sort(),
      });
    }
  });
});
