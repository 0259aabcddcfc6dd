import { type TestContext, signup, type TestInstance, startContext } from '../../../test/helpers/context';
import { SseClient } from '../../../test/faults/sse-client';
import { eventually } from '../../../test/helpers/faults';

/** Revocation must not hinge on one pub/sub message: a missed announcement is caught on reconnect. */
let ctx: TestContext;
let api: TestInstance;

beforeAll(async () => {
  [ctx, api] = await startContext();
});
afterAll(() => ctx.close());

describe('streams of a revoked login', () => {
  it('close after the bus reconnects, though the announcement was missed', async () => {
    const s = await signup(api);
    const sid = JSON.parse(Buffer.from(s.accessToken.split('.')[1], 'base64url').toString()).sid as number;
    const stream = new SseClient(s.accessToken);
    expect(await stream.connect(api.url)).toBe(200);
    let closed = false;
    stream.onClose(() => (closed = true));

    // The login is deny-listed but its announcement never reaches this instance (as when it is
    // published while the subscriber is reconnecting)...
    await api.redis.set(`${ctx.config.redisPrefix}revoked:sid:${sid}`, '1', 'EX', 600);
    // ...then the subscriber connection drops and comes back.
    const clients = (await api.redis.client('LIST')) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${ctx.config.redisPrefix}bus `));
    expect(line).toBeDefined();
    await api.redis.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]);

    await eventually(async () => closed, 10_000, 'stream of the revoked login closed');
    stream.close();
  });
});
