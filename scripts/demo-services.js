/**
 * Private MariaDB and Redis for the quick start, when none is reachable: processes of this demo, with
 * their data under `.pawmate/` (kept between runs) and stopped with it. Only for loopback addresses:
 * a remote DATABASE_URL or REDIS_URL that does not answer is the operator's to fix.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Where binaries are looked for: PATH, plus the sbin folders where Debian puts mariadbd (not on a
 * normal user's PATH). PAWMATE_EXTRA_BIN_DIRS replaces those extra folders (tests set it empty).
 */
function findBinary(names, env = process.env) {
  const extra = env.PAWMATE_EXTRA_BIN_DIRS ?? '/usr/sbin:/usr/local/sbin';
  const dirs = [...(env.PATH ?? '').split(path.delimiter), ...extra.split(path.delimiter)].filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** True when something accepts TCP connections at host:port within `ms`. */
function reachable(host, port, ms = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitUntilReachable(host, port, what, child, logFile, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) break;
    if (await reachable(host, port, 500)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new DemoError(`${what} did not start; see ${logFile}`);
}

/** A failure worth one line to the user (never a stack trace). */
class DemoError extends Error {}

/** What to do about a service that does not answer and cannot be started here. */
const HOW_TO_GET = {
  mariadb: { label: 'MariaDB', binary: 'mariadbd', debian: 'mariadb-server', compose: 'db' },
  redis: { label: 'Redis', binary: 'redis-server', debian: 'redis-server', compose: 'redis' },
};

function missingMessage(kind, url) {
  const h = HOW_TO_GET[kind];
  return (
    `${h.label} is not reachable at ${url.host} and ${h.binary} is not installed: ` +
    `start it with \`docker compose up -d db redis\`, or install it with \`sudo apt-get install ${h.debian}\``
  );
}

function startChild(bin, args, logFile) {
  const log = fs.openSync(logFile, 'a');
  // detached: Ctrl+C reaches the demo, which stops the service in order (not mid-write).
  const child = spawn(bin, args, { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  return child;
}

async function startMariadb(home, url, log) {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  if (!mariadbd) throw new DemoError(missingMessage('mariadb', url));
  const dir = path.join(home, 'mariadb');
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'mariadb.log');
  fs.mkdirSync(dir, { recursive: true });
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--user=root'] : [];
  if (!fs.existsSync(path.join(data, 'mysql'))) {
    const install = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (!install) throw new DemoError(missingMessage('mariadb', url));
    log(`creating a private MariaDB data directory in ${data}`);
    execFileSync(
      install,
      ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
      { stdio: ['ignore', fs.openSync(logFile, 'a'), fs.openSync(logFile, 'a')] },
    );
  }
  const port = Number(url.port || 3306);
  log(`starting a private MariaDB on 127.0.0.1:${port} (data in ${data})`);
  const child = startChild(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'mariadb.sock')}`,
      `--pid-file=${path.join(dir, 'mariadb.pid')}`,
      '--skip-name-resolve',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      ...asRoot,
    ],
    logFile,
  );
  await waitUntilReachable('127.0.0.1', port, 'MariaDB', child, logFile);
  return child;
}

async function startRedis(home, url, log) {
  const redisServer = findBinary(['redis-server']);
  if (!redisServer) throw new DemoError(missingMessage('redis', url));
  const dir = path.join(home, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const port = Number(url.port || 6379);
  const logFile = path.join(dir, 'redis.log');
  log(`starting a private Redis on 127.0.0.1:${port} (data in ${dir})`);
  const child = startChild(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    logFile,
  );
  await waitUntilReachable('127.0.0.1', port, 'Redis', child, logFile);
  return child;
}

/**
 * Makes sure MariaDB and Redis answer at DATABASE_URL and REDIS_URL, starting private ones where
 * they do not. Returns `stop()`, which ends what was started (and waits for it).
 */
async function ensureServices({ databaseUrl, redisUrl, home, log }) {
  const started = [];
  const stop = async () => {
    for (const child of started.reverse()) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
  };
  try {
    for (const [kind, raw, start] of [
      ['mariadb', databaseUrl, startMariadb],
      ['redis', redisUrl, startRedis],
    ]) {
      const url = new URL(raw);
      const port = Number(url.port || (kind === 'mariadb' ? 3306 : 6379));
      if (await reachable(url.hostname, port)) continue;
      if (!LOOPBACK.has(url.hostname)) {
        throw new DemoError(
          `${HOW_TO_GET[kind].label} is not reachable at ${url.host}: check ${kind === 'mariadb' ? 'DATABASE_URL' : 'REDIS_URL'}`,
        );
      }
      started.push(await start(home, url, log));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, started: started.length };
}

module.exports = { ensureServices, DemoError, findBinary, reachable };
