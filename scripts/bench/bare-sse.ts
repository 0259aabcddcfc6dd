/**
 * Baseline for the SSE benchmark: the least a node:http server can do to fan one event out to N
 * open streams (no auth, no database, no bus).  node dist/scripts/bench/bare-sse.js <port>
 * IPC: `fanout` writes one `notification` event to every stream; `memory` reports process memory.
 */
import http from 'node:http';
import { serveIpc } from './ipc';

const port = Number(process.argv[2]);
const open = new Set<http.ServerResponse>();
let nextId = 1;

const server = http.createServer((req, res) => {
  req.socket.setNoDelay(true);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  // The same opening the Pawmate stream sends, so the load generator treats both alike.
  res.write('retry: 3000\n\nevent: unread-count\ndata: {"count":0}\n\n');
  open.add(res);
  res.on('close', () => open.delete(res));
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;

server.listen(port, '127.0.0.1', () =>
  serveIpc({
    fanout() {
      const started = Date.now();
      for (const res of open) {
        const id = nextId++;
        // A payload of about the size of a Pawmate notification row.
        const data = {
          id,
          type: 'comment.new',
          title: 'Bench notification',
          body: '',
          data: { i: id },
          readAt: null,
          createdAt: new Date().toISOString(),
        };
        res.write(`id: ${id}\nevent: notification\ndata: ${JSON.stringify(data)}\n\n`);
      }
      return { sent: open.size, ms: Date.now() - started };
    },
    memory() {
      // Forked with --expose-gc: the same full collection before the reading as the Pawmate server gets.
      (globalThis as { gc?: () => void }).gc?.();
      return { ...process.memoryUsage(), streams: open.size };
    },
  }),
);
