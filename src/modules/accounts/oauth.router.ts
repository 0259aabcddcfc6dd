import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import type { OAuthService } from './oauth.service';
import * as s from './accounts.schemas';

const tag = 'Sign in with providers';

/** The redirect answers carry one-time secrets: never cached, never leaked in a Referer. */
const redirect = (location: string) => ({
  status: 302,
  headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
});

/** API.md v1.1 "Sign in with Kakao, Naver, Google (and any OpenID Connect provider)". */
export function oauthRoutes(
  oauth: OAuthService,
  limits: { start: RequestHandler; exchange: RequestHandler },
): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/auth/oauth/providers',
      operationId: 'listOAuthProviders',
      tag,
      summary: 'The configured sign-in providers',
      responses: { 200: { description: 'Providers', schema: s.itemsOf(s.providerSchema) } },
      handler: async () => ({ status: 200, body: oauth.list() }),
    }),
    defineRoute({
      method: 'get',
      path: '/auth/oauth/:provider/start',
      operationId: 'startOAuth',
      tag,
      before: [limits.start],
      params: s.providerParams,
      query: s.startQuery,
      summary:
        'Begin signing in with the client’s codeChallenge (S256): 302 to the provider (authorization code, PKCE S256, state, nonce)',
      responses: {
        302: { description: 'To the provider; or to redirectUri#error=provider_unavailable' },
        400: { description: 'redirectUri is not on the allow-list, or codeChallenge is missing or malformed' },
        404: { description: 'Provider not configured' },
        429: { description: 'Too many starts from this IP' },
      },
      handler: async ({ params, query }) =>
        redirect(await oauth.start(params.provider, query.redirectUri, query.codeChallenge)),
    }),
    defineRoute({
      method: 'get',
      path: '/auth/oauth/:provider/callback',
      operationId: 'oauthCallback',
      tag,
      params: s.providerParams,
      query: s.callbackQuery,
      summary: 'The provider returns here; 302 to redirectUri#code=<one-time code> or #error=<code>',
      responses: {
        302: { description: 'redirectUri#code=… or redirectUri#error=…' },
        400: { description: 'Unknown, expired or used state: no redirect can be named' },
        404: { description: 'Provider not configured' },
      },
      handler: async ({ params, req }) => {
        const raw = req.originalUrl.indexOf('?');
        const search = new URLSearchParams(raw < 0 ? '' : req.originalUrl.slice(raw + 1));
        return redirect(await oauth.callback(params.provider, search));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/oauth/exchange',
      operationId: 'exchangeOAuthCode',
      tag,
      before: [limits.exchange],
      body: s.exchangeBody,
      summary: 'Turn the one-time code (single use, 60 s) and the client’s codeVerifier into Pawmate tokens',
      responses: {
        200: { description: 'Signed in', schema: s.oauthSessionSchema },
        400: { description: 'Code invalid, expired or already used; codeVerifier missing or malformed' },
        401: { description: 'codeVerifier does not match the codeChallenge of the flow (the code is spent)' },
        429: { description: 'Too many exchanges from this IP' },
      },
      handler: async ({ body, req }) => ({
        status: 200,
        body: await oauth.exchange(body.code, body.codeVerifier, req.get('user-agent') ?? null),
      }),
    }),
  ];
}
