import type { Response } from 'express';
import type Joi from 'joi';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RateLimited, Unavailable } from '../../errors';

/** One event of a stream as /asyncapi.json documents it: its `event:` name, `data:` schema and `id:`. */
export interface StreamEventDoc {
  summary: string;
  data: Joi.Schema;
  /** What the `id:` line carries, when the event has one (resumable with Last-Event-ID). */
  id?: string;
}

/** A Server-Sent Events stream as /asyncapi.json documents it. */
export interface StreamDoc {
  /** Full path of the route, e.g. `/api/v1/notifications/stream`. */
  path: string;
  summary: string;
  description: string;
  /** The route's query schema (token and resume position for EventSource). */
  query?: Joi.ObjectSchema;
  events: Record<string, StreamEventDoc>;
}

export interface SseHubOptions {
  /** Names the hub in metric labels. */
  name: string;
  /** Comment line interval; API.md promises at least one every 20 s. */
  pingMs?: number;
  /**
   * Bytes a stream may have queued in the process (beyond what the kernel took) before it is cut.
   * A client that does not read then reconnects and replays, instead of growing our memory.
   */
  maxBufferedBytes?: number;
  /** Open streams per key (user) on this instance; past it, 429. */
  maxStreamsPerKey?: number;
  /** Reconnect delay told to clients: base + random jitter, so a restart does not bring them all back at once. */
  retryBaseMs?: number;
  retryJitterMs?: number;
  registry?: Registry;
  /** Called once for every stream of the hub when it closes, whoever closes it (one handler for all streams). */
  onClose?: (stream: SseStream) => void;
}

interface HubMetrics {
  open: Gauge<'hub'>;
  sent: Counter<'hub' | 'event'>;
  drops: Counter<'hub' | 'reason'>;
}

// prom-client refuses a second metric with the same name in one registry: share per registry.
const metricsByRegistry = new WeakMap<Registry, HubMetrics>();
const hubsByRegistry = new WeakMap<Registry, Set<SseHub>>();

