/**
 * SSE load generator, one of several processes (each holds up to a few thousand streams, within
 * its file-descriptor limit):  node dist/scripts/bench/sse-clients.js <index>
 * Driven over IPC by scripts/bench/sse.ts:
 *  - open { port, path, tokens, concurrency }: opens one stream per token (Bearer header; tokens may
 *    be null for the bare baseline), resolves once each one's first `unread-count` event arrived;
 *  - count: notification events received so far;
 *  - stats: every receipt's wall-clock time and its latency against the event's `createdAt`;
 *  - close: destroys every stream.
 * Plain http.get and a small event-stream parser: an EventSource client per stream would cost more
 * memory than the server side it measures.
 */
import http from 'node:http';
import { serveIpc } from './ipc';

interface Stream {
  req: http.ClientRequest;
  res?: http.IncomingMessage;
  buf: string;
}

const streams: Stream[] = [];
const receivedAt: number[] = [];
const latencies: number[] = [];
const errors = new Map<string, number>();
let closedEarly = 0;

function countError(key: string) {
  errors.set(key, (errors.get(key) ?? 0) + 1);
}

/** Handles one complete event block; resolves `ready` at the first unread-count. */
function onEvent(block: string, ready: () => void) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (event === 'unread-count') return ready();
  if (event !== 'notification') return;
  const now = Date.now();
  receivedAt.push(now);
  try {
    const createdAt = Date.parse((JSON.parse(data) as { createdAt: string }).createdAt);
    if (Number.isFinite(createdAt)) latencies.push(now - createdAt);
  } catch {
    countError('bad event data');
  }
}

function openOne(port: number, path: string, token: string | null): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    const req = http.get({
      host: '127.0.0.1',
      port,
      path,
      // One TCP connection per stream, as separate browsers would have.
      agent: false,
      headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const stream: Stream = { req, buf: '' };
    req.setTimeout(60_000, () => {
      if (!settled) {
        countError('timeout before first event');
        req.destroy();
        settle(false);
      }
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      countError(err.code ?? err.message);
      settle(false);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        countError(`HTTP ${res.statusCode}`);
        res.resume();
        req.destroy();
        return settle(false);
      }
      stream.res = res;
      streams.push(stream);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        stream.buf += chunk;
        let i: number;
        while ((i = stream.buf.indexOf('\n\n')) >= 0) {
          const block = stream.buf.slice(0, i);
          stream.buf = stream.buf.slice(i + 2);
          onEvent(block, () => {
            // Open for good: the bare baseline sends no pings, so no idle timeout from here on.
            if (!settled) req.setTimeout(0);
            settle(true);
          });
        }
      });
      res.on('close', () => {
        if (!settled) countError('closed before first event');
        else closedEarly++;
        settle(false);
      });
    });
  });
}

serveIpc({
  async open(req: { port: number; path: string; tokens: (string | null)[]; concurrency: number }) {
    const started = Date.now();
    let next = 0;
    let opened = 0;
    await Promise.all(
      Array.from({ length: Math.min(req.concurrency, req.tokens.length) }, async () => {
        while (next < req.tokens.length) {
          const token = req.tokens[next++];
          if (await openOne(req.port, req.path, token)) opened++;
        }
      }),
    );
    return { opened, failed: req.tokens.length - opened, ms: Date.now() - started, errors: Object.fromEntries(errors) };
  },
  count: () => ({ received: receivedAt.length, closedEarly }),
  stats: () => ({ receivedAt, latencies, closedEarly, errors: Object.fromEntries(errors) }),
  reset() {
    receivedAt.length = 0;
    latencies.length = 0;
    return true;
  },
  close() {
    for (const s of streams.splice(0)) s.req.destroy();
    return true;
  },
});
