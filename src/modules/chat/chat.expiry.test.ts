import type { Socket as ClientSocket } from 'socket.io-client';
import { TestContext, ManualClock, signup, type TestInstance } from '../../../test/helpers/context';
import { connectSocket } from '../../../test/helpers/socket';

// Its own context: the clock is moved close to the access token's expiry.
const clock = new ManualClock('2026-06-01T00:00:00.000Z');
let ctx: TestContext;
let api: TestInstance;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await new TestContext({ clock }).setup();
  api = await ctx.instance();
});
afterAll(async () => {
  for (const s of clients) s.disconnect();
  await ctx.close();
});

const connect = (token: string) => connectSocket(api.url, token, clients);

describe('access token expiry on a socket', () => {
  it('sends auth:expired at the token expiry and disconnects; a fresh token connects again', async () => {
    const u = await signup(api);
    // 1.2 s of validity left on the token.
    clock.advance(ctx.config.accessTokenTtlSec * 1000 - 1200);
    const socket = await connect(u.accessToken);
    const started = Date.now();
    const expired = new Promise((resolve) => socket.once('auth:expired', resolve));
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(await expired).toEqual({ message: expect.any(String) });
    expect(await reason).toBe('io server disconnect');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(800);
    expect(waited).toBeLessThan(5000);

    // Past the expiry the same token is refused; a refreshed one is accepted.
    clock.advance(1500);
    await expect(connect(u.accessToken)).rejects.toThrow('UNAUTHENTICATED');
    const fresh = await api.http.post('/api/v1/auth/refresh').send({ refreshToken: u.refreshToken }).expect(200);
    const again = await connect(fresh.body.accessToken);
    expect(again.connected).toBe(true);
  });
});
