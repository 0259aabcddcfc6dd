import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * There is no Docker engine on the machines that run the tests, so `docker compose config` cannot
 * check these files: this reads them and checks what the README promises of them.
 */
const ROOT = path.resolve(__dirname, '..');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

interface Service {
  image?: string;
  build?: string;
  ports?: string[];
  environment?: Record<string, string>;
  command?: string | string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes: Record<string, null>;
};
const example = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/** `127.0.0.1:3306:3306` → { host: '127.0.0.1', published: 3306, target: 3306 }. */
const published = (s: Service) =>
  (s.ports ?? []).map((p) => {
    const parts = p.split(':');
    const [host, pub, target] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
    return { host, published: Number(pub), target: Number(target) };
  });

describe('docker-compose.yml', () => {
  const { app, db, redis } = compose.services;

  it('publishes MariaDB and Redis where .env.example looks for them (services in Docker, app on the host)', () => {
    const dbUrl = new URL(example.DATABASE_URL);
    expect(published(db)).toContainEqual({ host: dbUrl.hostname, published: Number(dbUrl.port), target: 3306 });
    // .env.example connects as root without a password: the container must allow exactly that.
    expect(dbUrl.username).toBe('root');
    expect(dbUrl.password).toBe('');
    expect(db.environment?.MARIADB_ALLOW_EMPTY_ROOT_PASSWORD).toBe('1');
    const redisUrl = new URL(example.REDIS_URL);
    expect(published(redis)).toContainEqual({
      host: redisUrl.hostname,
      published: Number(redisUrl.port),
      target: 6379,
    });
  });

  it('runs the full stack: the app reaches the services by name, seeds on start and allows the client origin', () => {
    const env = app.environment!;
    const dbUrl = new URL(env.DATABASE_URL);
    expect(dbUrl.hostname).toBe('db');
    expect([dbUrl.username, dbUrl.password, dbUrl.pathname.slice(1)]).toEqual([
      db.environment!.MARIADB_USER,
      db.environment!.MARIADB_PASSWORD,
      db.environment!.MARIADB_DATABASE,
    ]);
    expect(new URL(env.REDIS_URL).hostname).toBe('redis');
    const command = ([] as string[]).concat(app.command ?? []).join(' ');
    expect(command).toMatch(/db\.js migrate && node dist\/scripts\/db\.js seed .*exec node dist\/src\/server\.js/);
    expect(env.CORS_ORIGINS).toContain('http://localhost:3000');
    expect(published(app)).toContainEqual({ host: '0.0.0.0', published: 3000, target: Number(env.PORT) });
  });

  it('names only services and volumes it declares', () => {
    for (const s of Object.values(compose.services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(Object.keys(compose.services)).toContain(dep);
      for (const v of s.volumes ?? []) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));

  it('builds on the current Node LTS line, which package.json engines allows next to Node 20.19+', () => {
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBeGreaterThan(0);
    expect(new Set(froms)).toEqual(new Set([26]));
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('^20.19.0 || >=22.12.0');
  });

  it('copies only what exists and is not ignored; secrets and local state stay out', () => {
    for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) {
      expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
      expect(ignored).not.toContain(src);
    }
    for (const must of ['node_modules', '.env', '.pawmate', 'uploads', 'dist', 'artifacts', '.git']) {
      expect(ignored).toContain(must);
    }
  });
});
