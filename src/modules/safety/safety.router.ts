import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { SafetyService } from './safety.service';
import { MAX_BLOCKS } from './safety.service';
import * as s from './safety.schemas';

const tag = 'Safety';

/** API.md "Safety: block and report". */
export function safetyRoutes(
  safety: SafetyService,
  limits: { blocks: RequestHandler; reports: RequestHandler },
): RouteSpec[] {
  return [
    defineRoute({
      method: 'put',
      path: '/users/:id/block',
      operationId: 'blockUser',
      tag,
      auth: true,
      params: idParams,
      before: [limits.blocks],
      summary: `Block a user (idempotent; at most ${MAX_BLOCKS}, then 409). Works both ways: neither sees the other's posts, comments or meetups in lists and search, nor the other as a sitter; direct chat between them is 403; new reservations between them are 409`,
      responses: { 409: { description: 'Already 1000 blocks' }, 204: { description: 'Blocked' } },
      handler: async ({ user, params }) => {
        await safety.block(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/block',
      operationId: 'unblockUser',
      tag,
      auth: true,
      params: idParams,
      before: [limits.blocks],
      summary: 'Unblock a user (idempotent)',
      responses: { 204: { description: 'Unblocked' } },
      handler: async ({ user, params }) => {
        await safety.unblock(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/me/blocks',
      operationId: 'listMyBlocks',
      tag,
      auth: true,
      summary: 'The users I blocked, most recent first (a small fixed list: no cursor)',
      responses: { 200: { description: 'My blocks', schema: s.blockListSchema } },
      handler: async ({ user }) => ({ status: 200, body: await safety.listBlocks(user.id) }),
    }),
    defineRoute({
      method: 'post',
      path: '/reports',
      operationId: 'createReport',
      tag,
      auth: true,
      body: s.reportBody,
      before: [limits.reports],
      summary:
        'Report something I can see (202; one report per reporter and target, a repeat is 202 and counts once). Content reported by 5 different users leaves lists until an operator decides (npm run reports). 404 for a target I cannot see (a message: of a room I am not a member of); 400 for my own; 400 on body.targetType for a kind the server does not accept reports of yet',
      responses: {
        404: { description: 'A target I cannot see' },
        429: { description: '30 reports per hour' },
        202: { description: 'Accepted' },
      },
      handler: async ({ user, body }) => {
        await safety.report(user.id, body);
        return { status: 202 };
      },
    }),
  ];
}
