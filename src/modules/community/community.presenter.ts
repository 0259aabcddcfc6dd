import type { CommentRow, PhotoRow, PostRow } from './community.repository';
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

export function toPost(row: PostRow, photos: PhotoRow[], likedByMe: boolean): Post {
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
