import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { EmailTokenPurpose } from './auth.repository';

/** Outbox topic and mail-job kind of a mail that carries a single-use link (verification, reset). */
export const TOPIC_LINK_MAIL = 'auth.link-mail';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_LINK_MAIL]: LinkMailJob;
  }
}

/**
 * What the outbox row and the mail job hold for a link mail: ids and the token sealed, never the
 * link itself. The worker builds the mail just before sending, so a read of the database or of the
 * Redis job queue yields no working reset or verification link.
 */
export interface LinkMailJob {
  kind: 'link';
  /** `confirm_email` is an e-mail change link (accounts module; `tokenId` is its email_changes id). */
  purpose: EmailTokenPurpose | 'confirm_email';
  userId: number;
  tokenId: number;
  sealed: string;
}

export const isLinkMailJob = (data: unknown): data is LinkMailJob =>
  typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'link';

/**
 * AES-256-GCM with a key derived (HKDF) from the deployment secret: only a process that holds the
 * secret can turn a stored job back into a link. Format: base64url(iv | tag | ciphertext).
 */
export class LinkSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'pawmate', 'link-mail token seal v1', 32));
  }

  seal(token: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Throws when the value was not sealed with this secret (or was altered). */
  open(sealed: string): string {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
