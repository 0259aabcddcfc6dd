#!/usr/bin/env node
/**
 * Quick start: `npm install && npm run demo`.
 * Writes a .env (with a fresh JWT secret) if there is none; makes sure MariaDB and Redis answer
 * (starting private ones under .pawmate/ when they do not and the binaries exist, or saying in one
 * line what is missing); builds, creates and migrates the database, loads demo data and starts the
 * server in the foreground. Ctrl+C stops the server and the private services.
 */
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ensureServices, DemoError } = require('./demo-services');

const HELP = `Usage: npm run demo [-- --no-build]

  --no-build   use the compiled code in dist/ as it is (npm run build skipped)

Environment (read from .env, written from .env.example on the first run):
  DATABASE_URL, REDIS_URL   when nothing answers there (on this machine) and mariadbd / redis-server
                            are installed, private ones are started with their data in .pawmate/
  PAWMATE_HOME              folder of the private services' data (default: .pawmate)
  PAWMATE_ENV_FILE          the .env file to read and create (default: .env)
`;

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const envFile = path.resolve(root, process.env.PAWMATE_ENV_FILE || '.env');
const home = path.resolve(root, process.env.PAWMATE_HOME || '.pawmate');
const say = (line) => process.stdout.write(`▶ ${line}\n`);

/** Runs a compiled script (or tsc) with this Node; a failure ends the demo with its own output above. */
function step(label, script, scriptArgs = []) {
  say(label);
  const res = spawnSync(process.execPath, [path.join(root, script), ...scriptArgs], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) throw new DemoError(`${label} failed (its output is above)`);
}

let services = null;

async function main() {
  if (!fs.existsSync(envFile)) {
    const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    const secret = randomBytes(32).toString('hex');
    fs.writeFileSync(envFile, example.replace(/^JWT_SECRET=.*$/m, `JWT_SECRET=${secret}`));
    say(`wrote ${path.relative(root, envFile)} from .env.example (with a random JWT_SECRET)`);
  }
  require('dotenv').config({ path: envFile, quiet: true });

  services = await ensureServices({
    databaseUrl: process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/pawmate',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    home,
    log: say,
  });
  let server = null;
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    if (services.started) say('stopping the private services');
    await services.stop();
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => (server ? server.kill(sig) : stopAll(130)));
  }

  try {
    if (!args.includes('--no-build')) step('build', 'node_modules/typescript/bin/tsc', ['-p', 'tsconfig.json']);
    step('migrate', 'dist/scripts/db.js', ['migrate']);
    step('seed demo data', 'dist/scripts/db.js', ['seed']);
    step('build the geo index from MySQL', 'dist/scripts/reindex-geo.js', ['--kind', 'all']);
  } catch (err) {
    process.stderr.write(`${err instanceof DemoError ? err.message : String(err)}\n`);
    return stopAll(1);
  }

  // Where this server listens (PORT), which is what the reader can open now; PUBLIC_URL is where
  // links in mails point, and may name a proxy or another port.
  const localUrl = `http://localhost:${process.env.PORT || 3000}`;
  const publicUrl = (process.env.PUBLIC_URL || localUrl).replace(/\/+$/, '');
  process.stdout.write(
    [
      '',
      '▶ starting Pawmate',
      `  Web client: ${localUrl}/app/`,
      `  API docs:   ${localUrl}/docs`,
      ...(publicUrl === localUrl ? [] : [`  PUBLIC_URL: ${publicUrl}  (links in e-mails point there)`]),
      `  Demo login: demo@pawmate.dev / pawmate-demo  (also sitter@pawmate.dev, neighbour@pawmate.dev)`,
      `  Try:        curl -s -X POST ${localUrl}/api/v1/auth/login -H 'content-type: application/json' \\`,
      `                -d '{"email":"demo@pawmate.dev","password":"pawmate-demo"}'`,
      '',
    ].join('\n') + '\n',
  );
  server = spawn(process.execPath, [path.join(root, 'dist/src/server.js')], { cwd: root, stdio: 'inherit' });
  server.on('exit', (code) => stopAll(code ?? 0));
}

main().catch(async (err) => {
  // Expected failures are one line; anything else is a bug of this script and shows its message only.
  process.stderr.write(`${err instanceof DemoError ? err.message : `demo failed: ${err.message}`}\n`);
  await services?.stop();
  process.exit(1);
});
