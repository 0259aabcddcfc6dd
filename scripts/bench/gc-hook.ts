/**
 * Preloaded into a benchmarked server (NODE_OPTIONS="--expose-gc --require …/gc-hook.js", see
 * `measuredEnv` in ./sse.ts), so the benchmark can read memory after a full collection: otherwise the garbage
 * of the opening burst would be counted as the cost of the streams. Answers two IPC requests,
 * `{ reqId, cmd: 'memory' }` and `{ reqId, cmd: 'cpu' }` (CPU time so far; the protocol of ./ipc.ts), and stops the server (SIGTERM, its graceful
 * shutdown) when the benchmark process goes away without killing it, so no orphan keeps the port.
 */
import v8 from 'node:v8';

process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));

process.on('message', (msg: { reqId?: unknown; cmd?: unknown }) => {
  if (msg?.cmd === 'cpu' && typeof msg.reqId === 'number') {
    // CPU time so far (µs), with no collection of its own in it.
    const { user, system } = process.cpuUsage();
    process.send?.({ reqId: msg.reqId, result: { cpuUs: user + system } });
    return;
  }
  if (!msg || msg.cmd !== 'memory' || typeof msg.reqId !== 'number') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    if (typeof gc === 'function') gc();
    // What V8 holds per heap space: RSS moves with the young generation's size, not only with what is live.
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
    process.send?.({
      reqId: msg.reqId,
      result: { ...process.memoryUsage(), spaces, collected: typeof gc === 'function' },
    });
  } catch (err) {
    // memoryUsage reads /proc: out of file descriptors it throws, and that must not stop the server.
    process.send?.({ reqId: msg.reqId, error: (err as Error).message });
  }
});
