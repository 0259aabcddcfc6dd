import * as oidc from 'openid-client';
import type { NaverProviderConfig, OidcProviderConfig, ProviderConfig } from '../../oauth-config';

/** What a provider told us about the person, as far as sign-in and linking need it. */
export interface ProviderProfile {
  subject: string;
  /** Lower-cased; null when absent or not an address. */
  email: string | null;
  /** True only when the provider asserts the address belongs to this person. */
  emailVerified: boolean;
  nickname: string | null;
}

/** The secrets of one flow, kept server-side between start and callback. */
export interface FlowChecks {
  state: string;
  codeVerifier: string;
  /** OpenID Connect only. */
  nonce?: string;
}

/** Why a provider step failed, as the client will read it in `#error=`. */
export type ProviderFailure = 'access_denied' | 'provider_error' | 'provider_unavailable';

export class ProviderError extends Error {
  constructor(
    readonly failure: ProviderFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface SignInProvider {
  readonly name: string;
  readonly displayName: string;
  readonly usesNonce: boolean;
  /** The provider's authorization URL for this flow (PKCE S256, state, nonce). */
  authorizationUrl(checks: FlowChecks, callbackUrl: string): Promise<URL>;
  /** Exchanges the code in `callback` and returns the validated profile. */
  finish(callback: URL, checks: FlowChecks): Promise<ProviderProfile>;
}

const TIMEOUT_SEC = 10;

/** Plain http is allowed only for providers on this machine (the test stand-ins), never elsewhere. */
const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

function normalEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  return email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
}

function firstText(...values: unknown[]): string | null {
  for (const v of values) if (typeof v === 'string' && v.trim()) return v.trim();
  return null;
}

/** Maps what openid-client throws to the three outcomes a client can act on. */
export function classify(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { name?: string; code?: string; error?: string; status?: number; cause?: unknown };
  if (err instanceof oidc.AuthorizationResponseError) {
    return new ProviderError(e.error === 'access_denied' ? 'access_denied' : 'provider_error', `provider: ${e.error}`);
  }
  if (err instanceof oidc.ResponseBodyError) {
    const down = (e.status ?? 0) >= 500;
    return new ProviderError(down ? 'provider_unavailable' : 'provider_error', `token endpoint: ${e.error}`);
  }
  if (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT' || e.name === 'TimeoutError') {
    return new ProviderError('provider_unavailable', 'provider timed out');
  }
  if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && ((e.cause as Response | undefined)?.status ?? 0) >= 500) {
    return new ProviderError('provider_unavailable', `provider answered ${(e.cause as Response).status}`);
  }
  // fetch() rejects with a TypeError whose cause is the socket error (refused, reset, DNS). Matched by
  // name, also one level down: where the TypeError comes from another realm than openid-client's (as
  // under Jest), openid-client wraps it as "something went wrong".
  type Failed = { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const network = [err as Failed, e.cause as Failed].find(
    (x) => x?.name === 'TypeError' && (x.cause?.code || x.message === 'fetch failed'),
  );
  if (network) {
    return new ProviderError(
      'provider_unavailable',
      `provider unreachable: ${network.cause?.code ?? network.cause?.message}`,
    );
  }
  return new ProviderError('provider_error', `provider answer refused: ${e.code ?? ''} ${(err as Error)?.message}`);
}

/** Discovery once, retried after a failure (a provider that was down at start-up comes back). */
function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= make().catch((err) => {
      pending = null;
      throw err;
    });
    return pending;
  };
}

async function authorizationParams(checks: FlowChecks, callbackUrl: string) {
  return {
    redirect_uri: callbackUrl,
    state: checks.state,
    code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
    code_challenge_method: 'S256',
  };
}

/**
 * Kakao, Google and any OpenID Connect issuer: discovery, then the ID token is validated by
 * openid-client — issuer, audience, expiry, nonce, and (non-repudiation checks on) its signature
 * against the provider's JWKS. Claims missing from the ID token come from the userinfo endpoint,
 * whose `sub` must match.
 */
class OidcSignIn implements SignInProvider {
  readonly usesNonce = true;
  readonly name: string;
  readonly displayName: string;
  private readonly configuration: () => Promise<oidc.Configuration>;

  constructor(private readonly cfg: OidcProviderConfig) {
    this.name = cfg.name;
    this.displayName = cfg.displayName;
    const execute = [oidc.enableNonRepudiationChecks];
    if (isLoopback(cfg.issuer)) execute.push(oidc.allowInsecureRequests);
    this.configuration = lazily(() =>
      oidc.discovery(
        new URL(cfg.issuer),
        cfg.clientId,
        cfg.clientSecret ?? undefined,
        cfg.clientSecret ? undefined : oidc.None(),
        { execute, timeout: TIMEOUT_SEC },
      ),
    );
  }

