import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from './config';
import { parseClusterUrl } from './infra/redis';

const base = {
  DATABASE_URL: 'mysql://root@127.0.0.1:3306/pawmate',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  JWT_SECRET: 'x'.repeat(32),
};

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      port: 3000,
      accessTokenTtlSec: 900,
      refreshTokenTtlSec: 14 * 24 * 3600,
      bcryptCost: 12,
      smtpUrl: null,
      storageDriver: 'local',
      serviceTz: 'Asia/Seoul',
      rateLimitAuthMax: 10,
    });
  });

  it('treats an empty variable as unset, as in .env.example', () => {
    const c = loadConfig({ ...base, S3_BUCKET: '', S3_ENDPOINT: '', SMTP_URL: '', CORS_ORIGINS: '', PORT: '' });
    expect(c).toMatchObject({ s3: { bucket: null, endpoint: null }, smtpUrl: null, port: 3000 });
    // Unset, so the development default (test/dev-defaults.test.ts), as when the line is absent.
    expect(c.corsOrigins).toEqual(loadConfig(base).corsOrigins);
    expect(() => loadConfig({ ...base, JWT_SECRET: '' })).toThrow(/^Invalid configuration: JWT_SECRET /);
  });

  it.each([
    [{ DATABASE_URL: undefined }, /^Invalid configuration: DATABASE_URL /],
    [{ DATABASE_URL: 'postgres://x/y' }, /^Invalid configuration: DATABASE_URL /],
    [{ REDIS_URL: 'nope' }, /^Invalid configuration: REDIS_URL /],
    [{ JWT_SECRET: 'short' }, /^Invalid configuration: JWT_SECRET must be at least 32 characters/],
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT /],
    [{ SERVICE_TZ: 'Mars/Olympus' }, /^Invalid configuration: SERVICE_TZ /],
    [{ STORAGE_DRIVER: 's3' }, /^Invalid configuration: S3_BUCKET /],
  ])('stops with one line naming the variable for %j', (override, message) => {
    const attempt = () => loadConfig({ ...base, ...override });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('refuses the JWT_SECRET placeholder of .env.example in production (and only there)', () => {
    const example = fs.readFileSync(path.join(__dirname, '..', '.env.example'), 'utf8');
    const placeholder = /^JWT_SECRET=(.*)$/m.exec(example)![1];
    expect(placeholder.length).toBeGreaterThanOrEqual(32);
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: placeholder })).toThrow(
      /^Invalid configuration: JWT_SECRET is the placeholder from \.env\.example/,
    );
    expect(loadConfig({ ...base, NODE_ENV: 'development', JWT_SECRET: placeholder }).jwtSecret).toBe(placeholder);
    expect(loadConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: 'f'.repeat(64) }).jwtSecret).toBe('f'.repeat(64));
  });

  it('names a Redis Cluster by REDIS_CLUSTER_NODES (which wins) or a redis+cluster:// REDIS_URL', () => {
    const nodes = '10.0.0.1:7000, 10.0.0.2:7001';
    expect(loadConfig({ ...base, REDIS_CLUSTER_NODES: nodes }).redisUrl).toBe(
      'redis+cluster://10.0.0.1:7000,10.0.0.2:7001',
    );
    expect(loadConfig({ ...base, REDIS_URL: undefined, REDIS_CLUSTER_NODES: nodes }).redisUrl).toMatch(
      /^redis\+cluster:/,
    );
    const url = 'redis+cluster://:secret@h1:7000,h2:7001';
    expect(loadConfig({ ...base, REDIS_URL: url }).redisUrl).toBe(url);
    expect(parseClusterUrl(url)).toEqual({
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      password: 'secret',
    });
    expect(parseClusterUrl('redis://h:6379/0')).toBeNull();
    expect(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'h1' })).toThrow(
      /^Invalid configuration: REDIS_CLUSTER_NODES must be host:port/,
    );
    expect(() => loadConfig({ ...base, REDIS_URL: 'redis+cluster://h1' })).toThrow(
      /^Invalid configuration: REDIS_URL /,
    );
    expect(() => loadConfig({ ...base, REDIS_URL: undefined })).toThrow(/^Invalid configuration: REDIS_URL /);
  });
});
