import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { GroupsService } from './groups.service';
import { MAX_MEMBERS, MAX_OWNED } from './groups.service';
import * as s from './groups.schemas';

export const tag = 'Groups';

/** API.md v1.1 "Groups": the groups and their members. Every route needs a login. */
export function groupsRoutes(groups: GroupsService, limits: { create: string }): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/groups',
      operationId: 'createGroup',
      tag,
      auth: true,
      body: s.createGroupBody,
      summary: `Create a group (name 1–40, description ≤ 500); I am its owner and the first member of its chat room (type group). At most ${MAX_OWNED} groups owned per person (409). Rate limit: ${limits.create}`,
      responses: { 201: { description: 'The group', schema: s.groupSchema } },
      handler: async ({ user, body }) => ({ status: 201, body: await groups.create(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups',
      operationId: 'listMyGroups',
      tag,
      auth: true,
      query: s.pageQuery,
      summary: 'My groups, the ones I joined last first',
      responses: { 200: { description: 'One page of groups', schema: s.listSchema(s.groupSchema) } },
      handler: async ({ user, query }) => ({ status: 200, body: await groups.list(user.id, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id',
      operationId: 'getGroup',
      tag,
      auth: true,
      params: idParams,
      summary: 'A group I am a member of (404 for everyone else)',
      responses: { 200: { description: 'The group', schema: s.groupSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await groups.get(user.id, params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/groups/:id',
      operationId: 'updateGroup',
      tag,
      auth: true,
      params: idParams,
      body: s.updateGroupBody,
      summary: 'Edit the name or description (owner and admins; other members 403)',
      responses: { 200: { description: 'The group', schema: s.groupSchema } },
      handler: async ({ user, params, body }) => ({ status: 200, body: await groups.update(user.id, params.id, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id',
      operationId: 'deleteGroup',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Delete the group (owner; others 403): its events, photos, comments, likes, missions, invites and voice messages go, its files leave storage after the commit, and its chat room loses every member and takes no new messages',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await groups.delete(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/members',
      operationId: 'listGroupMembers',
      tag,
      auth: true,
      params: idParams,
      summary: `The members (at most ${MAX_MEMBERS}), in join order, with their roles`,
      responses: { 200: { description: 'Every member', schema: s.fixedListSchema(s.memberSchema) } },
      handler: async ({ user, params }) => ({ status: 200, body: await groups.members(user.id, params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/groups/:id/members/:userId',
      operationId: 'updateGroupMember',
      tag,
      auth: true,
      params: s.memberParams,
      body: s.roleBody,
      summary: 'Make a member an admin or a plain member (owner only; the owner’s own role moves by hand-over, 409)',
      responses: { 200: { description: 'The member', schema: s.memberSchema } },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await groups.setRole(user.id, params.id, params.userId, body.role),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/members/:userId',
      operationId: 'removeGroupMember',
      tag,
      auth: true,
      params: s.memberParams,
      summary:
        'Remove a member (owner: anyone; admin: plain members; anyone: themself). The owner hands the group over first (409). The removed member leaves the chat room at once, on every server',
      responses: { 204: { description: 'Removed' } },
      handler: async ({ user, params }) => {
        await groups.removeMember(user.id, params.id, params.userId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/groups/:id/owner',
      operationId: 'transferGroupOwnership',
      tag,
      auth: true,
      params: idParams,
      body: s.ownerBody,
      summary: `Hand the group over to another member (owner only); I become an admin. 409 when that member already owns ${MAX_OWNED} groups`,
      responses: { 200: { description: 'The group as I see it now', schema: s.groupSchema } },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await groups.transferOwner(user.id, params.id, body.userId),
      }),
    }),
  ];
}
