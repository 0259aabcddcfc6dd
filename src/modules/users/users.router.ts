import type { RequestHandler } from 'express';
import type { AuthUser } from '../../http/auth';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams, publicUserSchema, selfUserSchema } from '../../http/schemas';
import type { UsersService } from './users.service';
import { updateMeBody } from './users.schemas';

const tag = 'Users';

/** API.md "Users and pets" (the user part; the avatar route comes with uploads). */
export function usersRoutes(users: UsersService, identify: RequestHandler): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users/me',
      operationId: 'getMe',
      tag,
      auth: true,
      // The login is checked in the query that reads the row (users.repository.ts, SelfReads).
      revocation: 'in-query',
      summary: 'My account',
      responses: { 200: { description: 'Me', schema: selfUserSchema } },
      handler: async ({ user }) => ({ status: 200, body: await users.getSelfOfLogin(user) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/me',
      operationId: 'updateMe',
      tag,
      auth: true,
      body: updateMeBody,
      summary: 'Change my nickname or bio',
      responses: { 200: { description: 'Updated', schema: selfUserSchema } },
      handler: async ({ user, body }) => ({ status: 200, body: await users.updateSelf(user.id, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/users/me',
      operationId: 'deleteMe',
      tag,
      auth: true,
      summary: 'Delete my account; every login is revoked',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user }) => {
        await users.deleteSelf(user.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      operationId: 'getUser',
      tag,
      params: idParams,
      summary: 'Public profile',
      // A signed-in caller is identified (when a token is sent) so that their own recent changes are
      // read from the primary, not a replica that may lag.
      before: [identify],
      responses: { 200: { description: 'Profile', schema: publicUserSchema } },
      handler: async ({ params, res }) => ({
        status: 200,
        body: await users.getPublic(params.id, (res.locals.user as AuthUser | undefined)?.id ?? null),
      }),
    }),
  ];
}
