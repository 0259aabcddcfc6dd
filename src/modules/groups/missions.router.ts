import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { MissionsService } from './missions.service';
import * as s from './groups.schemas';
import { tag } from './groups.router';

/** API.md v1.1 "Groups": missions. */
export function missionRoutes(missions: MissionsService): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/groups/:id/missions',
      operationId: 'createMission',
      tag,
      auth: true,
      params: idParams,
      body: s.missionBody,
      summary: `Create a mission (any member; title 1–100, dueDate YYYY-MM-DD, ≤ ${s.MAX_ASSIGNEES} assigneeIds who must be members, none = everyone)`,
      responses: { 201: { description: 'The mission', schema: s.missionSchema } },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await missions.create(user.id, params.id, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/missions',
      operationId: 'listMissions',
      tag,
      auth: true,
      params: idParams,
      query: s.missionListQuery,
      summary: 'The missions, newest first; status=open|done filters',
      responses: { 200: { description: 'One page of missions', schema: s.listSchema(s.missionSchema) } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await missions.list(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/groups/:id/missions/:missionId/complete',
      operationId: 'completeMission',
      tag,
      auth: true,
      params: s.missionParams,
      summary:
        'Complete my part (an assignee, or any member when it is for everyone): once (409 the second time; 403 for a member who is not an assignee). The completion that finishes it makes it done and notifies the other members (group.mission_done), once',
      responses: { 200: { description: 'The mission', schema: s.missionSchema } },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await missions.complete(user.id, params.id, params.missionId),
      }),
    }),
  ];
}
