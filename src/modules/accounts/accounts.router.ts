import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { AccountsService } from './accounts.service';
import * as s from './accounts.schemas';

const tag = 'Accounts';

/** API.md v1.1 "Sessions and credentials" and the identities list. */
export function accountsRoutes(
  accounts: AccountsService,
  authLimit: RequestHandler,
  perUser: { password: RequestHandler; email: RequestHandler },
): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users/me/sessions',
      operationId: 'listMySessions',
      tag,
      auth: true,
      summary: 'My open logins (at most 100, most recently used first)',
      responses: { 200: { description: 'Logins', schema: s.itemsOf(s.sessionSchema) } },
      handler: async ({ user }) => ({ status: 200, body: await accounts.listSessions(user) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/users/me/sessions/:id',
      operationId: 'endMySession',
      tag,
      auth: true,
      params: idParams,
      summary: 'End one of my logins at once: its tokens, sockets and event streams, on every instance',
      responses: { 204: { description: 'Ended' }, 404: { description: 'Not one of my open logins' } },
      handler: async ({ user, params }) => {
        await accounts.endSession(user, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/me/password',
      operationId: 'changeMyPassword',
      tag,
      auth: true,
      before: [perUser.password],
      body: s.changePasswordBody,
      summary: 'Set or change my password (currentPassword required when one is set); my other logins end',
      responses: {
        204: { description: 'Changed' },
        401: { description: 'currentPassword is wrong' },
        429: { description: 'Too many wrong current passwords, or too many changes by this account this hour' },
      },
      handler: async ({ user, body }) => {
        await accounts.changePassword(user, body);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/me/email',
      operationId: 'changeMyEmail',
      tag,
      auth: true,
      before: [perUser.email],
      body: s.changeEmailBody,
      summary: 'Change my e-mail: a single-use link (24 h) goes to the new address; nothing changes before it is used',
      responses: {
        202: { description: 'Confirmation link sent' },
        401: { description: 'password is wrong' },
        409: { description: 'Another account uses this e-mail' },
        429: { description: 'Too many requests by this account this hour, or too many mails to this address today' },
      },
      handler: async ({ user, body }) => {
        await accounts.requestEmailChange(user, body);
        return { status: 202 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/email/confirm',
      operationId: 'confirmEmailChange',
      tag,
      before: [authLimit],
      body: s.tokenBody,
      summary: 'Confirm a new e-mail with the token from the link; the old address is told',
      responses: {
        204: { description: 'The new address is the verified e-mail' },
        409: { description: 'Taken meanwhile' },
      },
      handler: async ({ body }) => {
        await accounts.confirmEmailChange(body.token);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/me/identities',
      operationId: 'listMyIdentities',
      tag,
      auth: true,
      summary: 'Provider accounts linked to mine',
      responses: { 200: { description: 'Identities', schema: s.itemsOf(s.identitySchema) } },
      handler: async ({ user }) => ({ status: 200, body: await accounts.listIdentities(user.id) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/users/me/identities/:provider',
      operationId: 'unlinkMyIdentity',
      tag,
      auth: true,
      params: s.providerParams,
      summary: 'Unlink a provider; 409 when it is the last way to sign in',
      responses: {
        204: { description: 'Unlinked' },
        404: { description: 'No identity of that provider' },
        409: { description: 'The last way to sign in' },
      },
      handler: async ({ user, params }) => {
        await accounts.unlinkIdentity(user.id, params.provider);
        return { status: 204 };
      },
    }),
  ];
}
