import type { Redis } from '../../infra/redis';
import type { Clock } from '../../infra/clock';
import { opaqueToken, sha256 } from '../auth/auth.tokens';

/** A sign-in between `start` and the provider's callback. */
export interface FlowRecord {
  provider: string;
  redirectUri: string;
  codeVerifier: string;
  /** The client's own PKCE challenge (S256): binds the one-time code to the client that started. */
  clientChallenge?: string;
  nonce?: string;
  /** Epoch ms by the app's clock. */
  expiresAt: number;
}

/** The result of a finished sign-in, waiting for the client to exchange its one-time code. */
export interface CodeRecord {
  userId: number;
  isNewUser: boolean;
  clientChallenge?: string;
  expiresAt: number;
}

export const FLOW_TTL_MS = 10 * 60 * 1000;
export const CODE_TTL_MS = 60 * 1000;
/**
 * Redis keeps a record this much longer than it is valid: an expired flow still names its redirect
 * (so the client hears `#error=expired`), and expiry follows the app's clock, which tests move.
 */
const GRACE_MS = 5 * 60 * 1000;

/**
 * Short-lived server-side records in Redis, keyed by the SHA-256 of the secret the browser carries
 * (`state`, the one-time code), so a Redis dump reveals nothing usable. Both are taken with GETDEL:
 * each is used once, also when two requests race for it.
 */
export class OAuthRecords {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  async openFlow(record: Omit<FlowRecord, 'expiresAt'>): Promise<string> {
    const state = opaqueToken();
    const value: FlowRecord = { ...record, expiresAt: this.clock.now().getTime() + FLOW_TTL_MS };
    await this.redis.set(this.key('flow', state), JSON.stringify(value), 'PX', FLOW_TTL_MS + GRACE_MS);
    return state;
  }

  takeFlow(state: string): Promise<FlowRecord | null> {
    return this.take<FlowRecord>(this.key('flow', state));
  }

  async issueCode(userId: number, isNewUser: boolean, clientChallenge: string | undefined): Promise<string> {
    const code = opaqueToken();
    const value: CodeRecord = {
      userId,
      isNewUser,
      clientChallenge,
      expiresAt: this.clock.now().getTime() + CODE_TTL_MS,
    };
    await this.redis.set(this.key('code', code), JSON.stringify(value), 'PX', CODE_TTL_MS + GRACE_MS);
    return code;
  }

  takeCode(code: string): Promise<CodeRecord | null> {
    return this.take<CodeRecord>(this.key('code', code));
  }

  isExpired(record: { expiresAt: number }): boolean {
    return this.clock.now().getTime() >= record.expiresAt;
  }

  private async take<T>(key: string): Promise<T | null> {
    const raw = await this.redis.getdel(key);
    return raw ? (JSON.parse(raw) as T) : null;
  }

  private key(kind: 'flow' | 'code', secret: string) {
    return `${this.prefix}oauth:${kind}:${sha256(secret)}`;
  }
}
