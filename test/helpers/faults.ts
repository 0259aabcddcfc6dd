import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';

/**
 * A free TCP port on loopback, below Linux's ephemeral range (32768–60999): servers here are stopped
 * and started again on the same port, and a port the OS hands out for outgoing connections could be
 * taken by one of those in between.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const srv = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise((r) => srv.close(r));
      return port;
    }
  }
}

/**
 * A private redis-server on a spare port, so a test can stop and restart it without touching the
 * machine's shared Redis.
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(this.port, true);
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
    await waitForPort(this.port, false);
  }
}

/** A proxied pair: kept in `sockets` while open; an error or a close on either side ends both. */
function track(sockets: Set<net.Socket>, client: net.Socket, upstream: net.Socket): void {
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}

/**
 * A TCP proxy the test can cut (every connection dropped, new ones refused) and restore. It passes
 * half-closes through: a client that sends QUIT/UNSUBSCRIBE and then ends its side still reads the
 * server's replies, as it would on a direct connection (otherwise every clean disconnect through the
 * proxy loses its last replies and looks like a fault of the client library).
 */
export class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
      track(this.sockets, client, upstream);
      // pipe() ends the other side when one side ends: a half-close travels through.
      client.pipe(upstream);
      upstream.pipe(client);
    });
    // restore() comes back on the same port, so the first one is chosen outside the ephemeral range.
    const at = port || (await freePort());
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(at, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async cut(): Promise<void> {
    const srv = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (srv) await new Promise((r) => srv.close(r));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

async function waitForPort(port: number, open: boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const isOpen = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (isOpen === open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not become ${open ? 'open' : 'closed'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Polls `check` (sync or async) every 25 ms until it is true. Unlike `eventually`, a check that throws
 * fails the wait at once: for in-process state (received events, presence) rather than a server that
 * may be down for a while.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A TCP proxy that can hold what clients send (the server's replies pass freely): while held, chunks
 * queue here in order and `release` forwards them. To a client it looks like a server that has
 * stopped answering for a while — a private, per-connection CLIENT PAUSE that does not slow the
 * shared server for anyone else. `held(text)` counts queued chunks containing `text`, so a test can
 * wait until known commands are in flight instead of sleeping. Half-closes pass through as in
 * CuttableProxy, in order with the data: a client that sends UNSUBSCRIBE and ends its side still
 * reads the replies, once released.
 */
export class HoldingProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** A null chunk is the client's end (half-close), queued behind what it sent before. */
  private readonly queue: { chunk: Buffer | null; to: net.Socket }[] = [];
  private holding = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A started proxy in front of the Redis server of `redisUrl`. */
  static async forRedis(redisUrl: string): Promise<HoldingProxy> {
    const redis = new URL(redisUrl);
    const proxy = new HoldingProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    return proxy;
  }

  /** `redisUrl` (same database and options) reached through this proxy. */
  redisUrl(redisUrl: string): string {
    const redis = new URL(redisUrl);
    redis.host = `127.0.0.1:${this.port}`;
    return redis.toString();
  }

  async start(): Promise<void> {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
      track(this.sockets, client, upstream);
      client.on('data', (chunk: Buffer) => this.forward(chunk, upstream));
      client.on('end', () => this.forward(null, upstream));
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  private forward(chunk: Buffer | null, to: net.Socket): void {
    if (this.holding) this.queue.push({ chunk, to });
    else if (to.destroyed) return;
    else if (chunk) to.write(chunk);
    else to.end();
  }

  hold(): void {
    this.holding = true;
  }

  /** How many times `text` occurs in what is held (commands may share a chunk). */
  held(text: string): number {
    return this.queue.reduce((n, q) => n + (q.chunk ? q.chunk.toString('latin1').split(text).length - 1 : 0), 0);
  }

  release(): void {
    this.holding = false;
    for (const { chunk, to } of this.queue.splice(0)) this.forward(chunk, to);
  }

  async close(): Promise<void> {
    this.release();
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    this.server = null;
    if (srv) await new Promise((r) => srv.close(r));
  }
}
