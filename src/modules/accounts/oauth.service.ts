import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import * as oidc from 'openid-client';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import { AppError, NotFound, Unauthenticated, ValidationFailed } from '../../errors';
import type { AuthService } from '../auth/auth.service';
import type { UsersService } from '../users/users.service';
import { toSelfUser } from '../users/users.presenter';
import { IdentitiesRepository } from './identities.repository';
import { OAuthRecords } from './oauth.records';
import { ProviderError, type ProviderProfile, type SignInProvider } from './oauth.providers';

/**
 * Codes a client reads in `redirectUri#error=`:
 * - `access_denied`: the person declined at the provider;
 * - `provider_error`: the provider refused, or its answer failed validation (ID token issuer, audience,
 *   signature, expiry, nonce; a replayed or foreign code; a state meant for another provider);
 * - `provider_unavailable`: the provider could not be reached or answered 5xx;
 * - `expired`: more than 10 minutes passed between start and callback;
 * - `identity_conflict`: the account with this verified e-mail already has another identity there;
 * - `unavailable`: Pawmate could not finish (database or Redis down); retry later.
 */
export type FlowError = ProviderError['failure'] | 'expired' | 'identity_conflict' | 'unavailable';

class FlowFailure extends Error {
  constructor(readonly code: FlowError) {
    super(code);
  }
}

const FALLBACK_NICKNAME = 'Pawmate friend';

