/**
 * Baseline servers for the benchmarks, run as a child process so they do not share the load
 * generator's core:  node dist/scripts/bench/baselines.js <bare-http|express-mysql2> <port> [DATABASE_URL]
 */
import http from 'node:http';
import express from 'express';
import mysql from 'mysql2/promise';

async function main() {
  const [kind, portArg, dbUrl] = process.argv.slice(2);
  const port = Number(portArg);
  if (kind === 'bare-http') {
    const body = JSON.stringify({ status: 'ok' });
    http
      .createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      })
      .listen(port, () => process.send?.('ready'));
    return;
  }
  if (kind === 'express-mysql2') {
    const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 10 });
    const app = express();
    app.get('/users/:id', async (req, res) => {
      const [rows] = await pool.query('SELECT id, email, nickname, bio, avatarUrl, emailVerifiedAt, isSitter, createdAt FROM users WHERE id = ?', [
        Number(req.params.id),
      ]);
      const row = (rows as Record<string, unknown>[])[0];
      if (!row) return void res.status(404).end();
      res.json(row);
    });
    app.listen(port, () => process.send?.('ready'));
    return;
  }
  throw new Error(`unknown baseline ${kind}`);
}

void main();
