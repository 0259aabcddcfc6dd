/**
 * Sign-in providers from the environment. A provider exists when `OAUTH_<NAME>_CLIENT_ID` is set:
 * `kakao` and `google` are OpenID Connect with known issuers, `naver` is OAuth 2.0 plus its profile
 * API, and any other NAME is an OpenID Connect provider whose `OAUTH_<NAME>_ISSUER` must be given.
 * NAME is letters and digits only, so the variable names parse one way.
 */

export interface OidcProviderConfig {
  kind: 'oidc';
  name: string;
  displayName: string;
  clientId: string;
  clientSecret: string | null;
  issuer: string;
  scopes: string;
}

export interface NaverProviderConfig {
  kind: 'naver';
  name: string;
  displayName: string;
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  profileUrl: string;
}

export type ProviderConfig = OidcProviderConfig | NaverProviderConfig;

export interface OAuthConfig {
  providers: ProviderConfig[];
  /** Exact URIs the flow may return to (web pages and app schemes); nothing else is accepted. */
  redirectUris: string[];
  /** `start` and `exchange` requests per client IP and minute (each route counts apart). */
  perIpPerMin: number;
}

const KNOWN_OIDC: Record<string, { issuer: string; displayName: string; scopes: string }> = {
  kakao: { issuer: 'https://kauth.kakao.com', displayName: 'Kakao', scopes: 'openid profile_nickname account_email' },
  google: { issuer: 'https://accounts.google.com', displayName: 'Google', scopes: 'openid email profile' },
};

const NAVER = {
  displayName: 'Naver',
  authorizationUrl: 'https://nid.naver.com/oauth2.0/authorize',
  tokenUrl: 'https://nid.naver.com/oauth2.0/token',
  profileUrl: 'https://openapi.naver.com/v1/nid/me',
};

export class OAuthConfigError extends Error {}

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OAuthConfigError(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OAuthConfigError(`${name} must be http(s)`);
  return value.replace(/\/+$/, '');
}

function redirectUri(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OAuthConfigError(`OAUTH_REDIRECT_URIS has an entry that is not an absolute URI: ${value}`);
  }
  if (url.hash || value.includes('#')) throw new OAuthConfigError('OAUTH_REDIRECT_URIS entries must have no fragment');
  if (/^(javascript|data|file|vbscript):$/i.test(url.protocol)) {
    throw new OAuthConfigError(`OAUTH_REDIRECT_URIS must not use the ${url.protocol} scheme`);
  }
  return value;
}

/** Reads the providers from an environment-like record (empty values already removed). */
export function loadOAuthConfig(env: Record<string, unknown>): OAuthConfig {
  const get = (key: string) => (typeof env[key] === 'string' ? (env[key] as string).trim() || null : null);
  const names = Object.keys(env)
    .map((k) => /^OAUTH_([A-Z0-9]+)_CLIENT_ID$/.exec(k)?.[1])
    .filter((n): n is string => !!n && !!get(`OAUTH_${n}_CLIENT_ID`))
    .sort();
  const providers: ProviderConfig[] = names.map((NAME) => {
    const name = NAME.toLowerCase();
    const v = (suffix: string) => get(`OAUTH_${NAME}_${suffix}`);
    const clientId = v('CLIENT_ID')!;
    if (name === 'naver') {
      const clientSecret = v('CLIENT_SECRET');
      if (!clientSecret)
        throw new OAuthConfigError('OAUTH_NAVER_CLIENT_SECRET is required when OAUTH_NAVER_CLIENT_ID is set');
      return {
        kind: 'naver',
        name,
        displayName: v('DISPLAY_NAME') ?? NAVER.displayName,
        clientId,
        clientSecret,
        authorizationUrl: httpUrl('OAUTH_NAVER_AUTHORIZATION_URL', v('AUTHORIZATION_URL') ?? NAVER.authorizationUrl),
        tokenUrl: httpUrl('OAUTH_NAVER_TOKEN_URL', v('TOKEN_URL') ?? NAVER.tokenUrl),
        profileUrl: httpUrl('OAUTH_NAVER_PROFILE_URL', v('PROFILE_URL') ?? NAVER.profileUrl),
      };
    }
    const known = KNOWN_OIDC[name];
    const issuer = v('ISSUER') ?? known?.issuer;
    if (!issuer) throw new OAuthConfigError(`OAUTH_${NAME}_ISSUER is required for the OpenID Connect provider ${name}`);
    return {
      kind: 'oidc',
      name,
      displayName: v('DISPLAY_NAME') ?? known?.displayName ?? name,
      clientId,
      clientSecret: v('CLIENT_SECRET'),
      issuer: httpUrl(`OAUTH_${NAME}_ISSUER`, issuer),
      scopes: v('SCOPES') ?? known?.scopes ?? 'openid email profile',
    };
  });
  const redirectUris = (get('OAUTH_REDIRECT_URIS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(redirectUri);
  if (providers.length && !redirectUris.length) {
    throw new OAuthConfigError('OAUTH_REDIRECT_URIS is required when a sign-in provider is configured');
  }
  const rate = Number(get('RATE_LIMIT_OAUTH_PER_MIN') ?? 30);
  if (!Number.isInteger(rate) || rate < 1)
    throw new OAuthConfigError('RATE_LIMIT_OAUTH_PER_MIN must be a positive integer');
  return { providers, redirectUris, perIpPerMin: rate };
}
