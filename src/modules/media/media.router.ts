import type { RequestHandler } from 'express';
import Joi from 'joi';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { uploadedFile } from '../../http/upload';
import type { MediaService } from './media.service';

const tag = 'Users';

/** API.md "Users and pets": `PUT /users/me/avatar`. */
export function mediaRoutes(media: MediaService, upload: RequestHandler[]): RouteSpec[] {
  return [
    defineRoute({
      method: 'put',
      path: '/users/me/avatar',
      operationId: 'setMyAvatar',
      tag,
      auth: true,
      upload: { field: 'image' },
      before: upload,
      summary:
        'Set my avatar: JPEG, PNG, WebP, GIF or AVIF up to 10 MB, stored as a 160×160 WebP (415 for other formats)',
      responses: { 200: { description: 'The new avatar', schema: Joi.object({ avatarUrl: Joi.string().required() }) } },
      handler: async ({ user, req }) => ({ status: 200, body: await media.setAvatar(user.id, uploadedFile(req)) }),
    }),
  ];
}
