#!/usr/bin/env node
/**
 * Quick start: `npm install && npm run demo`.
 * Writes a .env (with a fresh JWT secret) if there is none, builds, creates and migrates the database
 * on the local MariaDB, loads demo data and starts the server in the foreground.
 */
const { execSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const envFile = path.join(root, '.env');
const step = (label, cmd) => {
  process.stdout.write(`\n▶ ${label}\n`);
  execSync(cmd, { cwd: root, stdio: 'inherit' });
};

if (!fs.existsSync(envFile)) {
  const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
  const secret = randomBytes(32).toString('hex');
  fs.writeFileSync(envFile, example.replace(/^JWT_SECRET=.*$/m, `JWT_SECRET=${secret}`));
  process.stdout.write('▶ wrote .env from .env.example (with a random JWT_SECRET)\n');
}

step('build', 'npm run build');
step('migrate', 'npm run db:migrate');
step('seed demo data', 'npm run db:seed');
step('build the geo index from MySQL', 'npm run geo:reindex -- --kind all');

require('dotenv').config({ path: envFile, quiet: true });
const publicUrl = (process.env.PUBLIC_URL || 'http://localhost:3000').replace(/\/+$/, '');
process.stdout.write(
  [
    '',
    '▶ starting Pawmate',
    `  API docs:   ${publicUrl}/docs`,
    `  Demo login: demo@pawmate.dev / pawmate-demo  (also sitter@pawmate.dev, neighbour@pawmate.dev)`,
    `  Try:        curl -s -X POST ${publicUrl}/api/v1/auth/login -H 'content-type: application/json' \\`,
    `                -d '{"email":"demo@pawmate.dev","password":"pawmate-demo"}'`,
    '',
  ].join('\n') + '\n',
);
const server = spawn(process.execPath, [path.join(root, 'dist/src/server.js')], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
server.on('exit', (code) => process.exit(code ?? 0));
