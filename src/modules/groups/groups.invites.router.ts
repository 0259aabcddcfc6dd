import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { InvitesService } from './groups.invites';
import * as s from './groups.schemas';
import { tag } from './groups.router';

/** API.md v1.1 "Groups": invites by e-mail. */
export function inviteRoutes(invites: InvitesService, limits: { perUser: string; perGroup: string }): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/groups/:id/invites',
      operationId: 'inviteToGroup',
      tag,
      auth: true,
      params: idParams,
      body: s.inviteBody,
      summary: `Invite an e-mail address (owner and admins; members 403). The invitee gets invite.new live and by e-mail; an address without a verified account gets a sign-up link and the invite waits until that address signs up and verifies. Expires after 7 days. 409 for a member's address, an address with a pending invite to this group, a full group, or a block between us. Rate limits: ${limits.perUser}, ${limits.perGroup}`,
      responses: { 201: { description: 'The invite', schema: s.inviteSchema } },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await invites.create(user.id, params.id, body.email),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/invites',
      operationId: 'listMyInvites',
      tag,
      auth: true,
      query: s.pageQuery,
      summary: 'My pending invites (unexpired), newest first',
      responses: { 200: { description: 'One page of invites', schema: s.listSchema(s.inviteSchema) } },
      handler: async ({ user, query }) => ({ status: 200, body: await invites.listMine(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/invites/:id/accept',
      operationId: 'acceptInvite',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Accept an invite of mine: I join the group and its chat room; the other members get group.joined. 409 when it is no longer pending (answered or expired), the group is full (50), or a block stands between the inviter and me',
      responses: { 200: { description: 'The invite, accepted', schema: s.inviteSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await invites.accept(user.id, params.id) }),
    }),
    defineRoute({
      method: 'post',
      path: '/invites/:id/decline',
      operationId: 'declineInvite',
      tag,
      auth: true,
      params: idParams,
      summary: 'Decline an invite of mine (409 when it is no longer pending)',
      responses: { 200: { description: 'The invite, declined', schema: s.inviteSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await invites.decline(user.id, params.id) }),
    }),
  ];
}
