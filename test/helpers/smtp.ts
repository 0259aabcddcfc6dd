import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  to: string[];
  raw: string;
  subject: string;
}

/** A real SMTP peer on a random port that keeps what it receives, for tests that follow mailed links. */
export class SmtpPeer {
  readonly mails: ReceivedMail[] = [];
  private server!: SMTPServer;
  port = 0;
  /** When set, the peer refuses every message (to test retries). */
  refuse = false;

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refuse) return callback(Object.assign(new Error('try later'), { responseCode: 451 }));
          const raw = Buffer.concat(chunks).toString('utf8');
          const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
          this.mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, subject });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}?ignoreTLS=true`;
  }

  /** Waits for a mail to `to` whose subject matches, and returns it. */
  async waitFor(to: string, subject: RegExp, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.mails.find((m) => m.to.includes(to) && subject.test(m.subject));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Pulls a `token=` link out of a mail body (quoted-printable soft breaks removed). */
export function linkToken(raw: string, path: string): string {
  const flat = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const m = new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`).exec(flat);
  if (!m) throw new Error(`no ${path} link in mail`);
  return m[1];
}
