import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy that can be cut (every connection dropped, new ones refused) and restored, like
 * test/helpers/faults.ts CuttableProxy, but which passes half-closes through: a client that sends
 * QUIT/UNSUBSCRIBE and then ends its side still reads the server's replies, as it would on a direct
 * connection. (Without that, every clean disconnect through the proxy loses its last replies and
 * looks like a fault of the client library.)
 */
export class HalfCloseProxy {
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
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      // pipe() ends the other side when one side ends: a half-close travels through.
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
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
