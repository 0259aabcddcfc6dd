import http from 'node:http';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * A minimal EventSource for tests: Bearer header, Last-Event-ID, and every event kept in arrival
 * order (so a test can see a duplicate the way a client would). No automatic reconnect: the test
 * decides where to reconnect to (another instance).
 */
export class SseClient {
  readonly events: SseMessage[] = [];
  lastEventId: string | null = null;
  private req: http.ClientRequest | null = null;
  private closedHandlers: Array<() => void> = [];
  status = 0;

  constructor(private readonly token: string) {}

  /** Resolves with the HTTP status once the answer's headers arrive. */
  connect(base: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' };
      if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
      const req = http.get(`${base}/api/v1/notifications/stream`, { headers, agent: false }, (res) => {
        this.status = res.statusCode ?? 0;
        resolve(this.status);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            this.parse(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
        });
        const done = () => {
          for (const h of this.closedHandlers.splice(0)) h();
        };
        res.on('close', done);
        res.on('error', done);
      });
      req.on('error', (err) => {
        if (!this.status) reject(err);
        for (const h of this.closedHandlers.splice(0)) h();
      });
      this.req = req;
    });
  }

  /**
   * From now on, whenever the stream ends, connect again to `base` (with Last-Event-ID), as a client
   * does, retrying every 200 ms; `stop()` ends that. `reconnects` counts the ends.
   */
  keepResumed(base: string): { reconnects: () => number; stop: () => void } {
    let reconnects = 0;
    let stopped = false;
    const resume = () => {
      if (stopped) return;
      reconnects++;
      void (async () => {
        for (let i = 0; i < 100 && !stopped; i++) {
          try {
            if ((await this.connect(base)) === 200) {
              this.onClose(resume);
              return;
            }
          } catch {
            // not reachable yet
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
    };
    this.onClose(resume);
    return { reconnects: () => reconnects, stop: () => (stopped = true) };
  }

  onClose(h: () => void) {
    this.closedHandlers.push(h);
  }

  close() {
    this.req?.destroy();
  }

  notifications(): Array<{ id: number; type: string }> {
    return this.events.filter((e) => e.event === 'notification').map((e) => JSON.parse(e.data));
  }

  private parse(block: string) {
    const msg: SseMessage = { event: 'message', data: '' };
    let any = false;
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') msg.id = value;
      else if (field === 'event') msg.event = value;
      else if (field === 'data') msg.data += value;
      else continue;
      any = true;
    }
    if (!any || (msg.id === undefined && msg.event === 'message' && !msg.data)) return;
    if (msg.id !== undefined) this.lastEventId = msg.id;
    this.events.push(msg);
  }
}
