import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import { uploadedFile } from '../../http/upload';
import type { GalleryService } from './gallery.service';
import * as s from './groups.schemas';
import { tag } from './groups.router';

export interface GalleryRouteDeps {
  gallery: GalleryService;
  /** Membership (404), then the one image upload policy. */
  upload: RequestHandler[];
  limits: { comments: string; likes: string };
}

/** API.md v1.1 "Groups": the gallery, its likes and comments. */
export function galleryRoutes({ gallery, upload, limits }: GalleryRouteDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/groups/:id/photos',
      operationId: 'addGroupPhoto',
      tag,
      auth: true,
      params: idParams,
      body: s.photoBody,
      upload: { field: 'image' },
      before: upload,
      summary:
        'Add a photo (any member): multipart field image (≤ 10 MB; JPEG, PNG, WebP, GIF, AVIF, HEIC by its bytes, else 415) and caption? (≤ 300). Stored as a 1600 px WebP and a 320 px thumbnail, metadata (EXIF, GPS) removed. Non-members 404 before the upload is read',
      responses: { 201: { description: 'The photo', schema: s.photoSchema } },
      handler: async ({ user, params, body, req }) => ({
        status: 201,
        body: await gallery.add(user.id, params.id, uploadedFile(req), body.caption),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/photos',
      operationId: 'listGroupPhotos',
      tag,
      auth: true,
      params: idParams,
      query: s.pageQuery,
      summary: 'The gallery, newest first, each photo with likeCount, commentCount and likedByMe',
      responses: { 200: { description: 'One page of photos', schema: s.listSchema(s.photoSchema) } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await gallery.list(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/photos/:photoId',
      operationId: 'deleteGroupPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      summary:
        'Delete a photo (its author, the owner and admins; other members 403); its files leave storage after the commit',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await gallery.delete(user.id, params.id, params.photoId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/groups/:id/photos/:photoId/like',
      operationId: 'likeGroupPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      summary: `Like a photo (idempotent). Rate limit: ${limits.likes}`,
      responses: { 200: { description: 'The count and my like', schema: s.likeSchema } },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await gallery.like(user.id, params.id, params.photoId, true),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/photos/:photoId/like',
      operationId: 'unlikeGroupPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      summary: `Unlike a photo (idempotent). Rate limit: ${limits.likes}`,
      responses: { 200: { description: 'The count and my like', schema: s.likeSchema } },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await gallery.like(user.id, params.id, params.photoId, false),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/groups/:id/photos/:photoId/comments',
      operationId: 'commentGroupPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      body: s.photoCommentBody,
      summary: `Comment on a photo (body 1–2000); notifies the photo's author (group.photo_comment), never oneself. Rate limit: ${limits.comments}`,
      responses: { 201: { description: 'The comment', schema: s.photoCommentSchema } },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await gallery.comment(user.id, params.id, params.photoId, body.body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/photos/:photoId/comments',
      operationId: 'listGroupPhotoComments',
      tag,
      auth: true,
      params: s.photoParams,
      query: s.pageQuery,
      summary: 'Comments on a photo, oldest first',
      responses: { 200: { description: 'One page of comments', schema: s.listSchema(s.photoCommentSchema) } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await gallery.comments(user.id, params.id, params.photoId, query),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/photos/:photoId/comments/:commentId',
      operationId: 'deleteGroupPhotoComment',
      tag,
      auth: true,
      params: s.photoCommentParams,
      summary: "Delete a comment (its author, the photo's author, the owner and admins; other members 403)",
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await gallery.deleteComment(user.id, params.id, params.photoId, params.commentId);
        return { status: 204 };
      },
    }),
  ];
}
