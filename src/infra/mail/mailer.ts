import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../logger';

export interface MailMessage {
  /** Null for an account without an address (made from a provider that gave none): nothing is sent. */
  to: string | null;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

/** Sends over SMTP (`SMTP_URL`). Timeouts are short: the job queue retries, so waiting long buys nothing. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    const u = new URL(smtpUrl);
    this.transport = nodemailer.createTransport({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 25)),
      secure: u.protocol === 'smtps:',
      auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
      // Local catchers (and the test peer) speak plain SMTP; real relays upgrade with STARTTLS when offered.
      ignoreTLS: u.searchParams.get('ignoreTLS') === 'true',
      tls: { rejectUnauthorized: u.searchParams.get('rejectUnauthorized') !== 'false' },
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 10_000,
    });
  }
  async send(m: MailMessage): Promise<void> {
    if (!m.to) return;
    await this.transport.sendMail({ from: this.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
  }
  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * Without SMTP: the mail is logged (links included) instead of sent. In development it is also printed
 * as a readable block (`print`), so the verification or reset link can be clicked in the terminal
 * instead of dug out of a JSON line.
 */
export class LogMailer implements Mailer {
  constructor(
    private readonly logger: Logger,
    private readonly print?: (text: string) => void,
  ) {}
  async send(m: MailMessage): Promise<void> {
    this.logger.info({ mail: { to: m.to, subject: m.subject, text: m.text } }, 'mail (SMTP_URL unset, not sent)');
    this.print?.(readableMail(m));
  }
  async close(): Promise<void> {}
}

const RULE = '─'.repeat(72);

/** A mail as a terminal block: header, plain-text body, and its links listed on their own lines. */
export function readableMail(m: MailMessage): string {
  const links = [...new Set(m.text.match(/https?:\/\/\S+/g) ?? [])];
  return [
    '',
    `── mail, not sent (SMTP_URL is unset) ${RULE}`.slice(0, 72),
    `To:      ${m.to ?? '(no address)'}`,
    `Subject: ${m.subject}`,
    '',
    m.text.trimEnd(),
    ...(links.length ? ['', 'Links:', ...links.map((l) => `  ${l}`)] : []),
    RULE,
    '',
  ].join('\n');
}
