import { EventSource } from 'eventsource';
import { io, type Socket } from 'socket.io-client';

/**
 * The realtime part of the workload: chat pairs over Socket.io (each side on a different instance,
 * so every message crosses the Redis adapter) and notification streams over SSE (eventsource 4),
 * open for the whole run. Each keeps what it received, for the exactly-once checks afterwards.
 */

export interface ChatUser {
  token: string;
  userId: number;
}

export interface ChatPairResult {
  roomId: number;
  /** clientIds acknowledged, per sender. */
  acked: Map<number, Set<string>>;
  /** message:new events received, per receiver: message ids in arrival order. */
  received: Map<number, number[]>;
  ackMs: number[];
  failures: string[];
}

function connect(url: string, token: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

export class ChatPair {
  readonly result: ChatPairResult;
  private readonly sockets: Socket[] = [];

  constructor(
    private readonly a: ChatUser,
    private readonly b: ChatUser,
    roomId: number,
  ) {
    this.result = {
      roomId,
      acked: new Map([
        [a.userId, new Set()],
        [b.userId, new Set()],
      ]),
      received: new Map([
        [a.userId, []],
        [b.userId, []],
      ]),
      ackMs: [],
      failures: [],
    };
  }

  async open(urlA: string, urlB: string): Promise<void> {
    for (const [user, url] of [
      [this.a, urlA],
      [this.b, urlB],
    ] as const) {
      const socket = await connect(url, user.token);
      socket.on('message:new', (m: { id: number; roomId: number }) => {
        if (m.roomId === this.result.roomId) this.result.received.get(user.userId)!.push(m.id);
      });
      const ack = await socket.timeout(10_000).emitWithAck('room:join', { roomId: this.result.roomId });
      if (!ack.ok) throw new Error(`room:join refused: ${JSON.stringify(ack)}`);
      this.sockets.push(socket);
    }
  }

  /** Both sides send `count` messages (or until `until()` says stop), `everyMs` apart. */
  async talk(count: number, everyMs: number, until: () => boolean, tag: string): Promise<void> {
    await Promise.all(
      [this.a, this.b].map(async (user, side) => {
        const socket = this.sockets[side];
        for (let i = 0; i < count && !until(); i++) {
          const clientId = `${tag}-${user.userId}-${i}`;
          const started = performance.now();
          try {
            const ack = await socket
              .timeout(10_000)
              .emitWithAck('message:send', { roomId: this.result.roomId, body: `load message ${i}`, clientId });
            this.result.ackMs.push(performance.now() - started);
            if (ack.ok) this.result.acked.get(user.userId)!.add(clientId);
            else this.result.failures.push(`${clientId}: ${ack.code}`);
          } catch (err) {
            this.result.failures.push(`${clientId}: ${(err as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, everyMs));
        }
      }),
    );
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

export class NotificationStream {
  /** Notification ids in arrival order (duplicates kept, to be counted). */
  readonly ids: number[] = [];
  opened = 0;
  errors = 0;
  private es: EventSource | null = null;

  constructor(
    readonly userId: number,
    private readonly token: string,
  ) {}

  open(url: string): Promise<void> {
    // Browsers' EventSource cannot set headers: the query token is what real web clients use.
    const es = new EventSource(`${url}/api/v1/notifications/stream?access_token=${encodeURIComponent(this.token)}`);
    this.es = es;
    es.addEventListener('notification', (ev) => this.ids.push(JSON.parse(ev.data).id));
    return new Promise((resolve, reject) => {
      es.onopen = () => {
        this.opened++;
        resolve();
      };
      es.onerror = (ev) => {
        this.errors++;
        if (!this.opened)
          reject(new Error(`stream failed to open: ${(ev as { message?: string }).message ?? 'error'}`));
      };
    });
  }

  close(): void {
    this.es?.close();
  }
}
