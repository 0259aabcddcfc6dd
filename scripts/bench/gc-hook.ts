/**
 * Preloaded into a benchmarked server (NODE_OPTIONS="--expose-gc --require …/gc-hook.js", see
 * `measuredEnv` in ./sse.ts), so the benchmark can read memory after a full collection: otherwise the garbage
 * of the opening burst would be counted as the cost of the streams. Answers one IPC request,
 * `{ reqId, cmd: 'memory' }` (the protocol of ./ipc.ts), and touches nothing else.
 */
process.on('message', (msg: { reqId?: unknown; cmd?: unknown }) => {
  if (!msg || msg.cmd !== 'memory' || typeof msg.reqId !== 'number') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
  process.send?.({ reqId: msg.reqId, result: { ...process.memoryUsage(), collected: typeof gc === 'function' } });
});