/** RFC 7636 S256: base64url(SHA-256(verifier)) equals the challenge, compared in constant time. */
function challengeMatches(challenge: string, verifier: string): boolean {
  const expected = Buffer.from(challenge);
  const actual = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export interface OAuthSettings {
  publicUrl: string;
  apiPrefix: string;
  redirectUris: string[];
}

/** Sign-in with providers: start → provider → callback → one-time code → exchange for tokens. */
export class OAuthService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly providers: Map<string, SignInProvider>,
    private readonly records: OAuthRecords,
    private readonly identities: IdentitiesRepository,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly settings: OAuthSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  list() {
    return { items: [...this.providers.values()].map((p) => ({ name: p.name, displayName: p.displayName })) };
  }

  /** An unconfigured provider is 404 on every route. */
  provider(name: string): SignInProvider {
    const p = this.providers.get(name);
    if (!p) throw NotFound('Provider');
    return p;
  }

  callbackUrl(provider: string) {
    return `${this.settings.publicUrl}${this.settings.apiPrefix}/auth/oauth/${provider}/callback`;
  }

  /** The provider URL to send the browser to; a provider that cannot be reached sends it back with an error. */
  async start(providerName: string, redirectUri: string, clientChallenge: string | undefined): Promise<string> {
    const provider = this.provider(providerName);
    if (!this.settings.redirectUris.includes(redirectUri)) {
      throw ValidationFailed('redirectUri is not on the allow-list', [
        { path: 'query.redirectUri', message: 'is not an allowed redirect URI' },
      ]);
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = provider.usesNonce ? oidc.randomNonce() : undefined;
    const state = await this.records.openFlow({
      provider: provider.name,
      redirectUri,
      codeVerifier,
      clientChallenge,
      nonce,
    });
    try {
      const url = await provider.authorizationUrl({ state, codeVerifier, nonce }, this.callbackUrl(provider.name));
      return url.href;
    } catch (err) {
      await this.records.takeFlow(state).catch(() => null);
      return this.fail(redirectUri, err);
    }
  }

  /**
   * The provider's return. Without a known `state` there is no redirect to name: 400 problem+json.
   * After that every failure is a redirect with `#error=`, and only success makes a one-time code.
   */
  async callback(providerName: string, search: URLSearchParams): Promise<string> {
    const provider = this.provider(providerName);
    const state = search.get('state');
    const flow = state && state.length <= 200 ? await this.records.takeFlow(state) : null;
    if (!state || !flow) {
      throw ValidationFailed('Unknown or expired sign-in (state)', [
        { path: 'query.state', message: 'is unknown, expired or already used' },
      ]);
    }
    try {
      if (flow.provider !== provider.name) throw new ProviderError('provider_error', 'state of another provider');
      if (this.records.isExpired(flow)) throw new FlowFailure('expired');
      const callback = new URL(this.callbackUrl(provider.name));
      callback.search = search.toString();
      const profile = await provider.finish(callback, { state, codeVerifier: flow.codeVerifier, nonce: flow.nonce });
      const { userId, isNewUser } = await this.resolveAccount(provider.name, profile);
      const code = await this.records.issueCode(userId, isNewUser, flow.clientChallenge);
      return `${flow.redirectUri}#code=${encodeURIComponent(code)}`;
    } catch (err) {
      return this.fail(flow.redirectUri, err, provider.name);
    }
  }

  /**
   * Spends a one-time code (once, within 60 s) for a new Pawmate login. The code travels in a redirect
   * any app claiming the scheme (or a login-CSRF page) can read; only the client that started the flow
   * holds the verifier of the challenge it sent, so a stolen code is worthless. A wrong verifier still
   * spends the code: no guessing.
   */
  async exchange(code: string, codeVerifier: string | undefined, userAgent: string | null) {
    const record = await this.records.takeCode(code);
    const refuse = () =>
      ValidationFailed('The sign-in code is invalid, expired or already used', [
        { path: 'body.code', message: 'invalid, expired or already used' },
      ]);
    if (!record || this.records.isExpired(record)) throw refuse();
    // The contract's first clients send no challenge; a flow started with one is bound to its verifier.
    if (record.clientChallenge && !codeVerifier) {
      throw ValidationFailed('codeVerifier is required for a flow started with a codeChallenge', [
        { path: 'body.codeVerifier', message: 'is required for a flow started with a codeChallenge' },
      ]);
    }
    if (record.clientChallenge && !challengeMatches(record.clientChallenge, codeVerifier ?? '')) {
      throw Unauthenticated('codeVerifier does not match the codeChallenge sent to start');
    }
    return inTransaction(this.sequelize, async (t) => {
      const user = await this.users.findById(record.userId, t, true);
      if (!user) throw refuse(); // deleted in the meantime
      const pair = await this.auth.openLoginFor(user.id, userAgent, t);
      return { user: toSelfUser(user), ...pair, isNewUser: record.isNewUser };
    });
  }

  // --- linking -------------------------------------------------------------------------------

  /**
   * The account for a provider identity: the one it is linked to; else the account whose verified
   * e-mail equals a verified e-mail the provider asserts (linked now); else a new account. Two
   * callbacks racing for one new identity meet on UNIQUE(provider, subject): the loser runs again
   * and finds the winner's link.
   */
  private async resolveAccount(provider: string, profile: ProviderProfile) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction(this.sequelize, (t) => this.resolveInTx(provider, profile, t));
      } catch (err) {
        const raced = err instanceof UniqueConstraintError || (err instanceof AppError && err.code === 'CONFLICT');
        if (!raced || attempt >= 3) throw err;
      }
    }
  }

  private async resolveInTx(provider: string, profile: ProviderProfile, t: Transaction) {
    const now = this.clock.now();
    const claims = { provider, subject: profile.subject, email: profile.email, emailVerified: profile.emailVerified };
    const linked = await this.identities.lockBySubject(provider, profile.subject, t);
    if (linked && (await this.users.findById(linked.userId, t))) {
      await this.identities.refreshEmail(linked.id, profile.email, profile.emailVerified, now, t);
      return { userId: linked.userId, isNewUser: false };
    }
    if (linked) await this.identities.remove(linked.userId, provider, t); // left by a deleted account

    if (profile.email && profile.emailVerified) {
      const owner = await this.users.findByEmail(profile.email, t, true);
      if (owner?.emailVerifiedAt) {
        if (await this.identities.hasProvider(owner.id, provider, t)) throw new FlowFailure('identity_conflict');
        await this.identities.insert(owner.id, claims, now, t);
        this.logger.info({ userId: owner.id, provider }, 'provider identity linked by verified e-mail');
        return { userId: owner.id, isNewUser: false };
      }
    }

    // A new account. It takes the address only when the provider vouches for it and nobody has it
    // (an unverified account holding it keeps it; this one starts without an e-mail).
    const email =
      profile.email && profile.emailVerified && !(await this.users.emailTaken(profile.email, t)) ? profile.email : null;
    const user = await this.users.createAccount(
      {
        email,
        passwordHash: null,
        nickname: await this.freeNickname(profile.nickname, t),
        emailVerifiedAt: email ? now : null,
      },
      t,
    );
    await this.identities.insert(user.id, claims, now, t);
    return { userId: user.id, isNewUser: true };
  }

  /** The profile's name (2–30 characters, no control characters), with a number when it is taken. */
  private async freeNickname(raw: string | null, t: Transaction): Promise<string> {
    let base = (raw ?? '')
      .replace(/[\u0000-\u001F\u007F]/g, '')
      .trim()
      .slice(0, 30);
    if (base.length < 2) base = FALLBACK_NICKNAME;
    if (!(await this.users.nicknameTaken(base, t))) return base;
    for (let i = 0; i < 5; i++) {
      const candidate = `${base.slice(0, 25)} ${randomInt(1000, 10000)}`;
      if (!(await this.users.nicknameTaken(candidate, t))) return candidate;
    }
    return `${base.slice(0, 23)} ${randomInt(1_000_000, 10_000_000)}`;
  }

  private fail(redirectUri: string, err: unknown, provider?: string): string {
    const code: FlowError =
      err instanceof ProviderError || err instanceof FlowFailure
        ? err instanceof ProviderError
          ? err.failure
          : err.code
        : 'unavailable';
    const log = code === 'unavailable' ? this.logger.error.bind(this.logger) : this.logger.info.bind(this.logger);
    // Our own messages only: a driver's message may quote values (an e-mail in a duplicate key).
    const reason = code === 'unavailable' ? (err as Error)?.name : (err as Error).message;
    log({ provider, error: code, reason }, 'provider sign-in failed');
    return `${redirectUri}#error=${code}`;
  }
}
