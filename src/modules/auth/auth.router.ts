import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import type { AuthService } from './auth.service';
import * as s from './auth.schemas';

const tag = 'Auth';

/** API.md "Auth". `limit` is the general per-IP limit shared by every auth route. */
export function authRoutes(auth: AuthService, limit: RequestHandler): RouteSpec[] {
  const before = [limit];
  return [
    defineRoute({
      method: 'post',
      path: '/auth/signup',
      operationId: 'signup',
      tag,
      before,
      body: s.signupBody,
      summary: 'Create an account; sends a verification e-mail',
      responses: {
        409: { description: 'The e-mail is taken' },
        201: { description: 'Signed up and logged in', schema: s.sessionSchema },
      },
      handler: async ({ body, req }) => ({ status: 201, body: await auth.signup(body, req.get('user-agent') ?? null) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      tag,
      before,
      body: s.loginBody,
      summary: 'Log in; 429 after repeated failures per IP or per account',
      responses: {
        401: { description: 'Wrong e-mail or password (one answer for both)' },
        200: { description: 'Logged in', schema: s.sessionSchema },
      },
      handler: async ({ body, req }) => ({
        status: 200,
        body: await auth.login(body, req.ip ?? 'unknown', req.get('user-agent') ?? null),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refreshTokens',
      tag,
      before,
      body: s.refreshBody,
      summary: 'Rotate the refresh token; a spent one revokes the whole login (10 s grace for the one spent last)',
      responses: {
        401: { description: 'Unknown, expired or spent refresh token (a spent one revokes the login)' },
        200: { description: 'New token pair', schema: s.tokenPairSchema },
      },
      handler: async ({ body }) => ({ status: 200, body: await auth.refresh(body.refreshToken) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      tag,
      auth: true,
      before,
      body: s.logoutBody,
      summary: 'End this login: the access token and its refresh tokens stop working at once',
      responses: { 204: { description: 'Logged out' } },
      handler: async ({ body, user }) => {
        await auth.logout(user, body.refreshToken);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/verify-email',
      operationId: 'verifyEmail',
      tag,
      before,
      body: s.tokenBody,
      summary: 'Confirm the e-mail address with the token from the mail',
      responses: { 204: { description: 'Verified' } },
      handler: async ({ body }) => {
        await auth.verifyEmail(body.token);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/verify-email/resend',
      operationId: 'resendVerificationEmail',
      tag,
      auth: true,
      before,
      summary: 'Send the verification e-mail again (nothing is sent when already verified)',
      responses: { 202: { description: 'Accepted' } },
      handler: async ({ user }) => {
        await auth.resendVerification(user.id);
        return { status: 202 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/password/forgot',
      operationId: 'forgotPassword',
      tag,
      before,
      body: s.forgotBody,
      summary: 'Mail a reset link when the account exists (at most 3 an hour); 202 at once either way',
      responses: { 202: { description: 'Accepted' } },
      handler: async ({ body }) => {
        auth.forgotPassword(body.email); // the work happens after the answer
        return { status: 202 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/password/reset',
      operationId: 'resetPassword',
      tag,
      before,
      body: s.resetBody,
      summary: 'Set a new password with the token from the mail; every login is revoked',
      responses: { 204: { description: 'Password changed' } },
      handler: async ({ body }) => {
        await auth.resetPassword(body.token, body.password);
        return { status: 204 };
      },
    }),
  ];
}
