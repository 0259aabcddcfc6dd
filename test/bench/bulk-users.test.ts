import http from 'node:http';
import { io } from 'socket.io-client';
import { TestContext, type TestInstance } from '../helpers/context';
import { bulkUsers } from '../../scripts/bench/bulk-users';
import { openFilesLimit } from '../../scripts/bench/sse';

/**
 * The SSE and chat benchmarks skip signup and mint their own tokens: if auth changes its claims
 * or checks, these must fail here rather than as a wall of 401s in a benchmark run.
 */
describe('bench bulk users', () => {
  const ctx = new TestContext();
  let inst: TestInstance;

  beforeAll(async () => {
    await ctx.setup();
    inst = await ctx.instance();
  });
  afterAll(() => ctx.close());

  it('creates distinct users with one login each whose tokens the app accepts', async () => {
    const users = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 3, 'test');
    expect(users).toHaveLength(3);
    expect(new Set(users.map((u) => u.id)).size).toBe(3);
    expect(new Set(users.map((u) => u.sessionId)).size).toBe(3);
    for (const u of users) {
      const res = await inst.http.get('/api/v1/users/me').set('authorization', `Bearer ${u.token}`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(u.id);
    }
    const [sessions] = await inst.sequelize.query('SELECT userId FROM sessions WHERE id IN (?)', {
      replacements: [users.map((u) => u.sessionId)],
    });
    expect((sessions as { userId: number }[]).map((s) => Number(s.userId)).sort((a, b) => a - b)).toEqual(
      users.map((u) => u.id),
    );
  });

  it('tokens minted with another secret are refused', async () => {
    const [u] = await bulkUsers(ctx.config.databaseUrl, 'x'.repeat(64), 1, 'other');
    const res = await inst.http.get('/api/v1/users/me').set('authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(401);
  });

  it('opens a notification stream and a chat socket with a minted token', async () => {
    const [u] = await bulkUsers(ctx.config.databaseUrl, ctx.config.jwtSecret, 1, 'stream');
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        `${inst.url}/api/v1/notifications/stream`,
        { headers: { authorization: `Bearer ${u.token}` } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            const m = /event: unread-count\ndata: (.*)\n\n/.exec(buf);
            if (m) {
              req.destroy();
              resolve(m[1]);
            }
          });
        },
      );
      req.on('error', reject);
    });
    expect(JSON.parse(first)).toEqual({ count: 0 });

    const socket = io(inst.url, {
      transports: ['websocket'],
      auth: { token: u.token },
      reconnection: false,
      forceNew: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      expect(socket.connected).toBe(true);
    } finally {
      socket.close();
    }
  });

  it('reads the open-files limit on Linux', () => {
    const limit = openFilesLimit();
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0);
    else expect(limit === null || limit > 0).toBe(true);
  });
});
