import type { CommentRow, FeedRow, PhotoRow, ShownPostRow } from './community.repository';
import type { PostKind } from './community.schemas';
import { userRef, type PhotoRef, type UserRef } from '../../http/refs';

export type Author = UserRef;
export type Photo = PhotoRef;

export interface Post {
  id: number;
  author: Author;
  kind: PostKind;
  title: string;
  body: string;
  tags: string[];
  photos: Photo[];
  location: { lat: number; lng: number } | null;
  address: string | null;
  likeCount: number;
  commentCount: number;
  likedByMe: boolean;
  chatRoomId: number | null;
  createdAt: string;
  editedAt: string | null;
}

export interface Comment {
  id: number;
  postId: number;
  parentId: number | null;
  author: Author | null;
  body: string;
  likeCount: number;
  likedByMe: boolean;
  replyCount: number;
  deleted: boolean;
  createdAt: string;
  editedAt: string | null;
}

const iso = (d: Date | string) => new Date(d).toISOString();

const authorOf = userRef;

export function tagsOf(row: { tagsJson: string }): string[] {
  try {
    const v = JSON.parse(row.tagsJson);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

export function toPost(row: ShownPostRow, photos: PhotoRow[], likedByMe: boolean): Post {
  return {
    id: row.id,
    author: authorOf(row.authorId, row.authorNickname, row.authorAvatarUrl, row.authorDeletedAt),
    kind: row.kind,
    title: row.title,
    body: row.body,
    tags: tagsOf(row),
    photos: photos.map((p) => ({ id: p.id, url: p.url, thumbnailUrl: p.thumbnailUrl })),
    location: row.lat === null || row.lng === null ? null : { lat: Number(row.lat), lng: Number(row.lng) },
    address: row.address,
    likeCount: Number(row.likeCount),
    commentCount: Number(row.commentCount),
    likedByMe,
    chatRoomId: row.chatRoomId === null ? null : Number(row.chatRoomId),
    createdAt: iso(row.createdAt),
    editedAt: row.editedAt ? iso(row.editedAt) : null,
  };
}

/** The photos a feed row carries (`photosText`: records joined by RS, fields by US), in id order. */
export function photosOfRow(r: Pick<FeedRow, 'id' | 'photosText'>): PhotoRow[] {
  if (!r.photosText) return [];
  return r.photosText
    .split('\x1e')
    .map((record) => {
      const [id, url, thumbnailUrl] = record.split('\x1f');
      return { id: Number(id), postId: r.id, url, thumbnailUrl };
    })
    .sort((a, b) => a.id - b.id);
}

/** The app's rule for image fields, as JsonText's writer gets it: the JSON replacer (src/http/routes.ts). */
export type ImageRule = (key: string, value: unknown) => unknown;

const json = (v: unknown) => JSON.stringify(v) ?? 'null';
const num = (v: unknown) => JSON.stringify(Number(v));

/**
 * A feed page as JSON text, written straight from its rows: the same text as
 * `JSON.stringify({ items: rows.map(toPost), nextCursor }, replacer)` (community.presenter.test.ts
 * holds the two together), without building the objects or calling the replacer for every key — on
 * the path of every board view that was most of what the app itself spent on a page (docs/BENCHMARKS.md).
 */
export function feedPageJson(page: { items: FeedRow[]; nextCursor: string | null }, imageUrl: ImageRule): string {
  let out = '{"items":[';
  for (let i = 0; i < page.items.length; i++) out += (i ? ',' : '') + feedItemJson(page.items[i], imageUrl);
  return `${out}],"nextCursor":${json(page.nextCursor)}}`;
}

function feedItemJson(r: FeedRow, imageUrl: ImageRule): string {
  const a = authorOf(r.authorId, r.authorNickname, r.authorAvatarUrl, r.authorDeletedAt);
  let photos = '';
  for (const p of photosOfRow(r))
    photos +=
      (photos ? ',' : '') +
      `{"id":${num(p.id)},"url":${json(imageUrl('url', p.url))},"thumbnailUrl":${json(imageUrl('thumbnailUrl', p.thumbnailUrl))}}`;
  const location = r.lat === null || r.lng === null ? 'null' : `{"lat":${num(r.lat)},"lng":${num(r.lng)}}`;
  return (
    `{"id":${num(r.id)},"author":{"id":${num(a.id)},"nickname":${json(a.nickname)},"avatarUrl":${json(imageUrl('avatarUrl', a.avatarUrl))}}` +
    `,"kind":${json(r.kind)},"title":${json(r.title)},"body":${json(r.body)},"tags":${json(tagsOf(r))}` +
    `,"photos":[${photos}],"location":${location},"address":${json(r.address)}` +
    `,"likeCount":${num(r.likeCount)},"commentCount":${num(r.commentCount)},"likedByMe":${Boolean(Number(r.likedByMe))}` +
    `,"chatRoomId":${r.chatRoomId === null ? 'null' : num(r.chatRoomId)},"createdAt":${json(iso(r.createdAt))}` +
    `,"editedAt":${r.editedAt ? json(iso(r.editedAt)) : 'null'}}`
  );
}

/** A deleted comment that is still shown (it has replies) is a tombstone: no author, no body. */
export function toComment(row: CommentRow, likedByMe: boolean): Comment {
  const deleted = row.deletedAt !== null;
  return {
    id: row.id,
    postId: Number(row.postId),
    parentId: row.parentId === null ? null : Number(row.parentId),
    author: deleted ? null : authorOf(row.authorId, row.authorNickname, row.authorAvatarUrl, row.authorDeletedAt),
    body: deleted ? '' : row.body,
    likeCount: Number(row.likeCount),
    likedByMe: deleted ? false : likedByMe,
    replyCount: Number(row.replyCount),
    deleted,
    createdAt: iso(row.createdAt),
    editedAt: !deleted && row.editedAt ? iso(row.editedAt) : null,
  };
}
