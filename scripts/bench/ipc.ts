import type { ChildProcess } from 'node:child_process';

/**
 * Request/reply over a forked child's IPC channel, for the benchmark's helper processes (load
 * generators, baseline servers): `ask` on the parent side, `serveIpc` in the child.
 */
interface Request {
  reqId: number;
  cmd: string;
  [k: string]: unknown;
}

let nextId = 1;

/** Sends `{ cmd, ...args }` and resolves with the child's reply; rejects if it exits or takes longer than `timeoutMs`. */
export function ask<T = any>(
  child: ChildProcess,
  cmd: string,
  args: Record<string, unknown> = {},
  timeoutMs = 120_000,
): Promise<T> {
  const reqId = nextId++;
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (msg: { reqId?: number; error?: string; result?: T }) => {
      if (msg?.reqId !== reqId) return;
      done();
      if (msg.error) reject(new Error(`${cmd}: ${msg.error}`));
      else resolve(msg.result as T);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${cmd}: helper exited with ${code}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${cmd}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ reqId, cmd, ...args });
  });
}

/** Child side: answers each request with its handler's result; says ready; exits when the parent goes away. */
export function serveIpc(handlers: Record<string, (req: any) => unknown | Promise<unknown>>): void {
  process.on('message', async (msg: Request) => {
    if (!msg || typeof msg.reqId !== 'number') return;
    const handler = handlers[msg.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${msg.cmd}`);
      process.send?.({ reqId: msg.reqId, result: await handler(msg) });
    } catch (err) {
      process.send?.({ reqId: msg.reqId, error: (err as Error).message ?? String(err) });
    }
  });
  // A parent that crashed must not leave load generators holding thousands of sockets.
  process.on('disconnect', () => process.exit(0));
  // An orderly exit on the parent's SIGTERM, so `node --cpu-prof` (BENCH_CPU_PROF) writes its profile.
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ ready: true });
}