  async authorizationUrl(checks: FlowChecks, callbackUrl: string): Promise<URL> {
    const config = await this.configuration().catch((err) => Promise.reject(classify(err)));
    return oidc.buildAuthorizationUrl(config, {
      ...(await authorizationParams(checks, callbackUrl)),
      scope: this.cfg.scopes,
      nonce: checks.nonce!,
    });
  }

  async finish(callback: URL, checks: FlowChecks): Promise<ProviderProfile> {
    try {
      const config = await this.configuration();
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      let claims: Record<string, unknown> = { ...tokens.claims()! };
      if (claims.email_verified === undefined && config.serverMetadata().userinfo_endpoint) {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
        // The verified flag belongs to userinfo's address: paired with a different ID-token address it
        // would vouch for an address the provider never checked (and linking trusts it).
        const sameAddress = claims.email === undefined || normalEmail(claims.email) === normalEmail(info.email);
        claims = {
          ...info,
          ...claims,
          email: claims.email ?? info.email,
          email_verified: sameAddress ? info.email_verified : false,
        };
      }
      const email = normalEmail(claims.email);
      return {
        subject: String(claims.sub),
        email,
        emailVerified: email !== null && claims.email_verified === true,
        nickname: firstText(claims.nickname, claims.name, claims.preferred_username, claims.given_name),
      };
    } catch (err) {
      throw classify(err);
    }
  }
}

interface NaverProfileAnswer {
  resultcode?: string;
  message?: string;
  response?: { id?: unknown; email?: unknown; nickname?: unknown; name?: unknown };
}

/**
 * Naver: OAuth 2.0 (no ID token) and its profile API. Naver does not say whether an address was
 * verified; a `@naver.com` address is the Naver account's own mailbox and counts as verified, any
 * other address does not (so it never links to an existing account).
 */
class NaverSignIn implements SignInProvider {
  readonly usesNonce = false;
  readonly name: string;
  readonly displayName: string;
  private readonly config: oidc.Configuration;

  constructor(private readonly cfg: NaverProviderConfig) {
    this.name = cfg.name;
    this.displayName = cfg.displayName;
    this.config = new oidc.Configuration(
      {
        issuer: new URL(cfg.authorizationUrl).origin,
        authorization_endpoint: cfg.authorizationUrl,
        token_endpoint: cfg.tokenUrl,
      },
      cfg.clientId,
      cfg.clientSecret,
      oidc.ClientSecretPost(cfg.clientSecret),
    );
    this.config.timeout = TIMEOUT_SEC;
    if ([cfg.authorizationUrl, cfg.tokenUrl, cfg.profileUrl].every(isLoopback)) oidc.allowInsecureRequests(this.config);
  }

  async authorizationUrl(checks: FlowChecks, callbackUrl: string): Promise<URL> {
    return oidc.buildAuthorizationUrl(this.config, await authorizationParams(checks, callbackUrl));
  }

  async finish(callback: URL, checks: FlowChecks): Promise<ProviderProfile> {
    try {
      const tokens = await oidc.authorizationCodeGrant(
        this.config,
        callback,
        { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state },
        { state: checks.state }, // Naver's token endpoint wants the state again
      );
      const res = await oidc.fetchProtectedResource(
        this.config,
        tokens.access_token,
        new URL(this.cfg.profileUrl),
        'GET',
      );
      if (res.status >= 500) throw new ProviderError('provider_unavailable', `profile API answered ${res.status}`);
      const body = (await res.json().catch(() => ({}))) as NaverProfileAnswer;
      const id = body.response?.id;
      if (!res.ok || body.resultcode !== '00' || (typeof id !== 'string' && typeof id !== 'number') || id === '') {
        throw new ProviderError('provider_error', `profile API refused: ${res.status} ${body.resultcode ?? ''}`);
      }
      const email = normalEmail(body.response?.email);
      return {
        subject: String(id),
        email,
        emailVerified: email !== null && email.endsWith('@naver.com'),
        nickname: firstText(body.response?.nickname, body.response?.name),
      };
    } catch (err) {
      throw classify(err);
    }
  }
}

export function buildProviders(configs: ProviderConfig[]): Map<string, SignInProvider> {
  return new Map(configs.map((c) => [c.name, c.kind === 'naver' ? new NaverSignIn(c) : new OidcSignIn(c)]));
}