function hubMetrics(registry: Registry): HubMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const hubs = new Set<SseHub>();
  hubsByRegistry.set(registry, hubs);
  m = {
    open: new Gauge({
      name: 'pawmate_sse_open_streams',
      help: 'Open Server-Sent Events streams',
      labelNames: ['hub'],
      registers: [registry],
      collect() {
        for (const h of hubs) this.set({ hub: h.name }, h.size);
      },
    }),
    sent: new Counter({
      name: 'pawmate_sse_events_sent_total',
      help: 'Server-Sent Events written to streams',
      labelNames: ['hub', 'event'],
      registers: [registry],
    }),
    drops: new Counter({
      name: 'pawmate_sse_drops_total',
      help: 'Streams closed by the server because the client did not keep up',
      labelNames: ['hub', 'reason'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** Security headers that apply to documents only (CSP, framing, referrer…), dropped from a stream's answer. */
const DOCUMENT_ONLY_HEADERS = [
  'Content-Security-Policy',
  'Cross-Origin-Opener-Policy',
  'Origin-Agent-Cluster',
  'Referrer-Policy',
  'X-DNS-Prefetch-Control',
  'X-Download-Options',
  'X-Frame-Options',
  'X-Permitted-Cross-Domain-Policies',
  'X-XSS-Protection',
];

export interface SseEvent {
  id?: string | number;
  event?: string;
  /** Serialized as one JSON line. */
  data: unknown;
}

/** The stream a response carries, for the one 'close' listener that all streams' responses share. */
const STREAM_OF = Symbol('sseStream');
type StreamResponse = Response & { [STREAM_OF]?: SseStream };

function finishStreamOf(this: StreamResponse): void {
  this[STREAM_OF]?.finish();
}

/** One open event stream. Writes never throw; after close they are ignored. */
export class SseStream {
  closed = false;
  /** Headers sent: before that nothing may be written (the caller may still answer with a problem). */
  started = false;
  /** Made on the first `onClose`: most streams have none (the hub's `onClose` serves them all). */
  private closeHandlers: Array<() => void> | null = null;

  constructor(
    readonly key: number,
    readonly sessionId: number | null,
    private readonly res: Response,
    private readonly hub: SseHub,
  ) {}

  /** Bytes waiting in the process for the socket. */
  get buffered(): number {
    return this.res.writableLength;
  }

  send(ev: SseEvent): boolean {
    let chunk = '';
    if (ev.id !== undefined) chunk += `id: ${String(ev.id).replace(/[\r\n]/g, '')}\n`;
    if (ev.event) chunk += `event: ${ev.event.replace(/[\r\n]/g, '')}\n`;
    // JSON.stringify escapes newlines inside strings, so the payload is always a single data line.
    chunk += `data: ${JSON.stringify(ev.data)}\n\n`;
    const ok = this.write(chunk);
    if (ok) this.hub.counted(ev.event ?? 'message');
    return ok;
  }

  comment(text: string): boolean {
    return this.write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
  }

  retry(ms: number): boolean {
    return this.write(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
  }

  /**
   * Resolves true once the socket has taken what is queued (or the stream closed), false when that
   * takes longer than `timeoutMs` (the caller decides whether that client is too slow).
   */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.closed || this.res.writableLength === 0 || !this.res.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain);
        this.res.off('close', onDrain);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.res.on('drain', onDrain);
      this.res.on('close', onDrain);
    });
  }

  /** Ends the stream politely, optionally telling the client when to come back. */
  close(retryMs?: number): void {
    if (this.closed) return;
    if (!this.started) {
      // Not begun: leave the response to the opener, which sees `closed` and answers.
      this.finish();
      return;
    }
    if (retryMs !== undefined) this.retry(retryMs);
    this.finish();
    this.res.end();
  }

  /** Cuts a client that does not keep up: its queued bytes are freed at once. */
  drop(reason: string): void {
    if (this.closed) return;
    this.hub.dropped(reason);
    this.finish();
    this.res.destroy();
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else (this.closeHandlers ??= []).push(handler);
  }

  /** Called by the hub when the client goes away. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.forget(this);
    const handlers = this.closeHandlers ?? [];
    this.closeHandlers = null;
    for (const h of handlers) {
      try {
        h();
      } catch {
        // A close handler must not stop the others.
      }
    }
  }

  private write(chunk: string): boolean {
    if (!this.started || this.closed || this.res.writableEnded || this.res.destroyed) return false;
    this.res.write(chunk);
    if (this.res.writableLength > this.hub.maxBufferedBytes) {
      this.drop('buffer');
      return false;
    }
    return true;
  }
}

/**
 * Server-Sent Events for one instance: opens streams with the right headers, keeps them alive with
 * one shared ping timer, indexes them by key (user) and login, enforces per-key and buffer caps,
 * and closes them all with a reconnect hint on shutdown. What to send is the caller's business.
 */
export class SseHub {
  readonly name: string;
  readonly maxBufferedBytes: number;
  private readonly pingMs: number;
  private readonly maxStreamsPerKey: number;
  private readonly retryBaseMs: number;
  private readonly retryJitterMs: number;
  private readonly byKey = new Map<number, Set<SseStream>>();
  private readonly metrics: HubMetrics | null;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly onStreamClose: ((stream: SseStream) => void) | undefined;

  constructor(options: SseHubOptions) {
    this.name = options.name;
    this.pingMs = options.pingMs ?? 15_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 256 * 1024;
    this.maxStreamsPerKey = options.maxStreamsPerKey ?? 10;
    this.retryBaseMs = options.retryBaseMs ?? 2000;
    this.retryJitterMs = options.retryJitterMs ?? 3000;
    this.metrics = options.registry ? hubMetrics(options.registry) : null;
    this.onStreamClose = options.onClose;
    if (options.registry) hubsByRegistry.get(options.registry)!.add(this);
  }

  get size(): number {
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  retryMs(): number {
    return this.retryBaseMs + Math.floor(Math.random() * this.retryJitterMs);
  }

  /**
   * Checks the caps and registers a stream; nothing is written yet, so the caller can still answer
   * with a problem (e.g. 503) and `abandon` it. Throws RateLimited past the per-key cap.
   */
  register(key: number, sessionId: number | null, res: Response): SseStream {
    if (this.stopping) throw Unavailable('This instance is shutting down; reconnect');
    const set = this.byKey.get(key);
    if (set && set.size >= this.maxStreamsPerKey) throw RateLimited(this.retryBaseMs / 1000);
    const stream = new SseStream(key, sessionId, res, this);
    if (set) set.add(stream);
    else this.byKey.set(key, new Set([stream]));
    // One listener function for every stream (a closure each would be kept for the stream's life).
    (res as StreamResponse)[STREAM_OF] = stream;
    res.on('close', finishStreamOf);
    this.ensureTimer();
    return stream;
  }

  /** Sends the headers and the `retry:` line: from here on the answer is the stream. */
  begin(stream: SseStream, res: Response): void {
    const socket = res.req.socket;
    // A stream is idle for long stretches by design; the ping keeps intermediaries from closing it.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    // Headers that govern a rendered document mean nothing on an event stream, and Node keeps the
    // header block for the response's whole life: at 10 000 streams the CSP alone is megabytes.
    for (const name of DOCUMENT_ONLY_HEADERS) res.removeHeader(name);
    res.flushHeaders();
    // Nothing routes this request any more: let go of the router's per-request closures.
    (res.req as { next?: unknown }).next = undefined;
    stream.started = true;
    stream.retry(this.retryMs());
  }

  streamsOf(key: number): SseStream[] {
    return [...(this.byKey.get(key) ?? [])];
  }

  keys(): number[] {
    return [...this.byKey.keys()];
  }

  /** The logins that have a stream open here (for re-checking them against the deny-list). */
  sessionIds(): number[] {
    const ids = new Set<number>();
    for (const set of this.byKey.values()) for (const s of set) if (s.sessionId !== null) ids.add(s.sessionId);
    return [...ids];
  }

  /** Closes every stream opened with one of these logins (revocation). No retry hint: the token is dead. */
  closeSessions(sessionIds: number[], key?: number): number {
    const ids = new Set(sessionIds);
    let n = 0;
    const sets = key !== undefined ? [this.byKey.get(key) ?? new Set<SseStream>()] : [...this.byKey.values()];
    for (const set of sets) {
      for (const s of [...set]) {
        if (s.sessionId !== null && ids.has(s.sessionId)) {
          s.close();
          n++;
        }
      }
    }
    return n;
  }

  /** Shutdown: every client is told to come back after a jittered delay, then its stream ends. */
  stop(): void {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of [...this.byKey.values()]) for (const s of [...set]) s.close(this.retryMs());
  }

  // --- called by streams ---------------------------------------------------------------------

  /** Once per stream, from its `finish`. */
  forget(stream: SseStream): void {
    const set = this.byKey.get(stream.key);
    if (set) {
      set.delete(stream);
      if (set.size === 0) this.byKey.delete(stream.key);
    }
    if (this.byKey.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    try {
      this.onStreamClose?.(stream);
    } catch {
      // Like a stream's own close handlers: it must not stop the stream from closing.
    }
  }

  counted(event: string): void {
    this.metrics?.sent.inc({ hub: this.name, event });
  }

  dropped(reason: string): void {
    this.metrics?.drops.inc({ hub: this.name, reason });
  }

  private ensureTimer(): void {
    if (this.timer || this.stopping) return;
    this.timer = setInterval(() => {
      for (const set of [...this.byKey.values()]) for (const s of [...set]) s.comment('ping');
    }, this.pingMs);
    this.timer.unref();
  }
}
