import Joi from 'joi';
import {
  latitude as lat,
  longitude as lng,
  latLng as location,
  cursorQuery,
  idParam,
  limitQuery,
  listOf,
  pageQuery,
  photoRefSchema,
  text,
  userRefSchema,
} from '../../http/schemas';
import type { CreatePostInput, UpdatePostInput } from './community.posts';
import type { FeedQuery, NearbyQuery } from './community.feed';

export const POST_KINDS = ['general', 'question', 'walk_route', 'open_chat'] as const;
export type PostKind = (typeof POST_KINDS)[number];
export const SORTS = ['recent', 'popular'] as const;
export type FeedSort = (typeof SORTS)[number];

export const MAX_TAGS = 10;
export const MAX_PHOTOS = 10;
export const MAX_NEARBY_KM = 20;
export const MAX_QUERY_CHARS = 100;
/** Members of one open post chat room, the author included. */
export const MAX_ROOM_MEMBERS = 300;

/** Letters (any script), digits, single hyphens or underscores; lower-cased: a chip and an exact key. */
export const tag = Joi.string()
  .trim()
  .lowercase()
  .min(1)
  .max(20)
  .pattern(/^[\p{L}\p{N}]+([-_][\p{L}\p{N}]+)*$/u, { name: 'letters, digits, hyphens and underscores' });
const tags = Joi.array().items(tag).unique().max(MAX_TAGS);

export const createPostBody = Joi.object<CreatePostInput, true>({
  kind: Joi.string()
    .valid(...POST_KINDS)
    .required(),
  title: text(1, 100).required(),
  body: text(1, 10000).required(),
  tags: tags.default([]),
  location: location.allow(null).default(null),
  address: text(1, 200).allow(null).default(null),
});

export const updatePostBody = Joi.object<UpdatePostInput, true>({
  title: text(1, 100),
  body: text(1, 10000),
  tags,
  location: location.allow(null),
  address: text(1, 200).allow(null),
})
  .min(1)
  .description('kind cannot change (an open chat owns a room)');

export const feedQuery = Joi.object<FeedQuery, true>({
  kind: Joi.string().valid(...POST_KINDS),
  tag,
  authorId: idParam.optional(),
  q: Joi.string()
    .trim()
    .min(1)
    .max(MAX_QUERY_CHARS)
    .description('words of the title and body; each matches words that start with it (Korean and English)'),
  sort: Joi.string()
    .valid(...SORTS)
    .default('recent'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const nearbyQuery = Joi.object<NearbyQuery, true>({
  lat: lat.required(),
  lng: lng.required(),
  radiusKm: Joi.number().greater(0).max(MAX_NEARBY_KM).default(3),
  kind: Joi.string().valid(...POST_KINDS),
  tag,
  limit: limitQuery,
  cursor: cursorQuery,
});

export const commentBody = Joi.object<{ body: string; parentId?: number | null }, true>({
  body: text(1, 2000).required(),
  parentId: idParam.optional().allow(null),
});
export const editCommentBody = Joi.object<{ body: string }, true>({ body: text(1, 2000).required() });

export const listQuery = pageQuery;
export const photoParams = Joi.object<{ id: number; photoId: number }, true>({ id: idParam, photoId: idParam });

// --- responses (OpenAPI) -------------------------------------------------------------------------

export const publicUser = userRefSchema;
export const photoSchema = photoRefSchema;

export const postSchema = Joi.object({
  id: Joi.number().integer().required(),
  author: publicUser.required(),
  kind: Joi.string()
    .valid(...POST_KINDS)
    .required(),
  title: Joi.string().required(),
  body: Joi.string().required(),
  tags: Joi.array().items(Joi.string()).required(),
  photos: Joi.array().items(photoSchema).required(),
  location: Joi.object({ lat: Joi.number().required(), lng: Joi.number().required() }).allow(null).required(),
  address: Joi.string().allow(null).required(),
  likeCount: Joi.number().integer().required(),
  commentCount: Joi.number().integer().description('live comments and replies').required(),
  likedByMe: Joi.boolean().required(),
  chatRoomId: Joi.number().integer().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
  editedAt: Joi.string().isoDate().allow(null).required(),
});
export const nearbyItemSchema = postSchema.keys({ distanceKm: Joi.number().required() });

export const commentSchema = Joi.object({
  id: Joi.number().integer().required(),
  postId: Joi.number().integer().required(),
  parentId: Joi.number().integer().allow(null).required(),
  author: publicUser.allow(null).description('null once deleted').required(),
  body: Joi.string().allow('').description('empty once deleted').required(),
  likeCount: Joi.number().integer().required(),
  likedByMe: Joi.boolean().required(),
  replyCount: Joi.number().integer().required(),
  deleted: Joi.boolean().required(),
  createdAt: Joi.string().isoDate().required(),
  editedAt: Joi.string().isoDate().allow(null).required(),
});

export const likeSchema = Joi.object({
  likeCount: Joi.number().integer().required(),
  likedByMe: Joi.boolean().required(),
});

export const postListSchema = listOf(postSchema);
export const nearbyListSchema = listOf(nearbyItemSchema);
export const commentListSchema = listOf(commentSchema);
