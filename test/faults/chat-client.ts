import { io as connectSocket, type Socket } from 'socket.io-client';
import { bearer } from '../helpers/context';

export interface Msg {
  id: number;
  roomId: number;
  senderId: number;
  clientId: string;
}

/** A chat client that fails over from one URL to the next and never loses or doubles a message. */
export class ChatClient {
  socket: Socket | null = null;
  /** Every message:new event as delivered, duplicates included. */
  readonly live: Msg[] = [];
  /** What the client shows: by id, from live events, acks and catch-up. */
  readonly seen = new Map<number, Msg>();
  lastId = 0;
  reconnects = 0;
  /** Messages whose first send was not acknowledged (the connection died under it). */
  readonly resent = new Set<string>();

  constructor(
    readonly token: string,
    readonly roomId: number,
    private readonly urls: string[],
  ) {}

  async connect(i = 0): Promise<void> {
    const url = this.urls[Math.min(i, this.urls.length - 1)];
    const socket = connectSocket(url, {
      transports: ['websocket'],
      auth: { token: this.token },
      reconnection: false,
      forceNew: true,
    });
    this.socket = socket;
    socket.on('message:new', (m: Msg) => {
      this.live.push(m);
      this.keep(m);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = await socket.timeout(5000).emitWithAck('room:join', { roomId: this.roomId });
    if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
    await this.catchUp(url);
    socket.once('disconnect', () => {
      this.reconnects++;
      // The next URL: the failed instance is not tried again (its address no longer answers).
      void this.retryConnect(i + 1);
    });
  }

  private async retryConnect(i: number) {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await this.connect(i);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  keep(m: Msg) {
    if (m.roomId !== this.roomId) return;
    this.seen.set(m.id, m);
    this.lastId = Math.max(this.lastId, m.id);
  }

  async catchUp(url: string) {
    let after = this.lastId;
    for (;;) {
      // `after` must be an id; a client that has seen nothing yet reads the newest page instead.
      const q = after > 0 ? `after=${after}&limit=100` : 'limit=100';
      const res = await fetch(`${url}/api/v1/chat/rooms/${this.roomId}/messages?${q}`, { headers: bearer(this.token) });
      if (res.status !== 200) throw new Error(`catch-up ${res.status}`);
      const page = (await res.json()) as { items: Msg[]; nextCursor: string | null };
      for (const m of page.items) this.keep(m);
      if (!page.nextCursor || after === 0) return;
      after = Number(page.nextCursor);
    }
  }

  /** A full reload of the room's history (what an app does when it opens the room). */
  async catchUpAll(url: string) {
    const saved = this.lastId;
    this.lastId = 0;
    await this.catchUp(url);
    this.lastId = Math.max(saved, this.lastId);
  }

  /** Sends until acknowledged, over whichever connection is up; the clientId makes resends safe. */
  async send(clientId: string): Promise<Msg> {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (attempt > 0) this.resent.add(clientId);
      const socket = this.socket;
      if (socket?.connected) {
        try {
          const ack = await socket
            .timeout(2000)
            .emitWithAck('message:send', { roomId: this.roomId, body: `m ${clientId}`, clientId });
          if (ack.ok) {
            this.keep(ack.message);
            return ack.message as Msg;
          }
          if (ack.code !== 'RATE_LIMITED' && ack.code !== 'UNAVAILABLE')
            throw new Error(`send refused: ${JSON.stringify(ack)}`);
        } catch (err) {
          if ((err as Error).message.startsWith('send refused')) throw err;
          // timed out: the connection died under it; resend after the failover
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`message ${clientId} never acknowledged`);
  }

  close() {
    this.socket?.removeAllListeners('disconnect');
    this.socket?.close();
  }
}
