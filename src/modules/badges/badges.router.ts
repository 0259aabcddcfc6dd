import Joi from 'joi';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { BadgesService } from './badges.service';

const badgeSchema = Joi.object({
  code: Joi.string().required().description('stable identifier, e.g. first-mission'),
  name: Joi.string().required(),
  description: Joi.string().required(),
  earnedAt: Joi.string().isoDate().required(),
});

/** API.md v1.1 "Badges": `GET /users/{id}/badges`, public like the profile it belongs to. */
export function badgesRoutes(badges: BadgesService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users/:id/badges',
      operationId: 'listUserBadges',
      tag: 'Users',
      params: idParams,
      summary:
        'The badges a user has earned, in the order earned (public; 404 for an unknown or deleted account). Rules: README "Badges"',
      responses: {
        200: { description: 'Earned badges', schema: Joi.object({ items: Joi.array().items(badgeSchema).required() }) },
      },
      handler: async ({ params }) => ({ status: 200, body: await badges.list(params.id) }),
    }),
  ];
}
