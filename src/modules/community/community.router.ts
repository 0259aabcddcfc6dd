import type { RequestHandler } from 'express';
import { defineRoute, JsonText, type RouteSpec } from '../../http/routes';
import { uploadedFile } from '../../http/upload';
import { idParams } from '../../http/schemas';
import type { PostsService } from './community.posts';
import type { CommentsService } from './community.comments';
import type { LikesService } from './community.likes';
import type { FeedService } from './community.feed';
import * as s from './community.schemas';
import { feedPageJson } from './community.presenter';
import { roomSchema as chatRoomSchema } from '../chat/chat.schemas';

const tag = 'Community';

export interface CommunityRouteDeps {
  posts: PostsService;
  comments: CommentsService;
  likes: LikesService;
  feed: FeedService;
  upload: RequestHandler[];
  limits: { posts: string; comments: string; likes: string };
}

/**
 * API.md v1.1 "Community". `/posts/nearby` comes before `/posts/:id`, whose id validation would
 * otherwise answer it with a 400. Every route needs a login.
 */
export function communityRoutes(c: CommunityRouteDeps): RouteSpec[] {
  const { posts, comments, likes, feed } = c;
  return [
    defineRoute({
      method: 'get',
      path: '/posts',
      operationId: 'listPosts',
      tag,
      auth: true,
      // The login is checked in the page's statement (FeedService.page).
      revocation: 'in-query',
      query: s.feedQuery,
      summary:
        'The board: sort=recent (newest first, default) or popular (likes and comments of the last 7 days, then newest); filters kind, tag, authorId, q (each word matches words that start with it, Korean and English, all words required). Deleted, report-hidden and blocked authors’ posts never appear',
      responses: { 200: { description: 'One page of posts', schema: s.postListSchema } },
      handler: async ({ user, query }) => {
        const page = await feed.page(user, query);
        return { status: 200, body: new JsonText((imageUrl) => feedPageJson(page, imageUrl)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/posts/nearby',
      operationId: 'searchPostsNearby',
      tag,
      auth: true,
      query: s.nearbyQuery,
      summary: `Posts with a location within radiusKm (≤ ${s.MAX_NEARBY_KM}, default 3), nearest first (ties by id), with distanceKm; exact like sitter search`,
      responses: { 200: { description: 'One page of posts with distanceKm', schema: s.nearbyListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await feed.nearby(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/posts',
      operationId: 'createPost',
      tag,
      auth: true,
      body: s.createPostBody,
      summary: `Write a post (title 1–100, body 1–10000, ≤ ${s.MAX_TAGS} tags of 1–20 chars; HTML is stored as text). An open_chat post gets a chat room of type post with me as its first member. Rate limit: ${c.limits.posts}`,
      responses: { 429: { description: '20 posts per hour' }, 201: { description: 'The post', schema: s.postSchema } },
      handler: async ({ user, body }) => ({ status: 201, body: await posts.create(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/posts/:id',
      operationId: 'getPost',
      tag,
      auth: true,
      params: idParams,
      summary: 'A post (404 once deleted, and between users on either side of a block)',
      responses: { 200: { description: 'The post', schema: s.postSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await posts.get(user.id, params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/posts/:id',
      operationId: 'updatePost',
      tag,
      auth: true,
      params: idParams,
      body: s.updatePostBody,
      summary: 'Edit my post (author; others 403); editedAt is set',
      responses: {
        403: { description: 'Only the author edits' },
        200: { description: 'The post', schema: s.postSchema },
      },
      handler: async ({ user, params, body }) => ({ status: 200, body: await posts.update(user.id, params.id, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/posts/:id',
      operationId: 'deletePost',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Delete my post (author; others 403): it answers 404 from now on and leaves every list; its photos leave storage; its chat room takes no new messages',
      responses: { 403: { description: 'Only the author deletes' }, 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await posts.delete(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/posts/:id/photos',
      operationId: 'addPostPhoto',
      tag,
      auth: true,
      params: idParams,
      upload: { field: 'image' },
      before: c.upload,
      summary: `Add a photo to my post (multipart field image, ≤ 10 MB, ≤ ${s.MAX_PHOTOS} per post, else 409): a 1600 px WebP and a 320 px thumbnail`,
      responses: {
        403: { description: 'Only the author adds photos' },
        409: { description: 'Already 10 photos' },
        201: { description: 'Stored', schema: s.photoSchema },
      },
      handler: async ({ user, params, req }) => ({
        status: 201,
        body: await posts.addPhoto(user.id, params.id, uploadedFile(req)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/posts/:id/photos/:photoId',
      operationId: 'deletePostPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      summary: 'Delete a photo of my post (its files leave storage after the commit)',
      responses: { 403: { description: 'Only the author deletes photos' }, 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await posts.deletePhoto(user.id, params.id, params.photoId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/posts/:id/like',
      operationId: 'likePost',
      tag,
      auth: true,
      params: idParams,
      summary: `Like a post (idempotent). Rate limit: ${c.limits.likes}`,
      responses: {
        429: { description: '300 likes or unlikes per minute' },
        200: { description: 'The count and my like', schema: s.likeSchema },
      },
      handler: async ({ user, params }) => ({ status: 200, body: await likes.likePost(user.id, params.id, true) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/posts/:id/like',
      operationId: 'unlikePost',
      tag,
      auth: true,
      params: idParams,
      summary: `Unlike a post (idempotent). Rate limit: ${c.limits.likes}`,
      responses: {
        429: { description: '300 likes or unlikes per minute' },
        200: { description: 'The count and my like', schema: s.likeSchema },
      },
      handler: async ({ user, params }) => ({ status: 200, body: await likes.likePost(user.id, params.id, false) }),
    }),
    defineRoute({
      method: 'post',
      path: '/posts/:id/comments',
      operationId: 'createComment',
      tag,
      auth: true,
      params: idParams,
      body: s.commentBody,
      summary: `Comment (body 1–2000) or reply (parentId of a top-level comment; a reply to a reply is 400, to a deleted comment 409). Notifies the post’s author (comment.new) and the parent’s author (comment.reply), never oneself. Rate limit: ${c.limits.comments}`,
      responses: {
        409: { description: 'Replying to a deleted comment' },
        429: { description: '60 comments per 10 minutes' },
        201: { description: 'The comment', schema: s.commentSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await comments.create(user.id, params.id, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/posts/:id/comments',
      operationId: 'listComments',
      tag,
      auth: true,
      params: idParams,
      query: s.listQuery,
      summary:
        'Top-level comments, oldest first; a deleted one with replies is a tombstone (deleted, empty body, no author)',
      responses: { 200: { description: 'One page of comments', schema: s.commentListSchema } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await comments.listTopLevel(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/comments/:id/replies',
      operationId: 'listReplies',
      tag,
      auth: true,
      params: idParams,
      query: s.listQuery,
      summary: 'Replies of a comment, oldest first',
      responses: { 200: { description: 'One page of replies', schema: s.commentListSchema } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await comments.listReplies(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/comments/:id',
      operationId: 'updateComment',
      tag,
      auth: true,
      params: idParams,
      body: s.editCommentBody,
      summary: 'Edit my comment (its author; others 403)',
      responses: {
        403: { description: 'Only the author edits' },
        200: { description: 'The comment', schema: s.commentSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await comments.edit(user.id, params.id, body.body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/comments/:id',
      operationId: 'deleteComment',
      tag,
      auth: true,
      params: idParams,
      summary: 'Delete a comment (its author, or the post’s author); with replies it stays as a tombstone',
      responses: {
        403: { description: 'Only the author or the post’s author deletes' },
        204: { description: 'Deleted' },
      },
      handler: async ({ user, params }) => {
        await comments.delete(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/comments/:id/like',
      operationId: 'likeComment',
      tag,
      auth: true,
      params: idParams,
      summary: `Like a comment (idempotent). Rate limit: ${c.limits.likes}`,
      responses: {
        429: { description: '300 likes or unlikes per minute' },
        200: { description: 'The count and my like', schema: s.likeSchema },
      },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await likes.likeComment(user.id, params.id, true, comments),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/comments/:id/like',
      operationId: 'unlikeComment',
      tag,
      auth: true,
      params: idParams,
      summary: `Unlike a comment (idempotent). Rate limit: ${c.limits.likes}`,
      responses: {
        429: { description: '300 likes or unlikes per minute' },
        200: { description: 'The count and my like', schema: s.likeSchema },
      },
      handler: async ({ user, params }) => ({
        status: 200,
        body: await likes.likeComment(user.id, params.id, false, comments),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/posts/:id/chat/members',
      operationId: 'joinPostChat',
      tag,
      auth: true,
      params: idParams,
      summary: `Join the open chat of an open_chat post (idempotent; ≤ ${s.MAX_ROOM_MEMBERS} members, then 409) → the room`,
      responses: {
        409: { description: 'The open chat is full (300)' },
        200: { description: 'The chat room', schema: chatRoomSchema },
      },
      handler: async ({ user, params }) => ({ status: 200, body: await posts.joinChat(user.id, params.id) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/posts/:id/chat/members/me',
      operationId: 'leavePostChat',
      tag,
      auth: true,
      params: idParams,
      summary: 'Leave the open chat of a post (404 when not a member; the author cannot leave, 409)',
      responses: { 409: { description: 'The author cannot leave' }, 204: { description: 'Left' } },
      handler: async ({ user, params }) => {
        await posts.leaveChat(user.id, params.id);
        return { status: 204 };
      },
    }),
  ];
}
