/**
 * A Socket.IO v4 client cut down to what the chat benchmark's load generators do, over a bare
 * WebSocket (`ws`): connect with an auth token, emit events with an ack, listen to server events,
 * answer the server's pings. Nothing else of the protocol (no namespaces, binary, reconnection,
 * polling).
 *
 * Why not socket.io-client: the generators share the benchmark's two cores with the servers they
 * measure, and there they took about 0.3 of a core at 1000 msg/s, time the instances wait for. This
 * client does the same work on the wire for a fraction of that: no timer per emit (acks past their
 * deadline are swept once a second), no emitter chain per packet, and WebSocket frames masked with
 * a constant key (RFC 6455 asks clients for an unpredictable one to protect proxies that mistake
 * frames for HTTP; on loopback there is no such proxy).
 *
 * Engine.IO v4 / Socket.IO v5 packets used, as text frames: `0{…}` open, `2` ping → `3` pong,
 * `40{auth}` connect → `40{…}` ok or `44{…}` refused, `42[event, data]` event, `42<id>[…]` event
 * with an ack, `43<id>[reply]` its ack.
 */
import WebSocket from 'ws';

const ZERO_MASK = Buffer.alloc(4);
const SWEEP_MS = 1000;

type Ack = (reply: unknown) => void;

export class WireSocket {
  private nextAckId = 0;
  private readonly acks = new Map<number, { answer: Ack; deadline: number }>();
  private readonly listeners = new Map<string, (data: unknown) => void>();
  private readonly sweeper: NodeJS.Timeout;
  connected = false;

  private constructor(private readonly ws: WebSocket) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    ws.on('close', () => this.closed());
  }

  /** Opens the WebSocket and connects to the default namespace with `auth`; rejects with the server's reason. */
  static connect(url: string, auth: Record<string, unknown>, timeoutMs: number): Promise<WireSocket> {
    const target = `${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(target, { perMessageDeflate: false, generateMask: (mask) => ZERO_MASK.copy(mask) });
    const socket = new WireSocket(ws);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.close();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error('timeout')), timeoutMs);
      ws.on('error', fail);
      ws.on('message', (data) => {
        const text = data.toString();
        if (socket.connected) return socket.onPacket(text);
        if (text.startsWith('0')) ws.send(`40${JSON.stringify(auth)}`);
        else if (text.startsWith('40')) {
          clearTimeout(timer);
          ws.off('error', fail);
          ws.on('error', () => undefined); // the close that follows ends it
          socket.connected = true;
          resolve(socket);
        } else if (text.startsWith('44')) {
          fail(new Error((JSON.parse(text.slice(2)) as { message?: string }).message ?? 'refused'));
        } else if (text === '2') ws.send('3');
      });
    });
  }

  /** Emits `event` and resolves with the server's ack, or rejects once `timeoutMs` passed without one. */
  emitWithAck(event: string, data: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.connected) return Promise.reject(new Error('disconnected'));
    const id = this.nextAckId++;
    this.ws.send(`42${id}${JSON.stringify([event, data])}`);
    return new Promise((resolve, reject) => {
      this.acks.set(id, {
        deadline: performance.now() + timeoutMs,
        answer: (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)),
      });
    });
  }

  /** One listener per event (all the benchmark needs). */
  on(event: string, listener: (data: unknown) => void): void {
    this.listeners.set(event, listener);
  }

  close(): void {
    this.ws.close();
    this.closed();
  }

  private onPacket(text: string): void {
    if (text === '2') return void this.ws.send('3');
    if (text.startsWith('42')) {
      const [event, data] = JSON.parse(text.slice(text.indexOf('['))) as [string, unknown];
      this.listeners.get(event)?.(data);
    } else if (text.startsWith('43')) {
      const open = text.indexOf('[');
      const id = Number(text.slice(2, open));
      const entry = this.acks.get(id);
      this.acks.delete(id);
      entry?.answer((JSON.parse(text.slice(open)) as unknown[])[0]);
    } else if (text.startsWith('41') || text.startsWith('1')) this.close();
  }

  private sweep(): void {
    const now = performance.now();
    for (const [id, entry] of this.acks) {
      if (entry.deadline > now) continue;
      this.acks.delete(id);
      entry.answer(new Error('ack timeout'));
    }
  }

  private closed(): void {
    if (!this.connected && !this.acks.size) return clearInterval(this.sweeper);
    this.connected = false;
    clearInterval(this.sweeper);
    for (const entry of this.acks.values()) entry.answer(new Error('disconnected'));
    this.acks.clear();
  }
}
